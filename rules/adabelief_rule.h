#pragma once
/// \file
/// AdaBelief update rule — the one place its equations live. Zhuang et al., "AdaBelief Optimizer:
/// Adapting Stepsizes by the Belief in Observed Gradients" (NeurIPS 2020), Algorithm 2, as implemented
/// by the official adabelief-pytorch 0.2.0 [juntang-zhuang/Adabelief-Optimizer
/// pypi_packages/adabelief_pytorch0.2.0/adabelief_pytorch/AdaBelief.py]: s_t = β2 s + (1−β2)(g − m_t)² + ε
/// (ε added to the stored s, in place, as Algorithm 2 and the code), √ŝ + ε in the denominator,
/// decoupled weight decay by default, and RAdam's rectification (on by default in 0.2.0).
/// Choices: docs/deviations.md#adabelief.
#include <cmath>
#include <cstdint>
#include <tuple>

#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

template <class S>
struct AdaBeliefCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: coupled L2 (weight_decouple = false)
  S decay;         ///< 1 − lr·wd (decoupled), or 1 − wd (fixed_decay)
  S sqrt_bc2;      ///< √(1−β2^t)
  S neg_step;      ///< −lr/(1−β1^t) (plain); −lr·r_t/(1−β1^t) (rectified); −lr/(1−β1^t) or 0 (SGD-like, ρ_t < 5)
  bool coupled_wd, decoupled_wd, amsgrad;
  bool adaptive;   ///< divide by the belief denominator (false: RAdam's SGD-like step while ρ_t < 5)
  bool rectified;  ///< rectification on: the denominator is √s + ε (the rectifier r_t carries √(1−β2^t))
};

/// The coefficients of step t (1-based) in double, as the official code computes its Python floats.
/// `O` is any options type with lr(), betas(), eps(), weight_decay(), amsgrad(), weight_decouple(),
/// fixed_decay(), rectify(), degenerated_to_sgd() (flatmin::optim::AdaBeliefOptions).
template <class S, class O>
AdaBeliefCoeffs<S> adabelief_coeffs(const O& o, std::int64_t step) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas()), t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(beta1, t), beta2_t = std::pow(beta2, t);
  double neg_step = -(o.lr() / bc1);  // step_size = lr / bias_correction1
  bool adaptive = true;
  if (o.rectify()) {  // RAdam (Liu et al. 2020, Alg. 2): ρ_∞ = 2/(1−β2) − 1, ρ_t = ρ_∞ − 2tβ2^t/(1−β2^t)
    const double rho_max = 2.0 / (1.0 - beta2) - 1.0;
    const double rho = rho_max - 2.0 * t * beta2_t / (1.0 - beta2_t);
    if (rho >= 5) {  // r_t = √((1−β2^t)(ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t)), in the official order
      neg_step = -(std::sqrt((1.0 - beta2_t) * (rho - 4.0) / (rho_max - 4.0) * (rho - 2.0) / rho * rho_max /
                             (rho_max - 2.0)) / bc1 * o.lr());
    } else {  // ρ_t < 5: SGD with momentum (degenerated_to_sgd), or no step
      adaptive = false;
      neg_step = o.degenerated_to_sgd() ? -(1.0 / bc1 * o.lr()) : 0.0;
    }
  }
  AdaBeliefCoeffs<S> c{};
  set_moment_coeffs(c, o);
  c.decay = static_cast<S>(1.0 - (o.fixed_decay() ? 1.0 : o.lr()) * o.weight_decay());
  c.sqrt_bc2 = static_cast<S>(std::sqrt(1.0 - beta2_t));
  c.neg_step = static_cast<S>(neg_step);
  c.coupled_wd = !o.weight_decouple() && o.weight_decay() != 0.0;
  c.decoupled_wd = o.weight_decouple() && o.weight_decay() != 0.0;
  c.amsgrad = o.amsgrad();
  c.adaptive = adaptive;
  c.rectified = o.rectify();
  return c;
}

/// One AdaBelief step for one element (scalar V) or one tensor (V = torch::Tensor).
template <class V, class S>
inline void adabelief_update(V& theta, V g, V& m, V& s, V* s_max, const AdaBeliefCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.decoupled_wd) theta = theta * c.decay;              // p.data.mul_(1 − lr·wd)  (fixed_decay: 1 − wd)
  if (c.coupled_wd) g = g + theta * c.weight_decay;         // grad.add_(p.data, alpha=wd)
  m = m * c.beta1 + g * c.one_minus_beta1;                  // Alg. 2: m_t = β1 m + (1−β1) g_t
  const V r = g - m;                                        // grad_residual = grad − exp_avg
  s = s * c.beta2 + (r * c.one_minus_beta2) * r;            // Alg. 2: s_t = β2 s + (1−β2)(g_t − m_t)² …
  s = s + c.eps;                                            // … + ε  (exp_avg_var.add_(eps), in place)
  V s_used = s;
  if (c.amsgrad) {                                          // torch.max(max_exp_avg_var, exp_avg_var, out=…)
    *s_max = O::max(*s_max, s);
    s_used = *s_max;
  }
  if (c.adaptive) {
    const V denom = c.rectified ? O::sqrt(s) + c.eps                   // rectified: exp_avg_var.sqrt().add_(eps)
                                : O::sqrt(s_used) / c.sqrt_bc2 + c.eps;  // (s.sqrt() / √(1−β2^t)).add_(eps)
    theta = theta + (m * c.neg_step) / denom;               // p.data.addcdiv_(exp_avg, denom, value=neg_step)
  } else {
    theta = theta + m * c.neg_step;                         // ρ_t < 5: p.data.add_(exp_avg, alpha=neg_step)
  }
}

}  // namespace flatmin::rules
