#pragma once
/// \file
/// MIAdam update rule — the one place its equations live.
/// Jin, Nong, Chen, Su (AAAI 2025, arXiv 2412.12473), Algorithm 1 and Eqs. (6), (12); official code
/// LongJin-lab/MIAdam@ffbb8d4 optimizers/MIAdam{1,2,3}.py (spec optimizers.md §12.2).
/// Notation: α→lr, β1,β2→betas, κ→kappa, n→order, m̄^(j)→buf[j−1], ζ→switch_epoch/switch_step.
/// Deviations and choices: docs/deviations.md#miadam.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

/// Per-step coefficients, computed in double by the caller and cast to the element type S.
template <class S>
struct MIAdamCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: coupled L2 (official scripts; absent from the paper)
  S kappa;      ///< κ
  S step_size;  ///< α_t/(1−β1^t): α^(n+1) (official) or α^n (Alg. 1 l.11) in the MI phase, α after
  S sqrt_bc2;   ///< √(1−β2^t), for √v̂+ε written as √v/√(1−β2^t)+ε (torch form, Alg. 1 l.17–18)
  S bc2;        ///< 1−β2^t, for √(v̂+ε) (Eq. 6)
  bool has_weight_decay, amsgrad, eps_inside_sqrt, mi_phase;
};

/// The chain of n κ-accumulators (Alg. 1 l.7–10; the discrete multiple integral of Eq. (11)):
/// m̄^(0)_t = x_t, m̄^(j)_t = κ m̄^(j)_{t−1} + m̄^(j−1)_t for j = 1..n, in order; returns m̄^(n)_t.
/// `buf` holds m̄^(1..n). MIAdam feeds x = m_t; the fig1_filtering target feeds a trajectory coordinate.
/// Its response: theory::miadam_buffer_gain (constant input) and theory::miadam_transfer_gain (frequency).
template <int K, class V, class S>
inline V miadam_accumulate(V* buf, V x, int order, S kappa) {
  V prev = x;
  const int n = K >= 0 ? K : order;
  for (int j = 0; j < n; ++j) {
    buf[j] = buf[j] * kappa + prev;
    prev = buf[j];
  }
  return prev;
}

/// One MIAdam step for one element (scalar V) or one tensor (V = torch::Tensor).
/// `buf` holds the n κ-accumulators m̄^(1..n); untouched after the switch (frozen, as the official code).
/// K is the order n when known at compile time, or -1 to use `order`.
template <int K, class V, class S>
inline void miadam_update(V& theta, V g, V& m, V& v, V* v_max, V* buf, int order,
                          const MIAdamCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.has_weight_decay) g = g + theta * c.weight_decay;   // official: grad.add(param, alpha=wd)
  m = m * c.beta1 + g * c.one_minus_beta1;                   // Alg.1 l.4, Eq.(5a): m_t = β1 m_{t−1} + (1−β1) g_t
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;             // Alg.1 l.5, Eq.(5b): v_t = β2 v_{t−1} + (1−β2) g_t²
  V v_used = v;
  if (c.amsgrad) {                                           // official amsgrad: max of the raw v
    *v_max = O::max(*v_max, v);
    v_used = *v_max;
  }
  const V denom = c.eps_inside_sqrt ? O::sqrt(v_used / c.bc2 + c.eps)      // Eq.(6): √(v̂_t + ε)
                                    : O::sqrt(v_used) / c.sqrt_bc2 + c.eps;  // Alg.1 l.17–18: √v̂_t + ε
  if (c.mi_phase) {                                          // Alg.1 l.6: MI phase (t < ζ, or epoch < switch_epoch)
    const V prev = miadam_accumulate<K>(buf, m, order, c.kappa);  // l.7–10: m̄^(0)_t ← m_t; m̄^(j)_t ← κ m̄^(j)_{t−1} + m̄^(j−1)_t
    theta = theta - (prev * c.step_size) / denom;            // l.11–12, 18: θ_t ← θ_{t−1} − α_t m̄^(n)_t/(1−β1^t)/denom
  } else {
    theta = theta - (m * c.step_size) / denom;               // l.14–15, 18: θ_t ← θ_{t−1} − α m_t/(1−β1^t)/denom
  }
}

}  // namespace flatmin::rules
