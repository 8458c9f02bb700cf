#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/simulations/simulate.h"

namespace flatmin::experiments {

/// `flatmin simulate <kind> --config C.json --out DIR`: runs one simulation kind
/// (trajectories | study | escape | regret; docs/simulations.md) and writes DIR/summary.json,
/// DIR/manifest.json and the kind's CSV tables. The config is validated in full before anything runs;
/// on any error nothing is written.
/// Writes every table of `out` into `dir` (each file atomically).
void write_tables(const std::filesystem::path& dir, const simulations::SimOutput& out);

int run_simulate(const std::string& kind, const std::filesystem::path& config, const std::filesystem::path& out,
                 const std::string& device, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
