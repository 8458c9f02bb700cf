#pragma once
/// \file
/// optim-replay: run one optimizer on float64 parameters from a JSON spec and record the
/// parameters after every step. The JSON contract is documented in docs/optim-replay.md.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::optim {

struct ReplayResult {
  std::vector<std::string> header;         ///< step,p0_0,p0_1,…,p1_0,…
  std::vector<std::vector<double>> rows;   ///< row 0: initial values; row t: after step t
  nlohmann::json resolved;                 ///< spec with the optimizer's resolved per-group options
};

/// Validates the spec (throws flatmin::common::InputError naming the problem) and runs it.
ReplayResult replay(const nlohmann::json& spec);

}  // namespace flatmin::optim
