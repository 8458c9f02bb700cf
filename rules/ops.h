#pragma once
/// \file
/// Element operations used by the update rules, for scalar element types. The rules are templates
/// over the value type V: a scalar (float/double) in the fused CPU kernels, a torch::Tensor in the
/// device-generic path (see tensor_ops.h). One rule text serves both, so every equation lives once.
#include <algorithm>
#include <cmath>

namespace flatmin::rules {

template <class V>
struct Ops;  // specialisations: float, double (here), torch::Tensor (tensor_ops.h)

template <class T>
struct ScalarOps {
  static T sqrt(T x) { return std::sqrt(x); }
  static T max(T a, T b) { return std::max(a, b); }  // torch.maximum: NaN handling not needed for max(v_max, v) with v ≥ 0
  static T abs(T x) { return std::abs(x); }
  /// torch.clamp(x, lo, hi): a NaN x stays NaN (max(x, lo) returns x when unordered, as does min(·, hi)).
  static T clamp(T x, T lo, T hi) { return std::min(std::max(x, lo), hi); }
  static T pow(T x, T e) { return std::pow(x, e); }
};
template <>
struct Ops<float> : ScalarOps<float> {};
template <>
struct Ops<double> : ScalarOps<double> {};

}  // namespace flatmin::rules
