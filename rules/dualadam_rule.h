#pragma once
/// \file
/// DualAdam / InvAdam update rule — the one place its equations live.
/// Shi, Chen, Jin, Zhou (arXiv 2603.07122); official code LongJin-lab/DualAdam@e40133b DualAdam.py
/// (spec optimizers.md §13.2). The paper body is not available: the rule is the official code's.
/// Notation: r_t→r ("inverse_adam_rate"), s→switch_rate. Deviations: docs/deviations.md#dualadam.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

template <class S>
struct DualAdamCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: wd (coupled L2, pytorch_optimizer port's default)
  S bc1, bc2;            ///< 1−β1^t, 1−β2^t
  S neg_lr;              ///< −lr
  S neg_wd_lr;           ///< −wd·lr (decoupled decay, official)
  S r, one_minus_r;      ///< r_t and 1−r_t
  bool coupled_wd, decoupled_wd, blend;
};

/// One DualAdam step for one element (scalar V) or one tensor (V = torch::Tensor).
template <class V, class S>
inline void dualadam_update(V& theta, V g, V& m, V& v, const DualAdamCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.coupled_wd) g = g + theta * c.weight_decay;      // weight_decouple=false: g ← g + wd·θ
  m = m * c.beta1 + g * c.one_minus_beta1;                // m_t = β1 m_{t−1} + (1−β1) g_t
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;          // v_t = β2 v_{t−1} + (1−β2) g_t²
  const V m_hat = m / c.bc1;                              // m̂_t = m_t/(1−β1^t)
  const V d = O::sqrt(v / c.bc2) + c.eps;                 // d_t = √v̂_t + ε  ("ada_norm")
  const V u_adam = m_hat / d;                             // Adam direction m̂/(√v̂+ε)
  if (c.decoupled_wd) theta = theta + theta * c.neg_wd_lr;  // θ ← θ − lr·wd·θ (before the update)
  if (c.blend) {                                          // r_t ≥ s: blend with InvAdam's m̂ ⊙ (√v̂+ε)
    theta = theta + (u_adam * c.one_minus_r + (m_hat * d) * c.r) * c.neg_lr;
  } else {                                                // r_t < s: plain Adam
    theta = theta + u_adam * c.neg_lr;
  }
}

}  // namespace flatmin::rules
