#pragma once
/// \file
/// Adam+CM ("critical momenta", registry name `adam_cm`; Malviya et al., TMLR 2024, arXiv
/// 2307.09638) and Adam+CG ("critical gradients", `adam_cg`; McRae et al., arXiv 2106.10708).
/// Default semantics = the official code, chandar-lab/CMOptimizer@bdc7731 cmoptimizer/optim.py
/// (Adam_CM, Adam_C) and prioritydict.py (TensorList); spec optimizers.md §11. The element-wise
/// rules are in optim/rules/adam_cm_rule.h. Choices: docs/deviations.md#adamcm--adamcg.
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
///
/// | option        | constraint           | default (CM / CG) | source                                        |
/// |---------------|----------------------|-------------------|-----------------------------------------------|
/// | lr            | ≥ 0                  | 1e-3              | official constructors                         |
/// | betas         | [0, 1)               | (0.9, 0.999)      | official constructors                         |
/// | eps           | ≥ 0                  | 1e-8              | official constructors                         |
/// | weight_decay  | ≥ 0                  | 0                 | official; CM decoupled θ←θ(1−lr·wd), CG coupled L2 added after aggregation |
/// | amsgrad       |                      | false             | official constructors                         |
/// | decay         | [0, 1]               | 0.7               | official (priority decay per step)            |
/// | topC          | ≥ 1                  | 5 / 10            | official (buffer capacity)                    |
/// | critical_test | [0, 1]               | 0                 | official (probability of the "FIFO" mode)     |
/// | synced        |                      | true              | official (group-summed priority)              |
/// | kappa         | > 0 (an on/off switch; 0 rejected) | 1.0 | official; any value > 0 = "on"          |
/// | seed          | ≥ 0                  | 0                 | flatmin: seed of the per-group generator of the FIFO-mode draws (official: global numpy RNG) |
///
/// FIFO-mode slot (official TensorList.smallest): the index remembered by the last
/// poke_smallest() call — made only in priority mode on a full buffer, whether or not that step
/// replaced anything — and 0 if priority mode never ran on this tensor's buffer. It is NOT the
/// oldest entry: with critical_test = 1 slot 0 is overwritten at every step.
/// topC and decay are fixed per tensor when its buffer is created (as TensorList.set_hyper):
/// changing them in a group's options later affects only tensors that have no state yet.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

/// Which official class: Adam_CM (critical momenta) or Adam_C (critical gradients).
enum class CriticalKind : int { kMomenta = 0, kGradients = 1 };

template <CriticalKind K>
struct AdamCriticalOptions : public torch::optim::OptimizerCloneableOptions<AdamCriticalOptions<K>> {
  static constexpr const char* kName = K == CriticalKind::kMomenta ? "adam_cm" : "adam_cg";
  static constexpr int64_t kDefaultTopC = K == CriticalKind::kMomenta ? 5 : 10;  // Adam_CM / Adam_C constructors
  AdamCriticalOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: one-double constructor required by LibTorch
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, amsgrad) = false;
  TORCH_ARG(double, decay) = 0.7;
  TORCH_ARG(int64_t, topC) = kDefaultTopC;
  TORCH_ARG(double, critical_test) = 0.0;
  TORCH_ARG(bool, synced) = true;
  TORCH_ARG(double, kappa) = 1.0;
  TORCH_ARG(int64_t, seed) = 0;

 public:
  /// Throws flatmin::common::InputError naming the option and the violated constraint.
  void validate() const;
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

using AdamCMOptions = AdamCriticalOptions<CriticalKind::kMomenta>;
using AdamCGOptions = AdamCriticalOptions<CriticalKind::kGradients>;

/// Per-tensor state: Adam moments and the critical buffer (official TensorList).
struct AdamCriticalParamState : public torch::optim::OptimizerCloneableParamState<AdamCriticalParamState> {
  TORCH_ARG(int64_t, step) = 0;                  ///< t (counts the initialisation step too, as the official code)
  TORCH_ARG(torch::Tensor, exp_avg);             ///< m_t (CM: stays 0 at the first step)
  TORCH_ARG(torch::Tensor, exp_avg_sq);          ///< v_t
  TORCH_ARG(torch::Tensor, max_exp_avg_sq);      ///< amsgrad max of v (undefined otherwise)
  TORCH_ARG(std::vector<torch::Tensor>, items);  ///< buffer items (TensorList._heap[0..curr_k)), ≤ capacity
  TORCH_ARG(std::vector<double>, keys);          ///< their priorities (_heap_key), decayed every step
  TORCH_ARG(torch::Tensor, aggr_sum);            ///< running sum of the items, kept incrementally (aggr_sum)
  TORCH_ARG(int64_t, smallest) = 0;              ///< index of the last poke_smallest() (FIFO-mode slot)
  TORCH_ARG(int64_t, capacity) = 0;              ///< K = topC at buffer creation (TensorList.k)
  TORCH_ARG(double, decay) = 0.0;                ///< decay at buffer creation (TensorList.decay_rate)

 public:
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
