#pragma once
/// \file
/// AdaBelief (Zhuang et al., NeurIPS 2020) as the official adabelief-pytorch 0.2.0; rule: rules/adabelief_rule.h.
/// The worked example of docs/adding-an-optimizer.md. Choices: docs/deviations.md#adabelief.
#include "optim/elementwise.h"
#include "optim/options_schema.h"
#include "rules/adabelief_rule.h"

namespace flatmin::optim {

#define FLATMIN_ADABELIEF_FIELDS(X)                                                                            \
  X(double, lr, 1e-3, at_least(0), "adabelief-pytorch 0.2.0", "learning rate α")                              \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "adabelief-pytorch 0.2.0", "β1, β2")                    \
  X(double, eps, 1e-16, at_least(0), "adabelief-pytorch 0.2.0", "ε, added to s every step and to the denominator") \
  X(double, weight_decay, 0.0, at_least(0), "adabelief-pytorch 0.2.0", "weight decay")                        \
  X(bool, amsgrad, false, any(), "adabelief-pytorch 0.2.0", "max of s")                                       \
  X(bool, weight_decouple, true, any(), "adabelief-pytorch 0.2.0", "decoupled decay θ ← θ(1 − lr·wd); false: L2") \
  X(bool, fixed_decay, false, any(), "adabelief-pytorch 0.2.0", "decoupled decay without lr: θ ← θ(1 − wd)")   \
  X(bool, rectify, true, any(), "adabelief-pytorch 0.2.0", "RAdam's rectification (false: the paper's Alg. 2)") \
  X(bool, degenerated_to_sgd, true, any(), "adabelief-pytorch 0.2.0", "rectified, ρ_t < 5: SGD-with-momentum step (false: no step)")

struct AdaBeliefOptions : OptionsBase<AdaBeliefOptions> {
  FLATMIN_OPTIONS(AdaBeliefOptions, "adabelief", FLATMIN_ADABELIEF_FIELDS)
};

struct AdaBeliefRule {
  using Options = AdaBeliefOptions;
  static constexpr std::array<const char*, 3> kState{"exp_avg", "exp_avg_var", "max_exp_avg_var"};  ///< m, s, max s
  static constexpr std::array<int, 3> kGate{-1, -1, 2};  ///< max_exp_avg_var only with amsgrad (flag 2)
  template <class S>
  using Coeffs = rules::AdaBeliefCoeffs<S>;
  template <class S>
  static constexpr std::array<bool Coeffs<S>::*, 5> kFlags{&Coeffs<S>::coupled_wd, &Coeffs<S>::decoupled_wd, &Coeffs<S>::amsgrad,
                                                           &Coeffs<S>::adaptive, &Coeffs<S>::rectified};
  template <class S>
  static Coeffs<S> coeffs(const Options& o, const StepContext& ctx) { return rules::adabelief_coeffs<S>(o, ctx.t); }
  template <class V, class S>
  static void update(V& theta, const V& g, V* s, const Coeffs<S>& c) { rules::adabelief_update(theta, g, s[0], s[1], &s[2], c); }
};

class AdaBelief : public ElementwiseOptimizer<AdaBelief, AdaBeliefRule> {
 public:
  using ElementwiseOptimizer::ElementwiseOptimizer;
};

}  // namespace flatmin::optim
