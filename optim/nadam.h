#pragma once
/// \file
/// NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam"), in two forms:
///  * `nadam` = torch.optim.NAdam of torch ≥ 2.0 (spec optimizers.md §5.1): μ_t = β1(1 − ½·0.96^(tψ)),
///    Π_t = Π_{t−1}μ_t, θ −= lr(1−μ_t)/(1−Π_t)·g/d + lr·μ_{t+1}/(1−Π_tμ_{t+1})·m/d with
///    d = √(v/(1−β2^t)) + ε; m by lerp; coupled L2 or decoupled weight decay (torch ≥ 2.1 NAdamW).
///    `torch113_mu_product_bug: true` reproduces torch 1.13's single-tensor path, which used
///    Π_tμ_tμ_{t+1} in the second coefficient (μ_t twice; fixed by pytorch/pytorch PR #92699).
///  * `nadam_keras` = the MIAdam repository's `Nadam` (Keras-style port, spec §5.2; the paper's
///    "NAdam" baseline): m̄ = (1−μ_t)·g/(1−Π_t) + μ_{t+1}·m/(1−Π_tμ_{t+1}), θ −= lr·m̄/d; ψ is
///    called schedule_decay; no weight decay. Same mathematics as `nadam` with wd = 0, other rounding.
/// Π is kept in double (torch keeps it in a float32 0-dim tensor). The rule is in
/// rules/nadam_rule.h. Choices: docs/deviations.md#nadam.
#include "optim/elementwise.h"
#include "optim/options_schema.h"
#include "rules/nadam_rule.h"

namespace flatmin::optim {

/// Which NAdam: set by the registry name (`nadam` / `nadam_keras`).
enum class NAdamVariant : int64_t {
  kTorch = 0,  ///< torch.optim.NAdam (torch ≥ 2.0)
  kKeras = 1,  ///< MIAdam repo's Keras-style Nadam
};
FLATMIN_ENUM_NAMES(NAdamVariant, {"torch", NAdamVariant::kTorch}, {"keras", NAdamVariant::kKeras})

#define FLATMIN_NADAM_FIELDS(X)                                                                                   \
  X(double, lr, 2e-3, at_least(0), "torch.optim.NAdam; Keras Nadam", "learning rate γ")                          \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "torch / Keras", "β1, β2")                                \
  X(double, eps, 1e-8, at_least(0), "torch / Keras port", "ε, outside the root")                                \
  X(double, weight_decay, 0.0, at_least(0), "torch (coupled L2)", "λ (must be 0 in the Keras form)")             \
  X(double, momentum_decay, 4e-3, at_least(0), "torch (schedule_decay in the Keras form)", "ψ: μ_t = β1(1 − ½·0.96^(tψ))") \
  X(bool, decoupled_weight_decay, false, any(), "torch ≥ 2.1", "decoupled decay θ ← θ(1 − lr·λ) (NAdamW)")      \
  X(bool, torch113_mu_product_bug, false, any(), "flatmin", "true = torch 1.13's single-tensor Π_tμ_tμ_{t+1}")   \
  X(NAdamVariant, form, NAdamVariant::kTorch, any(), "registry name", "torch or keras")

struct NAdamOptions : OptionsBase<NAdamOptions> {
  FLATMIN_OPTIONS(NAdamOptions, "nadam", FLATMIN_NADAM_FIELDS)
  /// The Keras form has no weight decay and none of torch's switches.
  void check(const std::string& who) const;
};

/// Momentum schedule μ_t = β1·(1 − 0.5·0.96^(t·ψ)), in double as Python evaluates it.
double nadam_mu(double beta1, double momentum_decay, int64_t t);

struct NAdamRule {
  using Options = NAdamOptions;
  static constexpr std::array<const char*, 2> kState{"exp_avg", "exp_avg_sq"};  ///< m, v
  static constexpr std::array<std::pair<const char*, double>, 1> kScalars{{{"mu_product", 1.0}}};  ///< Π_t = μ_1⋯μ_t
  template <class S>
  using Coeffs = rules::NAdamCoeffs<S>;
  template <class S>
  static constexpr std::array<bool Coeffs<S>::*, 4> kFlags{&Coeffs<S>::keras, &Coeffs<S>::lerp_large,
                                                           &Coeffs<S>::coupled_wd, &Coeffs<S>::decoupled_wd};
  /// Π_t = Π_{t−1}·μ_t (torch: state 'mu_product'; Keras port: m_schedule_new = m_schedule·μ_t).
  static void advance(const Options& o, int64_t t, double* scalars) {
    scalars[0] *= nadam_mu(std::get<0>(o.betas()), o.momentum_decay(), t);
  }
  template <class S>
  static Coeffs<S> coeffs(const Options& o, const StepContext& ctx);
  template <class V, class S>
  static void update(V& theta, const V& g, V* s, const Coeffs<S>& c) { rules::nadam_update(theta, g, s[0], s[1], c); }
};

using NAdamParamState = ElementwiseState<NAdamRule>;

class NAdam : public ElementwiseOptimizer<NAdam, NAdamRule> {
 public:
  using ElementwiseOptimizer::ElementwiseOptimizer;
};

}  // namespace flatmin::optim
