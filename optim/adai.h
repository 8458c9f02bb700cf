#pragma once
/// \file
/// Adai (adaptive inertia), AdaiW (decoupled weight decay) and AdaiV2 (dampening d).
/// Xie, Wang, Zhang, Sato, Sugiyama (ICML 2022, "Adaptive Inertia: Disentangling the Effects of
/// Adaptive Learning Rate and Momentum"). Default semantics = the official code
/// (zeke-xie/adaptive-inertia-adai@e6c1b9d adai_optim/adai.py, adaiv2.py; spec optimizers.md §10).
///
/// One step = two passes over every parameter with a gradient, in every group:
///   pass 1: v ← β2 v + (1−β2) g², S += Σv/(1−β2^t)   (t = the tensor's own step counter)
///   v̄ = S/N (N = number of elements): the mean of v̂ over ALL parameters of ALL groups
///   pass 2: β1 = clamp(1 − β0 v̂/v̄, 0, 1−ε) element-wise, Π ← Π⊙β1, m ← β1 m + (1−β1) g,
///           θ ← θ − lr·m/(1−Π)
/// so the groups are coupled through v̄ (a group's trajectory depends on the other groups'
/// gradients). v̄ is reduced deterministically: a double sum per tensor over fixed blocks, then over
/// tensors in group/parameter order; the result does not depend on the thread count.
/// The gradient tensors are never modified (the official code adds wd·θ to p.grad in place).
/// v̄ = 0 (every v̂ is exactly 0, e.g. all-zero gradients at the first step) would be 0/0 = NaN in
/// the official code; flatmin takes v̂/v̄ = 1 for every element then (β1 = 1−β0). The rule is in
/// optim/rules/adai_rule.h. Choices: docs/deviations.md#adai.
///
/// | option       | symbol | constraint       | default  | source of the default                        |
/// |--------------|--------|------------------|----------|----------------------------------------------|
/// | lr           | η      | ≥ 0, REQUIRED    | —        | official `lr=required` (README: SGD's lr)    |
/// | betas        | β0, β2 | β0 ≥ 0, β2∈[0,1) | .1, .99  | official constructor                         |
/// | eps          | ε      | (0, 1]           | 1e-3     | official constructor (the inertia bound)     |
/// | weight_decay | —      | ≥ 0              | 0        | official constructor                         |
/// | decoupled    | —      |                  | false    | official Adai; AdaiW = true; AdaiV2: true    |
/// | dampening    | d      | [0, 1]           | 1        | official AdaiV2 (d = 1 is Adai)              |
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

struct AdaiOptions : public torch::optim::OptimizerCloneableOptions<AdaiOptions> {
  static constexpr const char* kName = "adai";
  /// lr has no default (official `required`).
  explicit AdaiOptions(double lr) : lr_(lr) {}
  /// AdaiV2 defaults: decoupled weight decay (official AdaiV2 constructor), dampening 1.
  static AdaiOptions v2(double lr) { return AdaiOptions(lr).decoupled(true); }
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr);
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.1, 0.99);  ///< (β0, β2)
  TORCH_ARG(double, eps) = 1e-3;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, decoupled) = false;
  TORCH_ARG(double, dampening) = 1.0;

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct AdaiParamState : public torch::optim::OptimizerCloneableParamState<AdaiParamState> {
  TORCH_ARG(int64_t, step) = 0;           ///< t (per tensor)
  TORCH_ARG(torch::Tensor, exp_avg);      ///< m
  TORCH_ARG(torch::Tensor, exp_avg_sq);   ///< v
  TORCH_ARG(torch::Tensor, beta1_prod);   ///< Π β1 (element-wise, starts at 1)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

class Adai : public OptimizerWith<Adai, AdaiOptions, AdaiParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;

  /// v̄ of the last step (mean of v̂ over all elements of all parameters with a gradient);
  /// NaN before the first step or when no parameter had a gradient.
  double last_mean_v_hat() const { return last_mean_v_hat_; }
  /// N of the last step (number of elements that entered v̄).
  int64_t last_count() const { return last_count_; }

 private:
  double last_mean_v_hat_ = std::numeric_limits<double>::quiet_NaN();
  int64_t last_count_ = 0;
};

/// Deterministic double sum of a contiguous CPU float/double tensor (fixed blocks, fixed order;
/// independent of the thread count). Exposed for tests.
double adai_deterministic_sum(const torch::Tensor& t);

}  // namespace flatmin::optim
