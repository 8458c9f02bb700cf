#pragma once
/// \file
/// Common base of flatmin's LibTorch optimizers: epoch bookkeeping (MIAdam's epoch switch),
/// the choice between the fused CPU kernel and the device-generic tensor-op path, per-parameter
/// state lookup, and a checkpoint format that restores options as well as state.
///
/// LibTorch's own `torch::optim::serialize` restores per-parameter state only (saved options are
/// read and dropped), so κ, order, switch settings and lr would be lost on resume. flatmin saves
/// every group's options and the optimizer-level counters, and restores them by position.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <torch/optim/optimizer.h>
#include <torch/utils.h>
#include <torch/serialize/archive.h>

#include "optim/detail/state_key.h"

namespace flatmin::optim {

/// Which implementation `step()` uses for one parameter tensor.
enum class KernelPath {
  kAuto,    ///< fused single-pass CPU kernel when eligible (CPU, contiguous, float32/float64), else tensor ops
  kTensor,  ///< always the tensor-op path (what runs on CUDA); used by tests to cross-check the fused kernel
};
/// Process-wide kernel path (default kAuto).
void set_kernel_path(KernelPath path);
KernelPath kernel_path();

/// True when the fused CPU kernel can update `p` with gradient `g` and state tensors `state`.
/// Undefined state tensors (not in use) are ignored.
bool fused_eligible(const torch::Tensor& p, const torch::Tensor& g, c10::ArrayRef<torch::Tensor> state);

/// A zero state tensor like `p` (same shape, dtype and device; contiguous, as the fused kernels need).
inline torch::Tensor zeros_state(const torch::Tensor& p) { return torch::zeros_like(p, torch::MemoryFormat::Contiguous); }

/// The one fused-or-tensor choice: `fused(float{})` or `fused(double{})` (the element type of `p`)
/// when fused_eligible(p, g, state), else `tensor_path()` (the device-generic path).
template <class Fused, class TensorPath>
auto run_path(const torch::Tensor& p, const torch::Tensor& g, c10::ArrayRef<torch::Tensor> state, Fused&& fused,
              TensorPath&& tensor_path) {
  if (!fused_eligible(p, g, state)) return tensor_path();
  return p.scalar_type() == torch::kFloat ? fused(float{}) : fused(double{});
}

/// Base class: an Optimizer that knows the current (1-based) epoch and checkpoints its options.
class OptimizerBase : public torch::optim::Optimizer {
 public:
  using torch::optim::Optimizer::Optimizer;

  /// Tells the optimizer the current epoch (1-based, as the official training scripts count).
  /// Optimizers without an epoch-dependent rule ignore it (but still save it).
  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  /// Restores one parameter's state from what its State::serialize wrote (`archive`; nullptr: no
  /// state), checked against p as a checkpoint is (the Python state_dict path).
  virtual void load_param_state(const torch::Tensor& p, torch::serialize::InputArchive* archive) = 0;
  /// Group i's options as the checkpoint holds them (every field, internal ones such as SWATS' phase
  /// included), and back (validated).
  virtual void save_group_options(size_t i, torch::serialize::OutputArchive& archive) const = 0;
  virtual void load_group_options(size_t i, torch::serialize::InputArchive& archive) = 0;
  /// The optimizer-level state beyond per-parameter state (epoch, counters, generators), as the
  /// checkpoint holds it (the Python state_dict path).
  void save_extra_state(torch::serialize::OutputArchive& archive) const { save_extra(archive); }
  void load_extra_state(torch::serialize::InputArchive& archive) { load_extra(archive); }
  /// Appends a parameter group with `options` (already parsed), set up and validated as a group given
  /// at construction; nothing changes when they are invalid or a tensor is already in a group
  /// (torch.optim's add_param_group).
  virtual void add_group(std::vector<torch::Tensor> params, std::unique_ptr<torch::optim::OptimizerOptions> options) = 0;

 protected:
  /// State of `p`, or nullptr.
  template <class State>
  State* find_state(const torch::Tensor& p) {
    auto it = state_.find(detail::state_key(p));
    return it == state_.end() ? nullptr : static_cast<State*>(it->second.get());
  }
  /// State of `p`, created by `make()` on first use.
  template <class State, class Make>
  State& state_for(const torch::Tensor& p, Make&& make) {
    auto key = detail::state_key(p);
    auto it = state_.find(key);
    if (it == state_.end()) {
      it = state_.emplace(key, std::make_unique<State>(make())).first;
    }
    return static_cast<State&>(*it->second);
  }

  /// State of `p` holding Adam's moments: created on first use with exp_avg = exp_avg_sq = 0 (then
  /// `init(state)` for the rest), and max_exp_avg_sq = 0 added once amsgrad is on.
  template <class State, class Init>
  State& adam_state_for(const torch::Tensor& p, bool amsgrad, Init&& init) {
    auto& st = state_for<State>(p, [&] {
      State s;
      s.exp_avg(zeros_state(p));
      s.exp_avg_sq(zeros_state(p));
      init(s);
      return s;
    });
    if (amsgrad && !st.max_exp_avg_sq().defined()) st.max_exp_avg_sq(zeros_state(p));
    return st;
  }
  template <class State>
  State& adam_state_for(const torch::Tensor& p, bool amsgrad) {
    return adam_state_for<State>(p, amsgrad, [](State&) {});
  }

  /// torch::optim's step(closure) contract: the closure (if any) runs with grad enabled; its loss
  /// is step()'s return value (undefined without a closure).
  static torch::Tensor run_closure(const LossClosure& closure);

  /// The step(closure) skeleton every flatmin optimizer shares: grad mode off, the closure run (its
  /// loss is returned), then per group `on_group(gi, options)` and `on_param(gi, options, j, p)` for
  /// each of its parameters p = params[j] that has a gradient (a sparse gradient is refused).
  template <class Options, class OnGroup, class OnParam>
  torch::Tensor step_each(const LossClosure& closure, OnGroup&& on_group, OnParam&& on_param) {
    torch::NoGradGuard no_grad;
    torch::Tensor loss = run_closure(closure);
    for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
      auto& o = static_cast<Options&>(param_groups_[gi].options());
      on_group(gi, o);
      const auto& params = param_groups_[gi].params();
      for (size_t j = 0; j < params.size(); ++j) {
        const torch::Tensor& p = params[j];
        if (!p.grad().defined()) continue;
        TORCH_CHECK(!p.grad().is_sparse(), Options::kName, " does not support sparse gradients");
        on_param(gi, o, j, p);
      }
    }
    return loss;
  }
  template <class Options, class OnParam>
  torch::Tensor step_each(const LossClosure& closure, OnParam&& on_param) {
    return step_each<Options>(closure, [](size_t, const Options&) {}, std::forward<OnParam>(on_param));
  }

  /// Optimizer-level counters (beyond per-parameter state) for the checkpoint.
  virtual void save_extra(torch::serialize::OutputArchive& archive) const;
  virtual void load_extra(torch::serialize::InputArchive& archive);

  /// Saves options of every group and state of every parameter, by position.
  template <class State, class Options>
  void save_impl(torch::serialize::OutputArchive& archive) const;
  /// Restores what save_impl wrote; throws flatmin::common::InputError on a mismatched checkpoint.
  template <class State, class Options>
  void load_impl(torch::serialize::InputArchive& archive);
  /// Replaces p's state by the State read from `archive` (adopted: on p's device, checked), or none.
  template <class State>
  void load_state_of(const torch::Tensor& p, torch::serialize::InputArchive* archive);

  int64_t epoch_ = 1;

  /// Refuses a new group's tensors that are not leaves or already belong to a group.
  void check_new_group(const std::vector<torch::Tensor>& params) const;

 private:
  void check_layout(torch::serialize::InputArchive& archive, const std::string& kind);
  void write_layout(torch::serialize::OutputArchive& archive, const std::string& kind) const;
  torch::serialize::InputArchive read_group(torch::serialize::InputArchive& archive, size_t i);
};

/// What every flatmin optimizer shares: the two LibTorch-style constructors (parameter groups, or one
/// list of tensors) with validation of the defaults and of every group's options, and the checkpoint
/// (save/load of options and state). `Derived` adds step(); a derived class that needs per-group
/// set-up before the group's options are validated declares a public `static void prepare_group(Options&, const
/// std::vector<torch::Tensor>& params, size_t group)`, which hides this no-op one.
template <class Derived, class Options, class State>
class OptimizerWith : public OptimizerBase {
 public:
  using OptionsType = Options;
  explicit OptimizerWith(std::vector<torch::optim::OptimizerParamGroup> param_groups, Options defaults = {})
      : OptimizerWith(param_groups, std::move(defaults), 0) {}
  explicit OptimizerWith(std::vector<torch::Tensor> params, Options defaults = {})
      : OptimizerWith(std::vector<torch::optim::OptimizerParamGroup>{torch::optim::OptimizerParamGroup(std::move(params))},
                      std::move(defaults)) {}

  void save(torch::serialize::OutputArchive& archive) const override { this->template save_impl<State, Options>(archive); }
  void load(torch::serialize::InputArchive& archive) override { this->template load_impl<State, Options>(archive); }
  void load_param_state(const torch::Tensor& p, torch::serialize::InputArchive* archive) override {
    this->template load_state_of<State>(p, archive);
  }
  void save_group_options(size_t i, torch::serialize::OutputArchive& archive) const override {
    static_cast<const Options&>(param_groups_.at(i).options()).serialize(archive);
  }
  void load_group_options(size_t i, torch::serialize::InputArchive& archive) override {
    Options options(0);
    options.serialize(archive);
    options.validate();
    param_groups_.at(i).set_options(std::make_unique<Options>(options));
  }
  void add_group(std::vector<torch::Tensor> params, std::unique_ptr<torch::optim::OptimizerOptions> options) override {
    auto& o = static_cast<Options&>(*options);
    Derived::prepare_group(o, params, param_groups_.size());
    o.validate();
    check_new_group(params);
    param_groups_.emplace_back(std::move(params), std::move(options));
  }

 protected:
  static void prepare_group(Options&, const std::vector<torch::Tensor>&, size_t) {}

 private:
  OptimizerWith(const std::vector<torch::optim::OptimizerParamGroup>& given, Options defaults, int)
      : OptimizerBase(given, std::make_unique<Options>(defaults)) {
    defaults.validate();
    for (size_t i = 0; i < param_groups_.size(); ++i) {
      // Each group keeps its own options: newer LibTorch replaces a custom optimizer's per-group
      // options by the defaults in add_param_group (spec optimizers.md §14.2).
      if (given[i].has_options()) param_groups_[i].set_options(given[i].options().clone());
      auto& o = static_cast<Options&>(param_groups_[i].options());
      Derived::prepare_group(o, param_groups_[i].params(), i);
      o.validate();
    }
  }
};

/// Sets the epoch on flatmin optimizers; a no-op for LibTorch's own optimizers.
void set_epoch(torch::optim::Optimizer& optimizer, int64_t epoch);

// ---------------------------------------------------------------------------------------------
// Implementation of the templates.

/// Checks a loaded per-parameter state tensor against its parameter.
void check_state_tensor(const torch::Tensor& t, const torch::Tensor& p, const std::string& what);
/// A loaded state tensor made ready for `p`: moved to p's device, contiguous, and checked against p
/// (check_state_tensor; `what` names it, e.g. "miadam exp_avg"). An undefined tensor stays undefined.
torch::Tensor adopt_state_tensor(const torch::Tensor& t, const torch::Tensor& p, const std::string& what);

template <class State, class Options>
void OptimizerBase::save_impl(torch::serialize::OutputArchive& archive) const {
  write_layout(archive, Options::kName);
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    const auto& group = param_groups_[i];
    torch::serialize::OutputArchive g(archive.compilation_unit());
    torch::serialize::OutputArchive o(archive.compilation_unit());
    save_group_options(i, o);
    g.write("options", o);
    const auto& params = group.params();
    for (size_t j = 0; j < params.size(); ++j) {
      auto it = state_.find(detail::state_key(params[j]));
      if (it == state_.end()) continue;
      torch::serialize::OutputArchive s(archive.compilation_unit());
      static_cast<const State&>(*it->second).serialize(s);
      g.write("state/" + std::to_string(j), s);
    }
    archive.write("group/" + std::to_string(i), g);
  }
  save_extra(archive);
}

template <class State, class Options>
void OptimizerBase::load_impl(torch::serialize::InputArchive& archive) {
  check_layout(archive, Options::kName);
  for (size_t i = 0; i < param_groups_.size(); ++i) {
    auto g = read_group(archive, i);
    torch::serialize::InputArchive o;
    g.read("options", o);
    load_group_options(i, o);
    const auto& params = param_groups_[i].params();
    for (size_t j = 0; j < params.size(); ++j) {
      torch::serialize::InputArchive s;
      const bool has = g.try_read("state/" + std::to_string(j), s);
      load_state_of<State>(params[j], has ? &s : nullptr);
    }
  }
  load_extra(archive);
}

template <class State>
void OptimizerBase::load_state_of(const torch::Tensor& p, torch::serialize::InputArchive* archive) {
  state_.erase(detail::state_key(p));
  if (archive == nullptr) return;
  State st;
  st.serialize(*archive);
  st.adopt(p);
  state_.emplace(detail::state_key(p), std::make_unique<State>(std::move(st)));
}

}  // namespace flatmin::optim
