#pragma once
/// \file
/// MIAdam (multiple-integral Adam) of any order n ≥ 1; MIAdam1/2/3 are n = 1, 2, 3.
/// Jin, Nong, Chen, Su (AAAI 2025, arXiv 2412.12473), Algorithm 1, Eqs. (6), (12).
/// Default semantics = the official code (LongJin-lab/MIAdam@ffbb8d4): step multiplier lr^(n+1),
/// ε outside the root, coupled L2 weight decay, bias correction 1/(1−β1^t) on the buffer only,
/// MI phase while epoch < switch_epoch (1-based epochs), buffers frozen after the switch.
/// The update rule itself is in rules/miadam_rule.h. Choices: docs/deviations.md#miadam.

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "common/limits.h"
#include "optim/optimizer_base.h"
#include "optim/options_schema.h"
#include "optim/param_state.h"

namespace flatmin::optim {

/// Exponent of α in the MI phase.
enum class AlphaPower : int64_t {
  kOfficial = 0,    ///< α^(n+1): official code (MIAdamK uses lr^(K+1)); agrees with Eq. (12)
  kAlgorithm1 = 1,  ///< α^n: literal Algorithm 1 line 11
};

FLATMIN_ENUM_NAMES(AlphaPower, {"official", AlphaPower::kOfficial}, {"algorithm1", AlphaPower::kAlgorithm1})

#define FLATMIN_MIADAM_FIELDS(X)                                                                                      \
  X(double, lr, 1e-3, at_least(0), "official constructor, README recipe", "learning rate α")                          \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official constructor", "β1, β2")                              \
  X(double, eps, 1e-8, at_least(0), "official constructor", "ε")                                                      \
  X(double, weight_decay, 0.0, at_least(0), "official constructor (scripts: 5e-5)", "coupled L2: g ← g + wd·θ")       \
  X(bool, amsgrad, false, any(), "official constructor", "AMSGrad: max of the raw v")                                 \
  X(double, kappa, 0.98, left_open(0, 1, "(Theorem 2)"), "official README (-kappa 0.98)", "κ: decay of the κ-accumulators") \
  X(int64_t, order, 1, closed(1, common::limits::kOrder), "class MIAdam1", "n: number of nested κ-accumulators (MIAdam1/2/3)")             \
  X(int64_t, switch_epoch, 20, at_least(0), "official README (--sub_epoch 20)", "ζ: MI phase while epoch < ζ (1-based)") \
  X(int64_t, switch_step, -1, at_least(-1), "Algorithm 1 l.6 reading", "ζ in steps: MI phase while t < ζ (-1: use switch_epoch)") \
  X(AlphaPower, alpha_power, AlphaPower::kOfficial, any(), "official code vs Alg. 1 l.11", "official: α^(n+1); algorithm1: α^n") \
  X(bool, eps_inside_sqrt, false, any(), "code/Alg. 1 vs Eq. (6)", "false: √v̂ + ε; true: √(v̂ + ε)")

struct MIAdamOptions : OptionsBase<MIAdamOptions> {
  FLATMIN_OPTIONS(MIAdamOptions, "miadam", FLATMIN_MIADAM_FIELDS)
};

#define FLATMIN_MIADAM_STATE(X)                                                        \
  X(int64_t, step, as_is)                        /* t (per tensor, counts all steps) */       \
  X(torch::Tensor, exp_avg, like_param)          /* m_t */                                    \
  X(torch::Tensor, exp_avg_sq, like_param)       /* v_t */                                    \
  X(torch::Tensor, max_exp_avg_sq, like_param)   /* amsgrad max of v (undefined otherwise) */

struct MIAdamParamState : public torch::optim::OptimizerCloneableParamState<MIAdamParamState> {
  FLATMIN_STATE_FIELDS(FLATMIN_MIADAM_STATE)
  TORCH_ARG(std::vector<torch::Tensor>, bufs);  ///< m̄^(1..n): κ-accumulators (created at the first MI step)

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// Moves loaded tensors to p's device and checks shapes/dtypes (InputError on mismatch).
  void adopt(const torch::Tensor& p);
};

class MIAdam : public OptimizerWith<MIAdam, MIAdamOptions, MIAdamParamState> {
 public:
  using OptimizerWith::OptimizerWith;

  torch::Tensor step(LossClosure closure = nullptr) override;

  /// Whether a tensor at per-tensor step t (1-based) takes the MI branch under `options`.
  bool in_mi_phase(const MIAdamOptions& options, int64_t t) const;
};

}  // namespace flatmin::optim
