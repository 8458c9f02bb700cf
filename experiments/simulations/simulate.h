#pragma once
/// \file
/// The four simulation kinds behind `flatmin simulate <kind> --config C.json --out DIR` and the
/// reproduce targets (docs/simulations.md has every config key and output column):
///   trajectories — Fig. 2(b)–(d), (f)–(h): paths of each optimizer × lr from given start points;
///   study        — the 2,500-start study: Σ|eig ∇²f| at the end points, flat/sharp fractions;
///   escape       — discrete-time escape from the double well's sharp well, vs the exact quadrature;
///   regret       — R(T)/T on the online quadratic (Theorem 2).
/// run_simulation validates the whole config first (InputError naming the key) and returns every table
/// in memory, so a bad config writes nothing.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::simulations {

struct Table {
  std::string file;  ///< file name inside the output folder
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct SimOutput {
  nlohmann::json resolved;  ///< the config with every default filled in (for the manifest)
  nlohmann::json summary;   ///< summary.json
  std::vector<Table> tables;
};

/// Kinds accepted by run_simulation.
const std::vector<std::string>& simulation_kinds();

/// Runs `kind` with config `cfg` on `device` (progress on stderr). InputError on a bad config.
SimOutput run_simulation(const std::string& kind, const nlohmann::json& cfg, const std::string& device = "cpu");

}  // namespace flatmin::simulations
