#pragma once
/// \file
/// AdaBound / AMSBound / AdaBoundW update rule — the one place its equations live.
/// Luo, Xiong, Liu, Sun (ICLR 2019, "Adaptive Gradient Methods with Dynamic Bound of Learning
/// Rate"); official code Luolc/AdaBound@2e928c3 adabound/adabound.py, classes AdaBound and
/// AdaBoundW (spec optimizers.md §8). The code's rule (constant β1, bias correction, efficient-form
/// ε, no 1/√t factor, no projection) is the default. Deviations: docs/deviations.md#adabound.
/// Notation: α→lr, η_l(t), η_u(t)→lower, upper, γ→gamma, α*→final_lr.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

/// Per-step coefficients, computed in double by the caller (adabound_coeffs) and cast to S.
template <class S>
struct AdaBoundCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: coupled L2 (AdaBound/AMSBound) or decoupled, not lr-scaled (AdaBoundW)
  S step_size;     ///< lr·√(1−β2^t)/(1−β1^t)
  S lower, upper;  ///< η_l(t), η_u(t): final·(1 − 1/(γt+1)), final·(1 + 1/(γt)), final = final_lr·lr/base_lr
  bool coupled_wd, decoupled_wd, amsbound;
};

/// One AdaBound step for one element (scalar V) or one tensor (V = torch::Tensor).
template <class V, class S>
inline void adabound_update(V& theta, V g, V& m, V& v, V* v_max, const AdaBoundCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.coupled_wd) g = g + theta * c.weight_decay;         // adabound.py AdaBound: grad = grad.add(wd, p.data)
  m = m * c.beta1 + g * c.one_minus_beta1;                   // exp_avg.mul_(beta1).add_(1 - beta1, grad)
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;             // exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
  V v_used = v;
  if (c.amsbound) {                                          // AMSBound: torch.max(max_exp_avg_sq, exp_avg_sq, out=…)
    *v_max = O::max(*v_max, v);
    v_used = *v_max;
  }
  const V denom = O::sqrt(v_used) + c.eps;                   // denom = exp_avg_sq.sqrt().add_(eps)  (efficient form, §1)
  const V eta = O::clamp(c.step_size / denom, c.lower, c.upper);  // full_like(denom, step_size).div_(denom).clamp_(lower, upper)
  const V update = eta * m;                                  // .mul_(exp_avg)
  const V theta_old = theta;
  theta = theta - update;                                    // p.data.add_(-step_size)
  if (c.decoupled_wd) theta = theta - theta_old * c.weight_decay;  // AdaBoundW: p.sub_(p_old·wd) after the step, no lr
}

}  // namespace flatmin::rules
