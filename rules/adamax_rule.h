#pragma once
/// \file
/// Adamax update rule — the one place its equations live. Kingma & Ba (ICLR 2015), Algorithm 2,
/// as implemented by torch.optim.Adamax [read from Debian's python3-torch 1.13.1,
/// `_single_tensor_adamax`] (spec optimizers.md §6): ε inside the max, only m bias-corrected.
/// Deviations and choices: docs/deviations.md#adamax.
#include <cmath>
#include <cstdint>
#include <tuple>

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

/// The coefficients of step t (1-based), in double as torch computes them; `O` has lr(), betas(), eps(),
/// weight_decay() (flatmin::optim::AdamaxOptions).
template <class S, class O>
AdamaxCoeffs<S> adamax_coeffs(const O& o, std::int64_t t) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double clr = o.lr() / (1.0 - std::pow(beta1, static_cast<double>(t)));  // clr = lr / bias_correction
  AdamaxCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.eps = static_cast<S>(o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.neg_clr = static_cast<S>(-clr);
  c.coupled_wd = o.weight_decay() != 0.0;
  return c;
}

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
