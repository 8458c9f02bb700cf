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

#include "hessian/analyze.h"

namespace flatmin::experiments {

/// `flatmin hessian`'s options; the analysis options bind straight into `analysis`.
struct HessianArgs {
  std::string model, data, out;
  std::string loss = "cross_entropy", reduction = "mean";
  hessian::AnalyzeOptions analysis;  ///< --compat, --seed, --top-k … --num-bins
  std::int64_t batch_size = 0;
  std::string dtype, device = "cpu", param_filter, graph_cache = "auto";
  double weight_decay = 0.0;
  bool train_mode = false;
  // --checkpoint path (a `flatmin train` run; instead of --model/--data)
  std::string checkpoint, dataset = "checkpoint", split = "train", data_dir;
  std::int64_t subset = 0, subset_seed = -1;
};

/// Registers the `hessian` subcommand on `app`, binding its options to `args`.
CLI::App* add_hessian_command(CLI::App& app, HessianArgs& args);

/// Runs it; InputError (exit 2, nothing written) on bad input.
int run_hessian(const HessianArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
