#pragma once
/// \file
/// `flatmin sweep`: optimizers × seeds × noise rates (docs/training.md).
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace flatmin::experiments {

struct SweepCmdArgs {
  std::string config, profile = "quick", device = "cpu", out, data_dir;
  int workers = 1;
  int ranks_per_run = 1;
  bool sync_bn = false;
  bool print_slurm = false, no_progress = false;
};

CLI::App* add_sweep_subcommand(CLI::App& app, SweepCmdArgs& args);

/// `threads` is the global --threads (shared among the workers).
int run_sweep_cmd(const SweepCmdArgs& args, int threads, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
