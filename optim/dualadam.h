#pragma once
/// \file
/// DualAdam (Adam blended with InvAdam's m̂ ⊙ (√v̂+ε) update, weight r_t = max(0, 1 − t·s) while
/// r_t ≥ s, then Adam) and InvAdam (r ≡ 1). Shi, Chen, Jin, Zhou, arXiv 2603.07122.
/// Default semantics = the official code (LongJin-lab/DualAdam@e40133b): r_t computed in double as
/// written there, decoupled weight decay applied before the update, one step counter for the whole
/// optimizer. The rule is in optim/rules/dualadam_rule.h. Choices: docs/deviations.md#dualadam.
///
/// | option          | symbol | constraint | default | source                                          |
/// |-----------------|--------|------------|---------|-------------------------------------------------|
/// | lr              | η      | ≥ 0        | 1e-3    | official constructor                            |
/// | betas           | β1, β2 | [0, 1)     | .9,.999 | official (beta1, beta2)                         |
/// | eps             | ε      | ≥ 0        | 1e-8    | official (epsilon)                              |
/// | switch_rate     | s      | [0, 1]     | 0.01    | official constructor (training script: 8e-5)    |
/// | weight_decay    | —      | ≥ 0        | 0       | official constructor                            |
/// | weight_decouple | —      |            | true    | official: θ ← θ − lr·wd·θ; false = port's L2    |
/// | step_counter    | t      | global / per_group | global | official: one counter; per_group = port |
/// | fixed_r         | r      | NaN (schedule) or [0,1] | NaN | flatmin: constant blend, no cut-off; InvAdam = 1 |
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

enum class StepCounter : int64_t {
  kGlobal = 0,    ///< official: one counter incremented once per step() call
  kPerGroup = 1,  ///< kozistr/pytorch_optimizer port: group['step']
};

struct DualAdamOptions : public torch::optim::OptimizerCloneableOptions<DualAdamOptions> {
  static constexpr const char* kName = "dualadam";
  DualAdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, switch_rate) = 0.01;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, weight_decouple) = true;
  TORCH_ARG(StepCounter, step_counter) = StepCounter::kGlobal;
  TORCH_ARG(double, fixed_r) = std::numeric_limits<double>::quiet_NaN();

 public:
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct DualAdamParamState : public torch::optim::OptimizerCloneableParamState<DualAdamParamState> {
  TORCH_ARG(torch::Tensor, m);
  TORCH_ARG(torch::Tensor, v);

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  void adopt(const torch::Tensor& p);
};

/// Blend weight of the official code: r_t = max(0, 1 − t·s), computed in double exactly so
/// (with s = 0.2 the blend ends at t = 3, not 4, by rounding — as in the official code).
double dualadam_r(int64_t t, double switch_rate);

class DualAdam : public OptimizerWith<DualAdam, DualAdamOptions, DualAdamParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;

  int64_t global_step() const { return global_step_; }

 protected:
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  int64_t global_step_ = 0;
  std::vector<int64_t> group_steps_;
};

}  // namespace flatmin::optim
