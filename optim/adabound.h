#pragma once
/// \file
/// AdaBound, AMSBound and AdaBoundW: Adam whose per-coordinate step size is clipped into
/// [η_l(t), η_u(t)], two bounds that converge to an SGD learning rate final_lr.
/// Luo, Xiong, Liu, Sun (ICLR 2019). Default semantics = the official code
/// (Luolc/AdaBound@2e928c3 adabound/adabound.py, spec optimizers.md §8): constant β1, bias
/// correction, efficient-form ε (denominator √v + ε, step lr·√(1−β2^t)/(1−β1^t)), final_lr scaled by
/// lr/base_lr (base_lr = each group's lr when the optimizer is constructed, so lr schedulers move
/// final_lr too), coupled L2 weight decay (AdaBound/AMSBound) or decoupled weight decay applied
/// after the step and NOT multiplied by lr (AdaBoundW).
/// The update rule is in rules/adabound_rule.h. Choices: docs/deviations.md#adabound.
#include "optim/elementwise.h"
#include "optim/options_schema.h"
#include "rules/adabound_rule.h"

namespace flatmin::optim {

#define FLATMIN_ADABOUND_FIELDS(X)                                                                                \
  X(double, lr, 1e-3, at_least(0), "official constructor", "learning rate α")                                    \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official constructor", "β1, β2")                          \
  X(double, final_lr, 0.1, at_least(0), "official constructor", "α*: the SGD lr both bounds converge to")         \
  X(double, gamma, 1e-3, half_open(0, 1), "official constructor", "γ: convergence speed of the bounds (0: no clipping)") \
  X(double, eps, 1e-8, at_least(0), "official constructor", "ε (efficient form: √v + ε)")                       \
  X(double, weight_decay, 0.0, at_least(0), "official constructor (MIAdam scripts: 5e-5)", "weight decay")       \
  X(bool, amsbound, false, any(), "official constructor", "AMSBound: max of v")                                  \
  X(bool, weight_decouple, false, any(), "class AdaBound", "false: L2 (AdaBound); true: θ −= wd·θ after the step (AdaBoundW)") \
  X(std::optional<double>, base_lr, std::nullopt, above(0, "(final_lr is scaled by lr/base_lr)"), "internal", "the group's lr at construction (official self.base_lrs)")

struct AdaBoundOptions : OptionsBase<AdaBoundOptions> {
  FLATMIN_OPTIONS(AdaBoundOptions, "adabound", FLATMIN_ADABOUND_FIELDS)
};

/// The bounds (η_l(t), η_u(t)) of the official code at per-tensor step t ≥ 1, in double:
/// final = final_lr·lr/base_lr, lower = final·(1 − 1/(γt+1)), upper = final·(1 + 1/(γt)).
/// γ = 0 gives (0, +inf): no clipping (the official code divides by zero there).
std::pair<double, double> adabound_bounds(const AdaBoundOptions& options, int64_t t);

struct AdaBoundRule {
  using Options = AdaBoundOptions;
  static constexpr std::array<const char*, 3> kState{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};  ///< m, v, AMSBound max
  static constexpr std::array<int, 3> kGate{-1, -1, 2};  ///< max_exp_avg_sq only with amsbound (flag 2)
  template <class S>
  using Coeffs = rules::AdaBoundCoeffs<S>;
  template <class S>
  static constexpr std::array<bool Coeffs<S>::*, 3> kFlags{&Coeffs<S>::coupled_wd, &Coeffs<S>::decoupled_wd,
                                                           &Coeffs<S>::amsbound};
  template <class S>
  static Coeffs<S> coeffs(const Options& o, const StepContext& ctx);
  template <class V, class S>
  static void update(V& theta, const V& g, V* s, const Coeffs<S>& c) {
    rules::adabound_update(theta, g, s[0], s[1], &s[2], c);
  }
};

using AdaBoundParamState = ElementwiseState<AdaBoundRule>;

class AdaBound : public ElementwiseOptimizer<AdaBound, AdaBoundRule> {
 public:
  using ElementwiseOptimizer::ElementwiseOptimizer;
  /// Per-group set-up before validation (called by OptimizerWith's constructor): base_lr = lr.
  static void prepare_group(AdaBoundOptions& o, const std::vector<torch::Tensor>& params, size_t group);
  /// A group added after construction (or options replaced without base_lr) gets base_lr = lr.
  void begin_step();
};

}  // namespace flatmin::optim
