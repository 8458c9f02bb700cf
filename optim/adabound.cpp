#include "optim/adabound.h"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/options_check.h"
#include "optim/detail/registry_entry.h"
#include "optim/rules/adabound_rule.h"
#include "optim/rules/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options

void AdaBoundOptions::validate() const {
  using namespace detail;
  check_lr("adabound", lr());
  check_betas("adabound", betas());
  check_nonneg("adabound", "final_lr", final_lr());
  FLATMIN_CHECK(std::isfinite(gamma()) && gamma() >= 0.0 && gamma() < 1.0,
                "adabound: gamma = " << gamma() << " violates 0 <= gamma < 1");
  check_nonneg("adabound", "eps", eps());
  check_nonneg("adabound", "weight_decay", weight_decay());
  FLATMIN_CHECK(std::isnan(base_lr()) || (std::isfinite(base_lr()) && base_lr() > 0.0),
                "adabound: base_lr = " << base_lr()
                                       << " violates base_lr > 0 (final_lr is scaled by lr/base_lr; base_lr is the "
                                          "lr at construction, which must therefore be > 0)");
}

void AdaBoundOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(final_lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(gamma);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(amsbound);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decouple);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(base_lr);
}

void AdaBoundOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, final_lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, gamma);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, amsbound);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, weight_decouple);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, base_lr);
}

// ---------------------------------------------------------------------------------------------
// State

void AdaBoundParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_exp_avg_sq);
}

void AdaBoundParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, max_exp_avg_sq);
}

void AdaBoundParamState::adopt(const torch::Tensor& p) {
  auto fix = [&](torch::Tensor t, const std::string& what) {
    if (!t.defined()) return t;
    t = t.to(p.device());
    check_state_tensor(t, p, "adabound " + what);
    return t;
  };
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined(), "optimizer checkpoint: adabound state lacks moments");
  exp_avg(fix(exp_avg(), "exp_avg"));
  exp_avg_sq(fix(exp_avg_sq(), "exp_avg_sq"));
  max_exp_avg_sq(fix(max_exp_avg_sq(), "max_exp_avg_sq"));
}

std::pair<double, double> adabound_bounds(const AdaBoundOptions& o, int64_t t) {
  // adabound.py: final_lr = group['final_lr'] * group['lr'] / base_lr  ("lr_scheduler cannot affect
  // final_lr, this is a workaround to apply lr decay")
  const double final_lr = o.final_lr() * o.lr() / o.base_lr();
  if (o.gamma() == 0.0) return {0.0, std::numeric_limits<double>::infinity()};  // γ → 0 limit (official: ZeroDivisionError)
  const double gt = o.gamma() * static_cast<double>(t);
  return {final_lr * (1.0 - 1.0 / (gt + 1.0)),  // lower_bound = final_lr * (1 - 1 / (gamma * step + 1))
          final_lr * (1.0 + 1.0 / gt)};         // upper_bound = final_lr * (1 + 1 / (gamma * step))
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

template <class S>
rules::AdaBoundCoeffs<S> make_coeffs(const AdaBoundOptions& o, int64_t t) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  const auto [lower, upper] = adabound_bounds(o, t);
  rules::AdaBoundCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.eps = static_cast<S>(o.eps());
  c.step_size = static_cast<S>(o.lr() * std::sqrt(bc2) / bc1);  // step_size = lr * sqrt(bc2) / bc1
  c.lower = static_cast<S>(lower);
  c.upper = static_cast<S>(upper);
  c.coupled_wd = o.weight_decay() != 0.0 && !o.weight_decouple();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.weight_decouple();
  c.amsbound = o.amsbound();
  return c;
}

/// Element loop of one chunk: __restrict pointers, every option a compile-time constant (no
/// branches in the loop), so GCC vectorises it.
template <class T, bool kAms, bool kCoupled, bool kDecoupled>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, T* __restrict vmax, int64_t n,
                                           const rules::AdaBoundCoeffs<T>& c) {
  rules::AdaBoundCoeffs<T> cc = c;
  cc.amsbound = kAms;
  cc.coupled_wd = kCoupled;
  cc.decoupled_wd = kDecoupled;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i], vm = T(0);
    if constexpr (kAms) vm = vmax[i];
    rules::adabound_update(th, grad[i], mi, vi, &vm, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAms) vmax[i] = vm;
  }
}

/// Fused single pass over one contiguous CPU tensor, parallel over the intra-op pool; elementwise,
/// so bit-identical for any thread count.
template <class T, bool kAms, bool kCoupled, bool kDecoupled>
void fused_pass(const torch::Tensor& p, const torch::Tensor& g, AdaBoundParamState& st,
                const rules::AdaBoundCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  T* vmax = kAms ? st.max_exp_avg_sq().data_ptr<T>() : nullptr;
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    fused_chunk<T, kAms, kCoupled, kDecoupled>(theta + begin, grad + begin, m + begin, v + begin,
                                               kAms ? vmax + begin : nullptr, end - begin, c);
  });
}

template <class T>
void fused_dispatch(const torch::Tensor& p, const torch::Tensor& g, AdaBoundParamState& st,
                    const rules::AdaBoundCoeffs<T>& c) {
  using F = std::false_type;
  using Tr = std::true_type;
  auto go = [&](auto ams, auto coupled, auto decoupled) {
    fused_pass<T, decltype(ams)::value, decltype(coupled)::value, decltype(decoupled)::value>(p, g, st, c);
  };
  auto with_wd = [&](auto ams) {
    if (c.coupled_wd) {
      go(ams, Tr{}, F{});
    } else if (c.decoupled_wd) {
      go(ams, F{}, Tr{});
    } else {
      go(ams, F{}, F{});
    }
  };
  c.amsbound ? with_wd(Tr{}) : with_wd(F{});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

void AdaBound::prepare_group(AdaBoundOptions& o, const std::vector<torch::Tensor>&, size_t) {
  if (std::isnan(o.base_lr())) o.base_lr(o.lr());  // official: self.base_lrs = [group['lr'] for each group]
}

torch::Tensor AdaBound::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    auto& o = static_cast<AdaBoundOptions&>(group.options());
    if (std::isnan(o.base_lr())) {  // a group added after construction (or options replaced without base_lr)
      o.base_lr(o.lr());
      o.validate();
    }
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& g = p.grad();
      TORCH_CHECK(!g.is_sparse(), "AdaBound does not support sparse gradients");
      auto& st = state_for<AdaBoundParamState>(p, [&] {
        AdaBoundParamState s;
        s.exp_avg(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        s.exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        return s;
      });
      if (o.amsbound() && !st.max_exp_avg_sq().defined()) {
        st.max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
      }
      st.step(st.step() + 1);
      const int64_t t = st.step();
      if (fused_eligible(p, g, {st.exp_avg(), st.exp_avg_sq(), o.amsbound() ? st.max_exp_avg_sq() : torch::Tensor()})) {
        if (p.scalar_type() == torch::kFloat) {
          fused_dispatch<float>(p, g, st, make_coeffs<float>(o, t));
        } else {
          fused_dispatch<double>(p, g, st, make_coeffs<double>(o, t));
        }
      } else {
        // Device-generic path: the same rule on whole tensors, then written back in place.
        const auto c = make_coeffs<double>(o, t);
        torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq(), vmax = st.max_exp_avg_sq();
        rules::adabound_update(theta, g, m, v, &vmax, c);
        p.detach().copy_(theta);
        st.exp_avg().copy_(m);
        st.exp_avg_sq().copy_(v);
        if (o.amsbound()) st.max_exp_avg_sq().copy_(vmax);
      }
    }
  }
  return loss;
}

// ---------------------------------------------------------------------------------------------
// Registry entry (JSON options)

namespace {

enum class Variant { kAdaBound, kAmsBound, kAdaBoundW };

AdaBoundOptions parse_adabound(detail::OptionReader& r, Variant variant) {
  const char* who = variant == Variant::kAdaBound ? "adabound" : variant == Variant::kAmsBound ? "amsbound" : "adaboundw";
  AdaBoundOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.final_lr(r.number("final_lr", o.final_lr()));
  o.gamma(r.number("gamma", o.gamma()));
  o.eps(r.number("eps", o.eps()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.amsbound(r.boolean("amsbound", variant == Variant::kAmsBound));
  if (variant == Variant::kAmsBound) {
    FLATMIN_CHECK(o.amsbound(), who << ": option 'amsbound' = false contradicts the name (use 'adabound')");
  }
  o.weight_decouple(r.boolean("weight_decouple", variant == Variant::kAdaBoundW));
  if (variant == Variant::kAdaBoundW) {
    FLATMIN_CHECK(o.weight_decouple(),
                  who << ": option 'weight_decouple' = false contradicts the name (use 'adabound')");
  }
  o.base_lr(o.lr());  // the registry builds the optimizer now: base_lr = lr at construction
  o.validate();
  return o;
}

nlohmann::json adabound_json(const AdaBoundOptions& o) {
  return {{"lr", o.lr()},
          {"betas", detail::betas_json(o.betas())},
          {"final_lr", o.final_lr()},
          {"gamma", o.gamma()},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"amsbound", o.amsbound()},
          {"weight_decouple", o.weight_decouple()}};
}

}  // namespace

void register_adabound(detail::RegistryTable& table) {
  table["adabound"] = detail::entry<AdaBound, AdaBoundOptions>(
      [](auto& r) { return parse_adabound(r, Variant::kAdaBound); }, adabound_json);
  table["amsbound"] = detail::entry<AdaBound, AdaBoundOptions>(
      [](auto& r) { return parse_adabound(r, Variant::kAmsBound); }, adabound_json);
  table["adaboundw"] = detail::entry<AdaBound, AdaBoundOptions>(
      [](auto& r) { return parse_adabound(r, Variant::kAdaBoundW); }, adabound_json);
}

}  // namespace flatmin::optim
