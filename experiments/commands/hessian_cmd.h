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

#include "experiments/commands/checkpoint_data.h"
#include "hessian/analyze.h"
#include "hessian/operator_options.h"

namespace flatmin::experiments {

/// `flatmin hessian`'s options; the operator, analysis and checkpoint-data options bind straight into their structs.
struct HessianArgs {
  std::string model, data, out;
  std::string checkpoint;            ///< a `flatmin train` run (instead of --model/--data)
  CheckpointData selection;          ///< with --checkpoint: --dataset, --split, --subset, --subset-seed, --data-dir
  hessian::OperatorOptions op;       ///< --loss … --graph-cache; op.device as given (run_hessian binds it per rank)
  hessian::AnalyzeOptions analysis;  ///< --compat, --seed, --top-k … --num-bins
  /// The options that only mean something with --checkpoint (--dataset … --data-dir), set by
  /// add_hessian_command: given with --model/--data they are bad input (exit 2), not silently ignored.
  std::vector<const CLI::Option*> checkpoint_only;
};

/// Registers the `hessian` subcommand on `app`, binding its options to `args`.
CLI::App* add_hessian_command(CLI::App& app, HessianArgs& args);

/// Runs it; InputError (exit 2, nothing written) on bad input.
int run_hessian(const HessianArgs& args, const std::vector<std::string>& argv);

}  // namespace flatmin::experiments
