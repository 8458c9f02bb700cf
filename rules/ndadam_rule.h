#pragma once
/// \file
/// ND-Adam update rule — the one place its equations live.
/// Zhang (2017/2018, "Normalized Direction-preserving Adam", arXiv 1709.04546); official PyTorch
/// port zj10/ND-Adam@b4a9d59 pytorch/ndadam.py (spec optimizers.md §7): efficient-form ε, coupled
/// L2, and for "vector" tensors (a group with vec_axes) the per-vector rule
///   ḡ ← g + wd·w;  g ← ḡ − (ḡ·w) w;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2)‖g‖²  (one v per vector);
///   w̄ ← w − lr·√(1−β2^t)/(1−β1^t) · m/(√v + ε);  w ← w̄/‖w̄‖.
/// The sums over vec_axes (ḡ·w, ‖g‖², ‖w̄‖²) are done by the caller (optim/ndadam.cpp) with torch
/// reductions in double; the elementwise stages between them are here, written for a scalar V (the
/// fused CPU kernel of the plain branch) or V = torch::Tensor (per-vector factors broadcast).
/// Deviations: docs/deviations.md#ndadam.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

template <class S>
struct NDAdamCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: coupled L2 (scalar and vector tensors alike, as the port)
  S neg_step_size;  ///< −lr·√(1−β2^t)/(1−β1^t)
  bool has_wd;
};

/// ḡ = g + wd·w.  ndadam.py: grad = grad.add(weight_decay, p.data)
template <class V, class S>
inline V ndadam_l2(const V& theta, V g, const NDAdamCoeffs<S>& c) {
  if (c.has_wd) g = g + theta * c.weight_decay;
  return g;
}

/// Vector branch, radial projection: g − (ḡ·w) w with `radial` = ḡ·w summed over vec_axes.
/// ndadam.py: g_proj = Σ_vec_axes grad·p;  grad.add_(-g_proj * p.data)
template <class V, class R>
inline V ndadam_project(const V& g, const V& theta, const R& radial) {
  return g + (-radial) * theta;
}

/// m ← β1 m + (1−β1) g.  ndadam.py: exp_avg.mul_(beta1).add_(1 - beta1, grad)
template <class V, class S>
inline void ndadam_first_moment(V& m, const V& g, const NDAdamCoeffs<S>& c) {
  m = m * c.beta1 + g * c.one_minus_beta1;
}

/// v ← β2 v + (1−β2) s, where s = g² (plain branch, elementwise) or s = ‖g‖² over the vector.
/// ndadam.py: exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad) / .add_(1 - beta2, g_sqr)
template <class V, class S>
inline void ndadam_second_moment_elementwise(V& v, const V& g, const NDAdamCoeffs<S>& c) {
  v = v * c.beta2 + (g * c.one_minus_beta2) * g;
}
template <class V, class S>
inline void ndadam_second_moment_vector(V& v, const V& sq_norm, const NDAdamCoeffs<S>& c) {
  v = v * c.beta2 + sq_norm * c.one_minus_beta2;
}

/// w ← w − step·m/(√v + ε) (efficient-form ε, §1); v is elementwise or one per vector (broadcast).
/// ndadam.py: denom = exp_avg_sq.sqrt().add_(eps); p.data.addcdiv_(-step_size, exp_avg, denom)
template <class V, class W, class S>
inline void ndadam_step(V& theta, const V& m, const W& v, const NDAdamCoeffs<S>& c) {
  using O = Ops<W>;
  const W denom = O::sqrt(v) + c.eps;
  theta = theta + (m * c.neg_step_size) / denom;
}

/// Plain branch (a group without vec_axes): Adam with efficient-form ε and coupled L2, one element
/// or one tensor. This is the "ND-Adam" of the MIAdam baselines (NDAdam(params, lr, betas)).
template <class V, class S>
inline void ndadam_plain_update(V& theta, V g, V& m, V& v, const NDAdamCoeffs<S>& c) {
  g = ndadam_l2(theta, g, c);
  ndadam_first_moment(m, g, c);
  ndadam_second_moment_elementwise(v, g, c);
  ndadam_step(theta, m, v, c);
}

}  // namespace flatmin::rules
