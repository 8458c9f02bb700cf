#pragma once
/// \file
/// Adamax (Kingma & Ba, ICLR 2015, Algorithm 2: Adam with the infinity norm) as torch.optim.Adamax
/// [read from Debian's python3-torch 1.13.1, `_single_tensor_adamax`] (spec optimizers.md §6):
///   m ← β1 m + (1−β1) g,  u ← max(β2 u, |g| + ε),  θ ← θ − lr/(1−β1^t) · m/u
/// ε sits inside the max (not in a denominator); only m is bias-corrected; weight decay is coupled
/// L2 (g ← g + wd·θ). LibTorch 1.13 has no C++ Adamax. The rule is in rules/adamax_rule.h.
/// Choices: docs/deviations.md#adamax.
#include "optim/elementwise.h"
#include "optim/options_schema.h"
#include "rules/adamax_rule.h"

namespace flatmin::optim {

#define FLATMIN_ADAMAX_FIELDS(X)                                                                      \
  X(double, lr, 2e-3, at_least(0), "torch.optim.Adamax", "learning rate α")                          \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "torch.optim.Adamax", "β1, β2: decay of m and u") \
  X(double, eps, 1e-8, at_least(0), "torch.optim.Adamax", "ε, inside the max: u = max(β2 u, |g| + ε)") \
  X(double, weight_decay, 0.0, at_least(0), "torch.optim.Adamax", "coupled L2: g ← g + wd·θ")

struct AdamaxOptions : OptionsBase<AdamaxOptions> {
  FLATMIN_OPTIONS(AdamaxOptions, "adamax", FLATMIN_ADAMAX_FIELDS)
};

struct AdamaxRule {
  using Options = AdamaxOptions;
  static constexpr std::array<const char*, 2> kState{"exp_avg", "exp_inf"};  ///< m, u
  template <class S>
  using Coeffs = rules::AdamaxCoeffs<S>;
  template <class S>
  static constexpr std::array<bool Coeffs<S>::*, 1> kFlags{&Coeffs<S>::coupled_wd};
  template <class S>
  static Coeffs<S> coeffs(const Options& o, const StepContext& ctx) { return rules::adamax_coeffs<S>(o, ctx.t); }
  template <class V, class S>
  static void update(V& theta, const V& g, V* s, const Coeffs<S>& c) { rules::adamax_update(theta, g, s[0], s[1], c); }
};

class Adamax : public ElementwiseOptimizer<Adamax, AdamaxRule> {
 public:
  using ElementwiseOptimizer::ElementwiseOptimizer;
};

}  // namespace flatmin::optim
