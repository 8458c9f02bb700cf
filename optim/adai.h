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
/// rules/adai_rule.h. Choices: docs/deviations.md#adai.

#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"
#include "optim/options_schema.h"
#include "optim/param_state.h"

namespace flatmin::optim {

#define FLATMIN_ADAI_FIELDS(X)                                                                                    \
  X(double, lr, 0.0, at_least(0), "none (official: required)", "learning rate (README: SGD's lr, or 10x SGD-momentum's)") \
  X(Betas, betas, Betas(0.1, 0.99), any(), "official constructor", "(β0, β2): β0 >= 0 scales the inertia, β2 in [0, 1)") \
  X(double, eps, 1e-3, left_open(0, 1, "(eps = 0 lets beta1 reach 1 and 1 - beta1_prod = 0)"), "official constructor", "ε: β1 <= 1 − ε") \
  X(double, weight_decay, 0.0, at_least(0), "official constructor", "weight decay")                                 \
  X(bool, decoupled, false, any(), "official Adai (AdaiW/AdaiV2: true)", "decoupled weight decay (AdaiW)")           \
  X(double, dampening, 1.0, closed(0, 1), "official AdaiV2", "AdaiV2's dampening d (1: Adai)")

struct AdaiOptions : OptionsBase<AdaiOptions> {
  FLATMIN_OPTIONS(AdaiOptions, "adai", FLATMIN_ADAI_FIELDS)
  /// AdaiV2 defaults: decoupled weight decay (official AdaiV2 constructor), dampening 1.
  static AdaiOptions v2(double lr) { return AdaiOptions(lr).decoupled(true); }
  /// β0 >= 0 (official: no upper bound), β2 in [0, 1).
  void check(const std::string& who) const;
};

#define FLATMIN_ADAI_STATE(X)                                          \
  X(int64_t, step, as_is)              /* t (per tensor) */              \
  X(torch::Tensor, exp_avg, like_param)    /* m */                       \
  X(torch::Tensor, exp_avg_sq, like_param) /* v */                       \
  X(torch::Tensor, beta1_prod, like_param) /* Π β1 (element-wise, starts at 1) */

struct AdaiParamState : public torch::optim::OptimizerCloneableParamState<AdaiParamState> {
  FLATMIN_STATE_FIELDS(FLATMIN_ADAI_STATE)
  FLATMIN_STATE_SERIALIZE()
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
