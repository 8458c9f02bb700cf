#pragma once
/// \file
/// `flatmin hessian`: Hessian spectrum of a TorchScript model (--model/--data) or of a `flatmin train`
/// checkpoint (--checkpoint, --dataset, --subset) on a fixed dataset
/// (docs/hessian.md). Thin: parse → flatmin::hessian::analyze → write DIR/{summary.json, eigs.csv,
/// trace_samples.csv, slq_nodes.csv, esd.csv, manifest.json}. LibTorch-free header.
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace flatmin::experiments {

struct HessianArgs {
  std::string model, data, out;
  std::string loss = "cross_entropy", reduction = "mean";
  int top_k = 1;
  std::string which = "largest_alge";
  double eig_tol = 1e-6;
  int ncv = 0;
  bool trace = false, density = false;
  std::string trace_method = "hutchinson", probe = "rademacher";
  int trace_min = 10, trace_max = 500, trace_block = 1, hutchpp_budget = 99;
  double trace_rtol = 1e-2;
  int slq_steps = 100, slq_runs = 0, num_bins = 10000;
  std::string kernel = "pyhessian";
  double sigma_squared = 1e-5, sigma = 0.0;
  std::int64_t batch_size = 0;
  std::string compat, dtype, device = "cpu", param_filter, graph_cache = "auto";
  double weight_decay = 0.0;
  bool train_mode = false;
  std::uint64_t seed = 0;
  // --checkpoint path (a `flatmin train` run; instead of --model/--data)
  std::string checkpoint, dataset = "checkpoint", split = "train", data_dir;
  std::int64_t subset = 0, subset_seed = -1;
};

/// Registers the `hessian` subcommand on `app`, binding its options to `args`.
CLI::App* add_hessian_command(CLI::App& app, HessianArgs& args);

/// Runs it; InputError (exit 2, nothing written) on bad input.
int run_hessian(const HessianArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
