#pragma once
/// \file
/// DualAdam (Adam blended with InvAdam's m̂ ⊙ (√v̂+ε) update, weight r_t = max(0, 1 − t·s) while
/// r_t ≥ s, then Adam) and InvAdam (r ≡ 1). Shi, Chen, Jin, Zhou, arXiv 2603.07122.
/// Default semantics = the official code (LongJin-lab/DualAdam@e40133b): r_t computed in double as
/// written there, decoupled weight decay applied before the update, one step counter for the whole
/// optimizer. The rule is in rules/dualadam_rule.h. Choices: docs/deviations.md#dualadam.
#include "optim/elementwise.h"
#include "optim/options_schema.h"
#include "rules/dualadam_rule.h"

namespace flatmin::optim {

enum class StepCounter : int64_t {
  kGlobal = 0,    ///< official: one counter incremented once per step() call
  kPerGroup = 1,  ///< kozistr/pytorch_optimizer port: group['step']
};
FLATMIN_ENUM_NAMES(StepCounter, {"global", StepCounter::kGlobal}, {"per_group", StepCounter::kPerGroup})

#define FLATMIN_DUALADAM_FIELDS(X)                                                                                 \
  X(double, lr, 1e-3, at_least(0), "official constructor", "learning rate η")                                      \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "official (beta1, beta2)", "β1, β2")                        \
  X(double, eps, 1e-8, at_least(0), "official (epsilon)", "ε")                                                     \
  X(double, switch_rate, 0.01, closed(0, 1), "official constructor (training script: 8e-5)", "s: r_t = max(0, 1 − t·s), blend while r_t ≥ s") \
  X(double, weight_decay, 0.0, at_least(0), "official constructor", "weight decay")                                \
  X(bool, weight_decouple, true, any(), "official: θ ← θ − lr·wd·θ", "false = the pytorch_optimizer port's coupled L2") \
  X(StepCounter, step_counter, StepCounter::kGlobal, any(), "official: one counter", "global or per_group (port)") \
  X(std::optional<double>, fixed_r, std::nullopt, closed(0, 1), "flatmin", "constant blend r, no cut-off (null = the schedule; InvAdam = 1)")

struct DualAdamOptions : OptionsBase<DualAdamOptions> {
  FLATMIN_OPTIONS(DualAdamOptions, "dualadam", FLATMIN_DUALADAM_FIELDS)
};

/// r_t = max(0, 1 − t·s), in double as the official code.
double dualadam_r(int64_t t, double switch_rate);

struct DualAdamRule {
  using Options = DualAdamOptions;
  static constexpr std::array<const char*, 2> kState{"m", "v"};
  template <class S>
  using Coeffs = rules::DualAdamCoeffs<S>;
  template <class S>
  static constexpr std::array<bool Coeffs<S>::*, 3> kFlags{&Coeffs<S>::blend, &Coeffs<S>::coupled_wd,
                                                           &Coeffs<S>::decoupled_wd};
  template <class S>
  static Coeffs<S> coeffs(const Options& o, const StepContext& ctx);
  template <class V, class S>
  static void update(V& theta, const V& g, V* s, const Coeffs<S>& c) { rules::dualadam_update(theta, g, s[0], s[1], c); }
};

using DualAdamParamState = ElementwiseState<DualAdamRule>;

/// Hooks: t is the optimizer's step counter (official: once per step() call; or per group).
class DualAdam : public ElementwiseOptimizer<DualAdam, DualAdamRule> {
 public:
  using ElementwiseOptimizer::ElementwiseOptimizer;

  int64_t global_step() const { return global_step_; }

  void begin_step();
  StepContext context(size_t group, const State& st) const;

 protected:
  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;

 private:
  int64_t global_step_ = 0;
  std::vector<int64_t> group_steps_;
};

}  // namespace flatmin::optim
