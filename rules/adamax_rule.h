#pragma once
/// \file
/// Adamax update rule — the one place its equations live. Kingma & Ba (ICLR 2015), Algorithm 2,
/// as implemented by torch.optim.Adamax [read from Debian's python3-torch 1.13.1,
/// `_single_tensor_adamax`] (spec optimizers.md §6): ε inside the max, only m bias-corrected.
/// Deviations and choices: docs/deviations.md#adamax.
#include "rules/ops.h"

namespace flatmin::rules {

template <class S>
struct AdamaxCoeffs {
  S beta1, one_minus_beta1, beta2;
  S eps;
  S weight_decay;  ///< coupled L2 (torch)
  S neg_clr;       ///< −lr/(1−β1^t), in double as torch's `clr = lr / bias_correction`
  bool coupled_wd;
};

/// One Adamax step for one element (scalar V) or one tensor (V = torch::Tensor).
template <class V, class S>
inline void adamax_update(V& theta, V g, V& m, V& u, const AdamaxCoeffs<S>& c) {
  using O = Ops<V>;
  if (c.coupled_wd) g = g + theta * c.weight_decay;   // grad = grad.add(param, alpha=wd)
  m = m * c.beta1 + g * c.one_minus_beta1;            // exp_avg.mul_(β1).add_(grad, alpha=1−β1)
  u = O::max(u * c.beta2, O::abs(g) + c.eps);         // exp_inf = amax([exp_inf·β2, |g|+ε])  (Alg. 2: u = max(β2 u, |g|))
  theta = theta + (m * c.neg_clr) / u;                // param.addcdiv_(exp_avg, exp_inf, value=−lr/(1−β1^t))
}

}  // namespace flatmin::rules
