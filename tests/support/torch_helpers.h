#pragma once
/// \file
/// Test helpers that drive a LibTorch optimizer on float64 scalars with a gradient function.
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "optim/optimizer_base.h"

namespace flatmin::test {

using GradFn = std::function<double(int64_t, size_t, double)>;

/// A smooth pseudo-random gradient with a restoring term: exercises sign changes and θ-dependence.
inline double wiggly_grad(int64_t t, size_t i, double theta) {
  return std::sin(1.3 * double(t) + 0.7 * double(i)) * (1.0 + 0.1 * double(i)) + 0.5 * theta;
}

/// Scalars as separate 1-element float64 tensors.
inline std::vector<torch::Tensor> scalars(const std::vector<double>& x) {
  std::vector<torch::Tensor> out;
  for (double xi : x) out.push_back(torch::full({1}, xi, torch::kFloat64));
  return out;
}

inline std::vector<double> values(const std::vector<torch::Tensor>& ps) {
  std::vector<double> out;
  for (const auto& p : ps) {
    auto c = p.detach().to(torch::kFloat64).contiguous();
    out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
  return out;
}

/// Runs steps t0+1..t0+steps; `ps` are scalars indexed in order for grad(t, i, θ_i).
inline std::vector<std::vector<double>> drive(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& ps,
                                              int64_t steps, int64_t spe, const GradFn& grad, int64_t t0 = 0) {
  std::vector<std::vector<double>> out{values(ps)};
  for (int64_t t = t0 + 1; t <= t0 + steps; ++t) {
    optim::set_epoch(opt, 1 + (t - 1) / spe);
    for (size_t i = 0; i < ps.size(); ++i) {
      const double th = ps[i].data_ptr<double>()[0];
      ps[i].mutable_grad() = torch::full({1}, grad(t, i, th), torch::kFloat64);
    }
    opt.step();
    out.push_back(values(ps));
  }
  return out;
}

}  // namespace flatmin::test
