#pragma once
/// \file
/// NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam"), in two forms:
///  * `nadam` = torch.optim.NAdam of torch ≥ 2.0 (spec optimizers.md §5.1): μ_t = β1(1 − ½·0.96^(tψ)),
///    Π_t = Π_{t−1}μ_t, θ −= lr(1−μ_t)/(1−Π_t)·g/d + lr·μ_{t+1}/(1−Π_tμ_{t+1})·m/d with
///    d = √(v/(1−β2^t)) + ε; m by lerp; coupled L2 or decoupled weight decay (torch ≥ 2.1 NAdamW).
///    `torch113_mu_product_bug: true` reproduces torch 1.13's single-tensor path, which used
///    Π_tμ_tμ_{t+1} in the second coefficient (μ_t twice; fixed by pytorch/pytorch PR #92699).
///  * `nadam_keras` = the MIAdam repository's `Nadam` (Keras-style port, spec §5.2; the paper's
///    "NAdam" baseline): m̄ = (1−μ_t)·g/(1−Π_t) + μ_{t+1}·m/(1−Π_tμ_{t+1}), θ −= lr·m̄/d; ψ is
///    called schedule_decay; no weight decay. Same mathematics as `nadam` with wd = 0, other rounding.
/// Π is kept in double (torch keeps it in a float32 0-dim tensor). The rule is in
/// optim/rules/nadam_rule.h. Choices: docs/deviations.md#nadam.
///
/// | option                   | symbol | constraint | default | source of the default                   |
/// |--------------------------|--------|------------|---------|-----------------------------------------|
/// | lr                       | γ      | ≥ 0        | 2e-3    | torch.optim.NAdam; Keras Nadam          |
/// | betas                    | β1, β2 | [0, 1)     | .9,.999 | torch / Keras                           |
/// | eps                      | ε      | ≥ 0        | 1e-8    | torch / Keras port                      |
/// | weight_decay             | λ      | ≥ 0 (0 for keras form) | 0 | torch (coupled L2)               |
/// | momentum_decay           | ψ      | ≥ 0        | 4e-3    | torch (`schedule_decay` in the Keras form) |
/// | decoupled_weight_decay   | —      |            | false   | torch ≥ 2.1                             |
/// | torch113_mu_product_bug  | —      |            | false   | flatmin (true = torch 1.13 single-tensor) |
/// | form                     | —      | torch / keras | torch | registry name                          |
#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

enum class NAdamVariant : int64_t {
  kTorch = 0,  ///< torch.optim.NAdam (torch ≥ 2.0)
  kKeras = 1,  ///< MIAdam repo's Keras-style Nadam
};

struct NAdamOptions : public torch::optim::OptimizerCloneableOptions<NAdamOptions> {
  static constexpr const char* kName = "nadam";
  NAdamOptions(double lr = 2e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(double, momentum_decay) = 4e-3;
  TORCH_ARG(bool, decoupled_weight_decay) = false;
  TORCH_ARG(bool, torch113_mu_product_bug) = false;
  TORCH_ARG(NAdamVariant, form) = NAdamVariant::kTorch;

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct NAdamParamState : public torch::optim::OptimizerCloneableParamState<NAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;          ///< t (per tensor)
  TORCH_ARG(double, mu_product) = 1.0;   ///< Π_t = μ_1⋯μ_t
  TORCH_ARG(torch::Tensor, exp_avg);     ///< m
  TORCH_ARG(torch::Tensor, exp_avg_sq);  ///< v

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

/// Momentum schedule μ_t = β1·(1 − 0.5·0.96^(t·ψ)), in double as Python evaluates it.
double nadam_mu(double beta1, double momentum_decay, int64_t t);

class NAdam : public OptimizerWith<NAdam, NAdamOptions, NAdamParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace flatmin::optim
