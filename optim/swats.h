#pragma once
/// \file
/// SWATS: Adam that switches to SGD (with momentum) once the projected SGD learning rate settles.
/// Keskar & Socher (2017, arXiv 1712.07628). Default semantics = the official code the MIAdam paper
/// used (Mrpatekful/swats@8aef788 swats/optim.py, spec optimizers.md §9):
///  * Adam phase with efficient-form ε; per tensor p = −lr·√(1−β2^t)/(1−β1^t)·m/(√v+ε),
///    γ = pᵀp/(−pᵀg) (pᵀg over that tensor only), λ ← β2 λ + (1−β2) γ, Λ = λ/(1−β2^t);
///  * the switch is GROUP-wide: the first tensor with t > 1, |Λ−γ| ≤ 1e-8 + 1e-6·|γ| (torch
///    allclose, rtol 1e-6) and Λ > 0 sets the group's phase to SGD and the group's lr to Λ; the
///    tensors after it in the same step() already take SGD steps;
///  * the official SGD-phase momentum: buf = g at the first SGD step (update (1−β1)Λ g), then
///    buf ← (1−β1)(β1 buf + g) (an in-place multiply on the buffer), update Λ·buf; nesterov as the
///    official code; coupled L2 in both phases.
/// fix_sgd_momentum = true gives the paper's SGD phase: v ← β1 v + g (v = 0 at the switch),
/// θ −= (1−β1)·Λ·v. p.grad() is never modified (the official code adds the L2 term in place).
/// The phase and Λ (= the group's lr after the switch) are group options, saved with checkpoints.
/// Rules: optim/rules/swats_rule.h. Choices: docs/deviations.md#swats.
///
/// | option           | symbol | constraint  | default | source of the default                   |
/// |------------------|--------|-------------|---------|-----------------------------------------|
/// | lr               | α (Λ after the switch) | ≥ 0 | 1e-3 | official constructor                |
/// | betas            | β1, β2 | [0, 1)      | .9,.999 | official constructor                    |
/// | eps              | ε      | ≥ 0         | 1e-8    | official constructor                    |
/// | weight_decay     | —      | ≥ 0 (L2)    | 0       | official constructor (MIAdam scripts: 5e-4) |
/// | amsgrad          | —      |             | false   | official constructor                    |
/// | nesterov         | —      |             | false   | official constructor                    |
/// | fix_sgd_momentum | —      | false: official buffer; true: paper Alg. 1 | false | official code |
/// | phase            | —      | adam / sgd  | adam    | official `phase='ADAM'` (set by the switch) |
#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

enum class SwatsPhase : int64_t {
  kAdam = 0,
  kSgd = 1,
};

struct SwatsOptions : public torch::optim::OptimizerCloneableOptions<SwatsOptions> {
  static constexpr const char* kName = "swats";
  SwatsOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, amsgrad) = false;
  TORCH_ARG(bool, nesterov) = false;
  TORCH_ARG(bool, fix_sgd_momentum) = false;
  /// Group phase; the switch sets kSgd and lr = Λ (as the official group['phase'], group['lr']).
  TORCH_ARG(SwatsPhase, phase) = SwatsPhase::kAdam;

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct SwatsParamState : public torch::optim::OptimizerCloneableParamState<SwatsParamState> {
  TORCH_ARG(int64_t, step) = 0;               ///< k (per tensor; counts SGD-phase steps too, as the official)
  TORCH_ARG(torch::Tensor, exp_avg);          ///< m
  TORCH_ARG(torch::Tensor, exp_avg_sq);       ///< a (Adam's v)
  TORCH_ARG(torch::Tensor, max_exp_avg_sq);   ///< amsgrad max (undefined otherwise)
  TORCH_ARG(double, exp_avg2) = 0.0;          ///< λ, the EMA of the projected SGD lr γ (kept in double)
  TORCH_ARG(torch::Tensor, momentum_buffer);  ///< SGD-phase buffer (undefined until the first SGD step)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

/// The official switch test (torch allclose with rtol 1e-6, atol 1e-8, plus k > 1 and Λ > 0).
bool swats_switch_test(int64_t step, double corrected_lambda, double scaling);

class Swats : public OptimizerWith<Swats, SwatsOptions, SwatsParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace flatmin::optim
