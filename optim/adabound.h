#pragma once
/// \file
/// AdaBound, AMSBound and AdaBoundW: Adam whose per-coordinate step size is clipped into
/// [η_l(t), η_u(t)], two bounds that converge to an SGD learning rate final_lr.
/// Luo, Xiong, Liu, Sun (ICLR 2019). Default semantics = the official code
/// (Luolc/AdaBound@2e928c3 adabound/adabound.py, spec optimizers.md §8): constant β1, bias
/// correction, efficient-form ε (denominator √v + ε, step lr·√(1−β2^t)/(1−β1^t)), final_lr scaled by
/// lr/base_lr (base_lr = each group's lr when the optimizer is constructed, so lr schedulers move
/// final_lr too), coupled L2 weight decay (AdaBound/AMSBound) or decoupled weight decay applied
/// after the step and NOT multiplied by lr (AdaBoundW).
/// The update rule is in optim/rules/adabound_rule.h. Choices: docs/deviations.md#adabound.
///
/// | option          | symbol | constraint              | default | source of the default          |
/// |-----------------|--------|-------------------------|---------|--------------------------------|
/// | lr              | α      | ≥ 0, finite             | 1e-3    | official constructor           |
/// | betas           | β1, β2 | [0, 1)                  | .9,.999 | official constructor           |
/// | final_lr        | α*     | ≥ 0, finite             | 0.1     | official constructor           |
/// | gamma           | γ      | [0, 1) (0: no clipping) | 1e-3    | official constructor           |
/// | eps             | ε      | ≥ 0                     | 1e-8    | official constructor           |
/// | weight_decay    | —      | ≥ 0                     | 0       | official constructor (MIAdam scripts: 5e-5) |
/// | amsbound        | —      |                         | false   | official constructor           |
/// | weight_decouple | —      | false: L2 (AdaBound); true: θ −= wd·θ after the step (AdaBoundW) | false | class AdaBound |
/// | base_lr         | —      | unset (NaN) or > 0      | unset → the group's lr at construction | official `self.base_lrs` |
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

struct AdaBoundOptions : public torch::optim::OptimizerCloneableOptions<AdaBoundOptions> {
  static constexpr const char* kName = "adabound";
  AdaBoundOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, final_lr) = 0.1;
  TORCH_ARG(double, gamma) = 1e-3;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, amsbound) = false;
  TORCH_ARG(bool, weight_decouple) = false;
  /// The lr final_lr is relative to. Unset (NaN): filled with the group's lr by the constructor
  /// (a group added later: with its lr at its first step). Saved and restored with checkpoints.
  TORCH_ARG(double, base_lr) = std::numeric_limits<double>::quiet_NaN();

 public:
  /// Throws flatmin::common::InputError naming the option and the violated constraint.
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct AdaBoundParamState : public torch::optim::OptimizerCloneableParamState<AdaBoundParamState> {
  TORCH_ARG(int64_t, step) = 0;              ///< t (per tensor)
  TORCH_ARG(torch::Tensor, exp_avg);         ///< m_t
  TORCH_ARG(torch::Tensor, exp_avg_sq);      ///< v_t
  TORCH_ARG(torch::Tensor, max_exp_avg_sq);  ///< AMSBound max of v (undefined otherwise)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// Moves loaded tensors to p's device and checks shapes/dtypes (InputError on mismatch).
  void adopt(const torch::Tensor& p);
};

/// The bounds (η_l(t), η_u(t)) of the official code at per-tensor step t ≥ 1, in double:
/// final = final_lr·lr/base_lr, lower = final·(1 − 1/(γt+1)), upper = final·(1 + 1/(γt)).
/// γ = 0 gives (0, +inf): no clipping (the official code divides by zero there).
std::pair<double, double> adabound_bounds(const AdaBoundOptions& options, int64_t t);

class AdaBound : public OptimizerWith<AdaBound, AdaBoundOptions, AdaBoundParamState> {
 public:
  using OptimizerWith::OptimizerWith;
  /// Per-group set-up before validation (called by OptimizerWith's constructor).
  static void prepare_group(AdaBoundOptions& o, const std::vector<torch::Tensor>& params, size_t group);

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace flatmin::optim
