#pragma once
/// \file
/// Ops<torch::Tensor>: the tensor-op instantiation of the update rules (CUDA, non-contiguous,
/// other dtypes). Each rule statement becomes one out-of-place tensor op.
#include <torch/torch.h>

#include "optim/rules/ops.h"

namespace flatmin::optim::rules {

template <>
struct Ops<torch::Tensor> {
  static torch::Tensor sqrt(const torch::Tensor& x) { return x.sqrt(); }
  static torch::Tensor max(const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); }
  template <class S>
  static torch::Tensor clamp(const torch::Tensor& x, S lo, S hi) { return torch::clamp(x, lo, hi); }
};

}  // namespace flatmin::optim::rules
