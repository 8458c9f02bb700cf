#pragma once
/// \file
/// Ops<torch::Tensor>: the tensor-op instantiation of the update rules (CUDA, non-contiguous,
/// other dtypes). Each rule statement becomes one out-of-place tensor op.
#include <torch/torch.h>

#include "rules/ops.h"

namespace flatmin::rules {

template <>
struct Ops<torch::Tensor> {
  static torch::Tensor sqrt(const torch::Tensor& x) { return x.sqrt(); }
  static torch::Tensor max(const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); }
  static torch::Tensor abs(const torch::Tensor& x) { return x.abs(); }
  template <class S>
  static torch::Tensor clamp(const torch::Tensor& x, S lo, S hi) { return x.clamp(lo, hi); }
  template <class S>
  static torch::Tensor pow(const torch::Tensor& x, S e) { return x.pow(e); }
};

}  // namespace flatmin::rules
