#pragma once
/// \file
/// Adamax (Kingma & Ba, ICLR 2015, Algorithm 2: Adam with the infinity norm) as torch.optim.Adamax
/// [read from Debian's python3-torch 1.13.1, `_single_tensor_adamax`] (spec optimizers.md §6):
///   m ← β1 m + (1−β1) g,  u ← max(β2 u, |g| + ε),  θ ← θ − lr/(1−β1^t) · m/u
/// ε sits inside the max (not in a denominator); only m is bias-corrected; weight decay is coupled
/// L2 (g ← g + wd·θ). LibTorch 1.13 has no C++ Adamax. The rule is in optim/rules/adamax_rule.h.
/// Choices: docs/deviations.md#adamax.
///
/// | option       | symbol | constraint | default  | source of the default |
/// |--------------|--------|------------|----------|-----------------------|
/// | lr           | α      | ≥ 0        | 2e-3     | torch.optim.Adamax    |
/// | betas        | β1, β2 | [0, 1)     | .9, .999 | torch.optim.Adamax    |
/// | eps          | ε      | ≥ 0        | 1e-8     | torch.optim.Adamax    |
/// | weight_decay | —      | ≥ 0        | 0        | torch.optim.Adamax    |
#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

struct AdamaxOptions : public torch::optim::OptimizerCloneableOptions<AdamaxOptions> {
  static constexpr const char* kName = "adamax";
  AdamaxOptions(double lr = 2e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct AdamaxParamState : public torch::optim::OptimizerCloneableParamState<AdamaxParamState> {
  TORCH_ARG(int64_t, step) = 0;        ///< t (per tensor)
  TORCH_ARG(torch::Tensor, exp_avg);   ///< m
  TORCH_ARG(torch::Tensor, exp_inf);   ///< u (exponentially weighted infinity norm)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

class Adamax : public OptimizerWith<Adamax, AdamaxOptions, AdamaxParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace flatmin::optim
