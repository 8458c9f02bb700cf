#pragma once
/// \file
/// LibTorch Hessian-vector products of a model's loss over a fixed, materialised dataset
/// (spec §8.1), exposed as a float64 flatmin::hessian::Operator for the Krylov core.
///
/// Plugging in a C++ model (e.g. a flatmin torch::nn::Module): build a `Model` with
///   forward          = [m](const torch::Tensor& x) { return m->forward(x); }
///   named_parameters = [m] { return m->named_parameters() as (name, tensor) pairs; }
///   set_train        = [m](bool t) { m->train(t); }
///   to_dtype         = [m](torch::Dtype d) { m->to(d); }
/// and pass it to HessianOperator or analyze() below — nothing else depends on TorchScript.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "hessian/analyze.h"
#include "hessian/operator_options.h"

namespace flatmin::hessian {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// What the operator needs from a model. `named_parameters` is re-read after `to_dtype`.
struct Model {
  std::function<torch::Tensor(const torch::Tensor& x)> forward;
  std::function<NamedTensors()> named_parameters;  ///< parameters() order
  std::function<void(bool train)> set_train;       ///< optional (no-op if empty)
  std::function<void(torch::Dtype)> to_dtype;      ///< optional (then --dtype must match the model)
  std::function<void(torch::Device)> to_device;    ///< optional
};

/// Loads a TorchScript module saved by torch.jit.save (InputError on a missing/corrupt file).
Model load_torchscript(const std::string& path);

/// A materialised dataset: x [N, ...], y [N] (class labels) or [N, ...] (regression/BCE targets).
struct Dataset {
  torch::Tensor x, y;
};
/// Loads a dict {"x": Tensor, "y": Tensor} saved by torch.save (InputError on any problem).
Dataset load_dataset(const std::string& path);

/// H = ∇²_θ L(θ) over the dataset for the selected parameters θ (a diagonal block H_SS when filtered),
/// L = Σ_b (n_b/N)·L_b for mean losses (exact with ragged batches), Σ_b L_b for sum losses.
class HessianOperator {
 public:
  HessianOperator(Model model, Dataset data, OperatorOptions opt);
  ~HessianOperator();
  HessianOperator(const HessianOperator&) = delete;
  HessianOperator& operator=(const HessianOperator&) = delete;

  Eigen::Index n() const { return n_; }
  std::int64_t n_samples() const { return n_samples_; }
  std::int64_t n_batches() const;
  const std::vector<std::string>& parameter_names() const { return names_; }
  std::string dtype_name() const;
  bool graph_cached() const { return cache_; }

  /// y = H x (float64 host arrays of length n()).
  void apply(const double* x, double* y);
  /// k products, one first-order graph per batch (x, y: n×k column-major).
  void apply_block(const double* x, double* y, int k);
  /// Loss over the dataset and its gradient (g may be null).
  double loss_and_gradient(double* g);
  /// Number of HVPs performed so far.
  std::int64_t products() const { return products_; }

  /// The float64 operator view (with PyHessian torch-CPU-generator samplers in parameter order).
  Operator as_operator();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Eigen::Index n_ = 0;
  std::int64_t n_samples_ = 0;
  std::int64_t products_ = 0;
  bool cache_ = false;
  std::vector<std::string> names_;
};

/// summary.json of an analysis on `h` (the CLI's and flatmin.hessian's): Summary::to_json plus
/// n_params, n_samples, model {dtype, n_params, parameters, param_filter}, data {n_samples, n_batches,
/// batch_size, mode, graph_cache}, loss {name, reduction, weight_decay} and the trace samples.
/// The caller adds where the model and data came from (model.path, data.path, …).
nlohmann::json summary_json(const Summary& s, const AnalyzeOptions& aopt, const HessianOperator& h,
                            const OperatorOptions& oopt);

/// The library call: Hessian analysis of `model` on `data`. Seeds torch's CPU generator with
/// `aopt.seed` (compat mode draws its probes from it, as PyHessian does).
Summary analyze(Model model, Dataset data, const OperatorOptions& oopt, const AnalyzeOptions& aopt);

}  // namespace flatmin::hessian
