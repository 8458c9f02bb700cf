#pragma once
/// \file
/// SWATS update rules — the one place their equations live.
/// Keskar & Socher (2017, arXiv 1712.07628, "Improving Generalization Performance by Switching from
/// Adam to SGD"), Algorithm 1; official code Mrpatekful/swats@8aef788 swats/optim.py (the copy the
/// MIAdam paper used; spec optimizers.md §9). The official code's rules are the default; the paper's
/// SGD-phase momentum is the option fix_sgd_momentum. Deviations: docs/deviations.md#swats.
/// Notation: α→lr, Λ→the group's SGD lr (the official code stores it in group['lr']),
/// λ→exp_avg2, γ_k→scaling, v (paper SGD momentum)→momentum_buffer.
/// The per-tensor reductions pᵀp and pᵀg and the switch test live in optim/swats.cpp (they need a
/// whole tensor); everything elementwise is here.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

/// Per-step coefficients, computed in double by the caller and cast to S.
template <class S>
struct SwatsCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: coupled L2 in both phases
  S neg_step_size;   ///< Adam phase: −lr·√(1−β2^t)/(1−β1^t)
  S neg_lr;          ///< SGD phase, official rule: −Λ
  S neg_scaled_lr;   ///< SGD phase, paper rule: −(1−β1)·Λ
  bool has_wd, amsgrad, nesterov;
  bool fix_momentum;  ///< paper SGD rule (v = β1 v + g, x −= (1−β1)Λ v) instead of the official one
  bool first_sgd;     ///< official rule: first SGD step of this tensor (momentum buffer not yet created)
};

/// Adam phase for one element or one tensor. On return `g` is the gradient with the L2 term and
/// `p` the update (θ_new = θ_old + p), both needed by the switch test (pᵀg, pᵀp).
template <class V, class S>
inline void swats_adam_update(V& theta, V& g, V& m, V& v, V* v_max, V& p, const SwatsCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.has_wd) g = g + theta * c.weight_decay;             // optim.py: grad.add_(wd, w.data) (in place on w.grad there)
  m = m * c.beta1 + g * c.one_minus_beta1;                   // exp_avg.mul_(beta1).add_(1 - beta1, grad)
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;             // exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
  V v_used = v;
  if (c.amsgrad) {                                           // torch.max(max_exp_avg_sq, exp_avg_sq, out=…)
    *v_max = O::max(*v_max, v);
    v_used = *v_max;
  }
  const V denom = O::sqrt(v_used) + c.eps;                   // denom = exp_avg_sq.sqrt().add_(eps)  (efficient form, §1)
  p = (m / denom) * c.neg_step_size;                         // p = -step_size * (exp_avg / denom); Alg. 1: p_k = −α_k·m̂/(√â+ε)
  theta = theta + p;                                         // w.data.add_(p)
}

/// SGD phase for one element or one tensor; `buf` is the momentum buffer.
template <class V, class S>
inline void swats_sgd_update(V& theta, V g, V& buf, const SwatsCoeffs<S>& c) {
  if (c.has_wd) g = g + theta * c.weight_decay;             // grad.add_(wd, w.data)
  if (c.fix_momentum) {
    // Paper Alg. 1 SGD branch: v_k = β1 v_{k−1} + g_k (v = 0 at the switch), x_k = x_{k−1} − (1−β1)Λ v_k.
    buf = buf * c.beta1 + g;
    // nesterov (not in the paper): torch.optim.SGD's look-ahead d = g + β1 v, same (1−β1)Λ scale.
    const V d = c.nesterov ? g + buf * c.beta1 : buf;
    theta = theta + d * c.neg_scaled_lr;
    return;
  }
  V d = g;
  if (c.first_sgd) {
    buf = g;                                                 // buf = state['momentum_buffer'] = torch.clone(grad)
    d = g * c.one_minus_beta1;                               // grad.mul_(1 - beta1)   (on grad, not on buf)
    if (c.nesterov) d = d + buf * c.beta1;                   // grad.add_(beta1, buf)
  } else {
    buf = buf * c.beta1 + g;                                 // buf.mul_(beta1).add_(grad); grad = buf
    buf = buf * c.one_minus_beta1;                           // grad.mul_(1 - beta1): in place ON buf (spec §9)
    if (c.nesterov) buf = buf + buf * c.beta1;               // grad.add_(beta1, buf): in place on buf, = (1+β1)·buf
    d = buf;
  }
  theta = theta + d * c.neg_lr;                              // w.data.add_(-group['lr'], grad)
}

}  // namespace flatmin::rules
