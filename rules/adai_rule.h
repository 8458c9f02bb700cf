#pragma once
/// \file
/// Adai / AdaiW / AdaiV2 update rule — the one place its equations live.
/// Xie, Wang, Zhang, Sato, Sugiyama, "Adaptive Inertia: Disentangling the Effects of Adaptive
/// Learning Rate and Momentum" (ICML 2022); official code zeke-xie/adaptive-inertia-adai@e6c1b9d
/// adai_optim/adai.py (Adai, AdaiW = decoupled) and adai_optim/adaiv2.py (dampening d)
/// (spec optimizers.md §10). Notation: β0,β2 → betas, ε → eps (the inertia bound), d → dampening,
/// v̄ → vbar (mean of v̂ over every element of every parameter with a gradient, all groups).
/// Deviations and choices: docs/deviations.md#adai.
///
/// The step has two passes over all parameters (the official code's two loops); v̄ is a reduction
/// between them, computed by the caller (optim/adai.cpp) in double.
#include "rules/ops.h"

namespace flatmin::rules {

/// Per-step coefficients of one parameter tensor, computed in double by the caller, cast to S.
template <class S>
struct AdaiCoeffs {
  S beta0, beta2, one_minus_beta2;
  S inv_bc2_vbar;   ///< 1/((1−β2^t)·v̄) (pass 2; t = the tensor's own step counter, v̄ = S/N)
  S bc2, vbar;      ///< 1−β2^t and v̄, for the unfolded form (when the reciprocal is not a normal S)
  S one_minus_eps;  ///< 1−ε, the upper clamp of β1
  S weight_decay;   ///< coupled L2 (decoupled = false)
  S decay;          ///< 1−lr·wd (decoupled = true, AdaiW)
  S neg_lr;         ///< −lr
  S inv_exponent;   ///< 1/(3−2d) (AdaiV2)
  S dampening;      ///< d (AdaiV2)
  S beta0_pow;      ///< β0^(1−d) (AdaiV2; exactly 1 for d = 1)
  bool coupled_wd, decoupled_wd;
  bool dampened;    ///< d ≠ 1: the AdaiV2 powers are evaluated (d = 1 is Adai: all three are identities)
  bool vbar_zero;   ///< v̄ = 0 guard (every v̂ is 0): v̂/v̄ is taken as 1 (flatmin; official: 0/0 = NaN)
  bool fold;        ///< v̂/v̄ as v·inv_bc2_vbar (false: (v/(1−β2^t))/v̄, as the official code)
};

/// Pass 1 for one element (scalar V) or one tensor: v_t = β2 v_{t−1} + (1−β2) g_t², g_t including
/// the coupled L2 term. The caller sums v_t/(1−β2^t) over everything. The gradient is read, never
/// written (the official code adds wd·θ to p.grad in place; flatmin recomputes g + wd·θ in pass 2).
template <class V, class S>
inline void adai_pass1(const V& theta, V g, V& v, const AdaiCoeffs<S>& c) {
  if (c.coupled_wd) g = g + theta * c.weight_decay;       // adai.py: grad.add_(p.data, alpha=wd)
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;          // adai.py: exp_avg_sq.mul_(β2).addcmul_(g, g, value=1−β2)
}

/// Pass 2 for one element or one tensor (θ is still the pass-1 θ: pass 1 does not move it).
/// Speed: one division per element; v̂/v̄ = v/(1−β2^t)/v̄ is one multiplication by a reciprocal
/// computed in double (the official code divides twice; a few ulp, docs/deviations.md#adai).
template <class V, class S>
inline void adai_pass2(V& theta, V g, const V& v, V& m, V& beta1_prod, const AdaiCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.coupled_wd) g = g + theta * c.weight_decay;       // the same g as pass 1 (θ unchanged since)
  V ratio = c.fold ? v * c.inv_bc2_vbar                   // v̂/v̄, adai.py: (exp_avg_sq / bias_correction2) / exp_avg_sq_hat_mean
                   : (v / c.bc2) / c.vbar;
  if (c.vbar_zero) ratio = v * S(0) + S(1);               // guard: all v̂ = 0 ⇒ every element is at the mean
  if (c.dampened) ratio = O::pow(ratio, c.inv_exponent);  // adaiv2.py: (v̂/v̄).pow(1/(3−2d))
  const V beta1 = O::clamp(S(1) - ratio * c.beta0, S(0), c.one_minus_eps);  // β1 = (1 − β0·v̂/v̄).clamp(0, 1−ε)
  const V one_minus_beta1 = S(1) - beta1;
  const V beta3 = c.dampened ? O::pow(one_minus_beta1, c.dampening) : one_minus_beta1;  // adaiv2.py: β3 = (1−β1)^d
  beta1_prod = beta1_prod * beta1;                        // beta1_prod.mul_(β1)
  m = m * beta1 + beta3 * g;                              // exp_avg.mul_(β1).addcmul_(1−β1, g)  (V2: β3)
  V m_hat = m / (S(1) - beta1_prod);                      // exp_avg_hat = exp_avg / (1 − beta1_prod)
  if (c.dampened) m_hat = m_hat * c.beta0_pow;            // adaiv2.py: … * β0^(1−d)
  if (c.decoupled_wd) theta = theta * c.decay;            // AdaiW: p.data.mul_(1 − lr·wd) (pass 1 there; same result)
  theta = theta + m_hat * c.neg_lr;                       // p.data.add_(exp_avg_hat, alpha=−lr)
}

}  // namespace flatmin::rules
