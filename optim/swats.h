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
/// Rules: rules/swats_rule.h. Choices: docs/deviations.md#swats.

#include <cstdint>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"
#include "optim/options_schema.h"
#include "optim/param_state.h"

namespace flatmin::optim {

enum class SwatsPhase : int64_t {
  kAdam = 0,
  kSgd = 1,
};

FLATMIN_ENUM_NAMES(SwatsPhase, {"adam", SwatsPhase::kAdam}, {"sgd", SwatsPhase::kSgd})

#define FLATMIN_SWATS_FIELDS(X)                                                                      \
  X(double, lr, 1e-3, at_least(0), "official constructor", "learning rate (Adam phase)")             \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official constructor", "β1, β2")             \
  X(double, eps, 1e-8, at_least(0), "official constructor", "ε")                                     \
  X(double, weight_decay, 0.0, at_least(0), "official constructor", "coupled L2")                    \
  X(bool, amsgrad, false, any(), "official constructor", "AMSGrad: max of v")                        \
  X(bool, nesterov, false, any(), "official constructor", "Nesterov momentum in the SGD phase")      \
  X(bool, fix_sgd_momentum, false, any(), "flatmin", "true: the SGD phase's momentum as the paper (not the official code)") \
  X(SwatsPhase, phase, SwatsPhase::kAdam, any(), "internal", "group phase; the switch sets sgd and lr = Λ")

struct SwatsOptions : OptionsBase<SwatsOptions> {
  FLATMIN_OPTIONS(SwatsOptions, "swats", FLATMIN_SWATS_FIELDS)
};

#define FLATMIN_SWATS_STATE(X)                                                                         \
  X(int64_t, step, as_is)                     /* k (per tensor; counts SGD-phase steps too, as the official) */ \
  X(torch::Tensor, exp_avg, like_param)         /* m */                                                     \
  X(torch::Tensor, exp_avg_sq, like_param)      /* a (Adam's v) */                                          \
  X(torch::Tensor, max_exp_avg_sq, like_param)  /* amsgrad max (undefined otherwise) */                     \
  X(double, exp_avg2, as_is)                    /* λ, the EMA of the projected SGD lr γ (kept in double) */ \
  X(torch::Tensor, momentum_buffer, like_param) /* SGD-phase buffer (undefined until the first SGD step) */

struct SwatsParamState : public torch::optim::OptimizerCloneableParamState<SwatsParamState> {
  FLATMIN_STATE_FIELDS(FLATMIN_SWATS_STATE)
  FLATMIN_STATE_SERIALIZE()
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
