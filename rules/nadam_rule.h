#pragma once
/// \file
/// NAdam update rule — the one place its equations live. Two forms of the same method
/// (Dozat 2016, "Incorporating Nesterov Momentum into Adam"):
///  * torch form: torch.optim.NAdam of torch ≥ 2.0, `_single_tensor_nadam`
///    [pytorch/pytorch@00c2d88 torch/optim/nadam.py] (spec optimizers.md §5.1): lerp first moment,
///    two addcdiv_ updates, coupled L2 or (torch ≥ 2.1) decoupled weight decay;
///  * Keras form: the MIAdam repository's `Nadam` [LongJin-lab/MIAdam@ffbb8d4 optimizers/nadam.py]
///    (spec §5.2): m̄ = (1−μ_t)·g/(1−Π_t) + μ_{t+1}·m/(1−Π_t μ_{t+1}), one update, no weight decay.
/// The momentum schedule μ_t, μ_{t+1} and the products Π_t, Π_{t+1} are scalars computed in double by
/// the caller (optim/nadam.cpp). Notation: ψ → momentum_decay (torch) / schedule_decay (Keras).
/// Deviations and choices: docs/deviations.md#nadam.
#include "rules/ops.h"

namespace flatmin::rules {

template <class S>
struct NAdamCoeffs {
  S beta1, one_minus_beta1;  ///< β1, 1−β1 (= lerp weight w)
  S lerp_complement;         ///< 1 − w, computed in double as torch's lerp does (not β1)
  S beta2, one_minus_beta2;
  S inv_bc2;                 ///< 1/(1−β2^t)
  S eps;
  S weight_decay;            ///< coupled L2 (torch default)
  S decay;                   ///< 1 − lr·wd (torch ≥ 2.1 decoupled_weight_decay)
  // torch form (the addcdiv_ values, in double as Python evaluates them)
  S grad_coef;               ///< (−lr·(1−μ_t)) / (1−Π_t)
  S mom_coef;                ///< (−lr·μ_{t+1}) / (1−Π_{t+1})
  // Keras form
  S one_minus_mu;            ///< 1−μ_t
  S mu_next;                 ///< μ_{t+1}
  S inv_one_minus_prod;      ///< 1/(1−Π_t)
  S inv_one_minus_prod_next; ///< 1/(1−Π_t·μ_{t+1})
  S neg_lr;                  ///< −lr
  bool keras;       ///< the MIAdam repo's Keras-style port (else torch)
  bool lerp_large;  ///< torch's lerp form: 1−β1 < 0.5: m + w·(g − m); 1−β1 ≥ 0.5: g − (g − m)·(1 − w)
  bool coupled_wd, decoupled_wd;
};

/// One NAdam step for one element (scalar V) or one tensor (V = torch::Tensor).
/// Speed: one division per element. The divisions by scalars of the reference code are
/// multiplications by reciprocals computed in double, and the two addcdiv_ (torch) / the one
/// addcdiv_ (Keras) share one reciprocal of the denominator; this rounds differently from the
/// reference op sequence (a few ulp per step, not a different rule; docs/deviations.md#nadam).
template <class V, class S>
inline void nadam_update(V& theta, V g, V& m, V& v, const NAdamCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.coupled_wd) g = g + theta * c.weight_decay;      // torch: grad = grad.add(param, alpha=wd)
  if (c.decoupled_wd) theta = theta * c.decay;           // torch ≥ 2.1: param.mul_(1 − lr·wd)
  if (c.keras) {
    m = m * c.beta1 + g * c.one_minus_beta1;             // Keras port: exp_avg.mul_(β1).add_(1−β1, g)
  } else if (!c.lerp_large) {
    m = m + (g - m) * c.one_minus_beta1;                 // torch: exp_avg.lerp_(grad, 1−β1)  (|w| < 0.5)
  } else {
    m = g - (g - m) * c.lerp_complement;                 // torch: exp_avg.lerp_(grad, 1−β1)  (|w| ≥ 0.5)
  }
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;         // v_t = β2 v + (1−β2) g²  (addcmul_)
  const V inv_denom = S(1) / (O::sqrt(v * c.inv_bc2) + c.eps);  // 1/denom, denom = sqrt(v/(1−β2^t)) + ε
  if (c.keras) {
    const V g_prime = g * c.inv_one_minus_prod;          // g' = g/(1−Π_t)
    const V m_prime = m * c.inv_one_minus_prod_next;     // m' = m/(1−Π_t μ_{t+1})
    const V m_bar = g_prime * c.one_minus_mu + m_prime * c.mu_next;  // m̄ = (1−μ_t) g' + μ_{t+1} m'
    theta = theta + (m_bar * c.neg_lr) * inv_denom;      // θ −= lr·m̄/denom  (addcdiv_(−lr, m̄, denom))
  } else {
    theta = theta + (g * c.grad_coef) * inv_denom;       // param.addcdiv_(grad, denom, value=−lr(1−μ_t)/(1−Π_t))
    theta = theta + (m * c.mom_coef) * inv_denom;        // param.addcdiv_(exp_avg, denom, value=−lr μ_{t+1}/(1−Π_{t+1}))
  }
}

}  // namespace flatmin::rules
