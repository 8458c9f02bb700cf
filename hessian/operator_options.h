#pragma once
/// \file
/// Options of the LibTorch Hessian operator (hessian_operator.h), kept LibTorch-free so that command-line
/// front ends bind them directly.

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace flatmin::hessian {

/// The loss whose Hessian is taken.
enum class Loss { CrossEntropy, MSE, BCEWithLogits };
/// How per-sample losses combine.
enum class Reduction { Mean, Sum };
Loss parse_loss(const std::string& name);  ///< cross_entropy | mse | bce_with_logits
Reduction parse_reduction(const std::string& name);  ///< mean | sum
std::string to_string(Loss l);
std::string to_string(Reduction r);

/// How the operator evaluates H (loss, batching, parameter block, dtype, device, data parallelism).
struct OperatorOptions {
  Loss loss = Loss::CrossEntropy;
  Reduction reduction = Reduction::Mean;
  std::int64_t batch_size = 0;  ///< 0 = the whole dataset as one batch
  std::string param_regex;      ///< std::regex_search on parameter names; empty = all trainable
  double weight_decay = 0.0;    ///< Hv += weight_decay·v (off by default; PyHessian has none)
  bool train_mode = false;      ///< PyHessian forces eval(): BN running stats, no dropout
  std::string dtype;            ///< "" (keep the model's), "float32" or "float64"
  std::string device = "cpu";
  /// Keep every batch's first-order graph (each HVP is then one double backward).
  /// "auto" = on for one batch (PyHessian's single-batch mode), "on", "off".
  std::string graph_cache = "auto";
  bool check_determinism = true;  ///< evaluate loss and gradient twice; refuse a non-deterministic model
  /// Data parallelism: each rank holds its shard of the data and passes a collective that sums
  /// `n` doubles in place over all ranks (e.g. c10d ProcessGroupGloo/NCCL allreduce SUM on a
  /// from_blob tensor). Sample counts, gradients and HVPs are all-reduced, so every rank sees the
  /// global H; probes are identical on every rank (same seed). Empty = one process.
  std::function<void(double* data, std::int64_t n)> allreduce_sum;

  /// The options as a manifest config (the CLI's names: loss, reduction, batch_size, param_filter, …).
  nlohmann::json to_json() const;
};

}  // namespace flatmin::hessian
