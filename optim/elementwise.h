#pragma once
/// \file
/// The one driver of flatmin's elementwise optimizers. An optimizer is its update rule (the
/// equations, in rules/, templated over the value type) plus a `Rule` adapter that says
///
///   using Options = …;                                    // its options (optim/options_schema.h)
///   static constexpr std::array<const char*, N> kState;   // per-element state tensors, by checkpoint name
///   template <class S> using Coeffs = rules::…Coeffs<S>;  // per-step scalars
///   template <class S> static Coeffs<S> coeffs(const Options&, const StepContext&);
///   template <class S> static constexpr std::array<bool Coeffs<S>::*, F> kFlags;  // specialised at compile time
///   template <class V, class S> static void update(V& theta, const V& g, V* state, const Coeffs<S>&);
///
/// and optionally `kGate` (state tensor k exists only while flag kGate[k] is on, e.g. amsgrad's max),
/// `kScalars` + `advance(options, t, scalars)` (per-tensor scalar state, e.g. NAdam's Π_t).
/// The driver owns everything else: the step(closure) prologue, the loop over groups and parameters,
/// state creation, the per-tensor step counter, the choice between the fused single-pass CPU kernel
/// (float32/float64, every flag a compile-time constant, OpenMP chunks, AVX2 clone) and the
/// device-generic tensor path (the same rule on whole tensors), and checkpoint save/load.
/// Optimizers with machinery beyond an elementwise rule plug in through two hooks of the derived
/// class: `begin_step()` (once per step() call, e.g. DualAdam's global counter) and
/// `context(group, state)` (what the coefficients see: t, the epoch, …).
#include <array>
#include <cstdint>
#include <string>
#include <type_traits>

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim {

/// What a rule's coefficients may depend on besides the options.
struct StepContext {
  int64_t t = 0;                    ///< the step index the rule uses (per-tensor count unless the optimizer says otherwise)
  int64_t epoch = 1;                ///< current 1-based epoch (OptimizerBase::set_epoch)
  const double* scalars = nullptr;  ///< the tensor's scalar state (Rule::kScalars), already advanced to t
};

namespace detail {
template <class Rule, class = void>
struct ScalarCount : std::integral_constant<size_t, 0> {};
template <class Rule>
struct ScalarCount<Rule, std::void_t<decltype(Rule::kScalars)>> : std::integral_constant<size_t, Rule::kScalars.size()> {};
}  // namespace detail

/// Per-parameter state of an elementwise optimizer: the step count, the rule's state tensors and
/// scalars, saved under the rule's names.
template <class Rule>
struct ElementwiseState : public torch::optim::OptimizerCloneableParamState<ElementwiseState<Rule>> {
  static constexpr size_t kTensors = Rule::kState.size();
  static constexpr size_t kScalars = detail::ScalarCount<Rule>::value;

  TORCH_ARG(int64_t, step) = 0;

 public:
  std::array<torch::Tensor, kTensors> tensors;
  std::array<double, kScalars> scalars{};

  ElementwiseState() {
    if constexpr (kScalars > 0) {
      for (size_t k = 0; k < kScalars; ++k) scalars[k] = Rule::kScalars[k].second;
    }
  }
  /// State tensor by its checkpoint name (tests, probes).
  const torch::Tensor& tensor(const std::string& name) const;

  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// Moves loaded tensors to p's device and checks shapes/dtypes (InputError on mismatch).
  void adopt(const torch::Tensor& p);
};

/// CRTP driver: `class Adamax : public ElementwiseOptimizer<Adamax, AdamaxRule> { using … };`
/// Its member templates are defined in optim/elementwise_impl.h, included (and explicitly
/// instantiated) by the optimizer's .cpp only.
template <class Derived, class Rule>
class ElementwiseOptimizer : public OptimizerWith<Derived, typename Rule::Options, ElementwiseState<Rule>> {
 public:
  using Options = typename Rule::Options;
  using State = ElementwiseState<Rule>;
  using OptimizerWith<Derived, Options, State>::OptimizerWith;

  torch::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override;

  /// The state of parameter p, or nullptr before its first step.
  const State* state_of(const torch::Tensor& p) { return this->template find_state<State>(p); }

  // Hooks (hidden by the derived class where it needs them).
  void begin_step() {}
  StepContext context(size_t /*group*/, const State& st) const { return {st.step(), this->epoch_, st.scalars.data()}; }

 private:
  void update_param(const Options& o, size_t group, const torch::Tensor& p, State& st);
};

}  // namespace flatmin::optim
