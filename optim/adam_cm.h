#pragma once
/// \file
/// Adam+CM ("critical momenta", registry name `adam_cm`; Malviya et al., TMLR 2024, arXiv
/// 2307.09638) and Adam+CG ("critical gradients", `adam_cg`; McRae et al., arXiv 2106.10708).
/// Default semantics = the official code, chandar-lab/CMOptimizer@bdc7731 cmoptimizer/optim.py
/// (Adam_CM, Adam_C) and prioritydict.py (TensorList); spec optimizers.md §11. The element-wise
/// rules are in rules/adam_cm_rule.h. Choices: docs/deviations.md#adamcm--adamcg.
///
/// Each parameter tensor keeps a buffer of at most topC items (CM: momenta, first item the raw
/// gradient; CG: raw gradients) with priorities. Priority of a step = the gradient norm: with
/// `synced` (default) the SUM over the group's tensors of their L2 norms (computed from the raw
/// gradients before any tensor is updated, so every tensor of a group makes the same buffer
/// decisions when critical_test = 0), else the tensor's own L2 norm. The step aggregates
/// x + mean(buffer) (x = m for CM, g for CG) BEFORE inserting this step's item; when the buffer is
/// full the item replaces the minimum-priority entry only if its priority is larger ("priority
/// mode"), or — with probability critical_test — the slot found by the last priority-mode search
/// ("FIFO mode" of the official code: a stale index, see below). All priorities are then multiplied
/// by `decay`.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "common/limits.h"
#include "optim/critical_buffer.h"
#include "optim/optimizer_base.h"
#include "optim/options_schema.h"
#include "optim/param_state.h"

namespace flatmin::optim {

/// Which official class: Adam_CM (critical momenta) or Adam_C (critical gradients).
enum class CriticalKind : int { kMomenta = 0, kGradients = 1 };

#define FLATMIN_ADAM_CRITICAL_FIELDS(X)                                                                               \
  X(double, lr, 1e-3, at_least(0), "official constructor", "learning rate")                                          \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official constructor", "β1, β2")                             \
  X(double, eps, 1e-8, at_least(0), "official constructor", "ε")                                                     \
  X(double, weight_decay, 0.0, at_least(0), "official constructor", "coupled L2")                                    \
  X(bool, amsgrad, false, any(), "official constructor", "AMSGrad: max of v")                                        \
  X(double, decay, 0.7, closed(0, 1), "official constructor", "ageing of the buffer's priorities per step (official intent 0 <= decay < 1; 1 = no ageing)") \
  X(int64_t, topC, kDefaultTopC, closed(1, common::limits::kCriticalBuffer, "(the official code accepts 0, which re-initialises the state at every step)"), "Adam_CM: 5 / Adam_C: 10 (official constructors)", "C: capacity of the critical buffer") \
  X(double, critical_test, 0.0, closed(0, 1), "official constructor", "probability of the FIFO mode once the buffer is full") \
  X(bool, synced, true, any(), "official constructor", "one priority over all tensors (Σ of the tensors' gradient norms)") \
  X(double, kappa, 1.0, above(0, "(kappa only switches the critical buffer on; the official kappa = 0 path is not Adam: use 'adam' or 'adamw')"), "official constructor", "on/off switch of the buffer (> 0)") \
  X(int64_t, seed, 0, at_least(0), "flatmin", "seed of the FIFO-mode draws")

template <CriticalKind K>
struct AdamCriticalOptions : OptionsBase<AdamCriticalOptions<K>> {
  static constexpr int64_t kDefaultTopC = K == CriticalKind::kMomenta ? 5 : 10;  // Adam_CM / Adam_C constructors
  FLATMIN_OPTIONS(AdamCriticalOptions, K == CriticalKind::kMomenta ? "adam_cm" : "adam_cg", FLATMIN_ADAM_CRITICAL_FIELDS)
};

using AdamCMOptions = AdamCriticalOptions<CriticalKind::kMomenta>;
using AdamCGOptions = AdamCriticalOptions<CriticalKind::kGradients>;

/// Per-tensor state: Adam moments and the critical buffer (official TensorList).
#define FLATMIN_ADAM_CRITICAL_STATE(X)                                                                  \
  X(int64_t, step, as_is)                      /* t (counts the initialisation step too, as the official) */ \
  X(torch::Tensor, exp_avg, like_param)        /* m_t (CM: stays 0 at the first step) */                    \
  X(torch::Tensor, exp_avg_sq, like_param)     /* v_t */                                                    \
  X(torch::Tensor, max_exp_avg_sq, like_param) /* amsgrad max of v (undefined otherwise) */

struct AdamCriticalParamState : public torch::optim::OptimizerCloneableParamState<AdamCriticalParamState> {
  FLATMIN_STATE_FIELDS(FLATMIN_ADAM_CRITICAL_STATE)

  CriticalBuffer buffer;  ///< the critical items, their priorities and running sum

  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// Moves loaded tensors to p's device and checks shapes/dtypes and the buffer's consistency.
  void adopt(const torch::Tensor& p);
};

/// The portable uniform draw of the FIFO mode: the top 53 bits of one mt19937_64 output, · 2^−53,
/// so u ∈ [0, 1) and the sequence is the same on every platform and standard library.
double critical_uniform(std::mt19937_64& gen);

template <CriticalKind K>
class AdamCritical : public OptimizerWith<AdamCritical<K>, AdamCriticalOptions<K>, AdamCriticalParamState> {
 public:
  using Options = AdamCriticalOptions<K>;
  using Base = OptimizerWith<AdamCritical<K>, AdamCriticalOptions<K>, AdamCriticalParamState>;
  using Base::Base;
  using LossClosure = torch::optim::Optimizer::LossClosure;

  torch::Tensor step(LossClosure closure = nullptr) override;

  /// State of parameter p (nullptr before its first step); for inspection and tests.
  const AdamCriticalParamState* param_state(const torch::Tensor& p) const;

 protected:
  /// Saves the per-group generators (state text of mt19937_64; empty = not yet created).
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  // Members of the (dependent) base used unqualified in adam_cm.cpp.
  using Base::param_groups_;
  using Base::run_closure;
  using Base::state_;
  /// The group's generator, created from its `seed` option at the first draw.
  std::mt19937_64& generator(size_t group);
  std::vector<std::optional<std::mt19937_64>> generators_;
};

using AdamCM = AdamCritical<CriticalKind::kMomenta>;
using AdamCG = AdamCritical<CriticalKind::kGradients>;

extern template struct AdamCriticalOptions<CriticalKind::kMomenta>;
extern template struct AdamCriticalOptions<CriticalKind::kGradients>;
extern template class AdamCritical<CriticalKind::kMomenta>;
extern template class AdamCritical<CriticalKind::kGradients>;

/// L2 norm of a gradient in double: sqrt(Σ g²) (official: torch.sqrt(torch.sum(torch.square(g)))).
/// CPU contiguous float/double: a fixed-chunk reduction (bit-identical for any thread count);
/// otherwise torch ops in double.
double critical_grad_norm(const torch::Tensor& g);

}  // namespace flatmin::optim
