#pragma once
/// \file
/// `flatmin train` and `flatmin sweep`: CLI registration and thin runners (docs/training.md).
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace flatmin::experiments {

struct TrainCmdArgs {
  std::string config, profile = "quick", device = "cpu", out, data_dir;
  bool resume = false, no_progress = false, sync_bn = false;
  int64_t stop_after = 0;
  int world_size = 1, rank = 0, local_rank = -1;
  std::string dist_backend = "auto";
  std::string dist_store;
};

/// Adds the `train` subcommand to `app`, binding its flags to `args`.
CLI::App* add_train_subcommand(CLI::App& app, TrainCmdArgs& args);

/// Runs one training recipe; prints the result line; returns the exit code.
int run_train_cmd(const TrainCmdArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
