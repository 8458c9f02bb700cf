#pragma once
/// \file
/// `flatmin sweep`: optimizers × seeds × label-noise rates → one `flatmin train` run each, run by N
/// local worker processes (or in-process), finished runs skipped, mean ± std tables (CSV + JSON), or a
/// SLURM job-array script instead of running. A run can itself be data parallel over R processes
/// (ranks_per_run; locally R child processes per run, under SLURM R tasks of one array element).
/// No LibTorch in this header.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::train {

struct SweepRun {
  std::string id;     ///< folder name: <label>_noise<p>_seed<s>
  std::string label;  ///< optimizer label (the table's row)
  double noise = 0;
  uint64_t seed = 0;
  std::filesystem::path dir;
  nlohmann::json config;  ///< the run's recipe (profile already merged), written to dir/run_config.json
};

struct SweepArgs {
  nlohmann::json config;                   ///< the sweep file's content
  std::filesystem::path config_dir;        ///< folder of the sweep file ("base" paths are relative to it)
  std::string profile = "quick";
  std::string device = "cpu";
  std::string data_dir;
  std::filesystem::path out;               ///< overrides the sweep's "out"
  int workers = 0;                         ///< 0 = run in this process, N >= 1 = N child processes
  std::filesystem::path exe;               ///< the flatmin executable for workers / the SLURM script
  int threads = 0;                         ///< total intra-op threads to share among workers (0 = all cores)
  int ranks_per_run = 1;                   ///< > 1: each run is data parallel over this many processes (c10d)
  bool sync_bn = false;                    ///< with ranks_per_run > 1: BatchNorm statistics over all ranks
  bool progress = true;
  std::vector<std::string> argv;
};

/// Expands the sweep into runs (validates the sweep keys and every run's recipe).
std::vector<SweepRun> expand_sweep(const SweepArgs& args);

/// Writes every run's run_config.json and returns a SLURM job-array script that runs them.
std::string slurm_script(const SweepArgs& args, const std::vector<SweepRun>& runs);

/// Runs the unfinished runs, then aggregates: writes out/aggregate.csv and out/aggregate.json and
/// returns the aggregate. InputError/runtime_error when a run failed (the others still finish).
nlohmann::json run_sweep(const SweepArgs& args);

/// mean ± sample std (n − 1) of best and final test accuracy per (label, noise), from finished runs.
nlohmann::json aggregate_runs(const std::vector<SweepRun>& runs);

}  // namespace flatmin::train
