#include "optim/adamax.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/options_check.h"
#include "optim/detail/registry_entry.h"
#include "optim/rules/adamax_rule.h"
#include "optim/rules/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options

void AdamaxOptions::validate() const {
  using namespace detail;
  check_lr("adamax", lr());
  check_betas("adamax", betas());
  check_nonneg("adamax", "eps", eps());
  check_nonneg("adamax", "weight_decay", weight_decay());
}

void AdamaxOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
}

void AdamaxOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
}

// ---------------------------------------------------------------------------------------------
// State

void AdamaxParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_inf);
}

void AdamaxParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_inf);
}

void AdamaxParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_inf().defined(), "optimizer checkpoint: adamax state lacks exp_avg or exp_inf");
  exp_avg(exp_avg().to(p.device()).contiguous());
  exp_inf(exp_inf().to(p.device()).contiguous());
  check_state_tensor(exp_avg(), p, "adamax exp_avg");
  check_state_tensor(exp_inf(), p, "adamax exp_inf");
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

template <class T, bool kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict u, int64_t n, const rules::AdamaxCoeffs<T>& c) {
  rules::AdamaxCoeffs<T> cc = c;
  cc.coupled_wd = kWd;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], ui = u[i];
    rules::adamax_update(th, grad[i], mi, ui, cc);
    theta[i] = th;
    m[i] = mi;
    u[i] = ui;
  }
}

template <class T, bool kWd>
void fused_pass(const torch::Tensor& p, const torch::Tensor& g, AdamaxParamState& st, const rules::AdamaxCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* u = st.exp_inf().data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    fused_chunk<T, kWd>(theta + begin, grad + begin, m + begin, u + begin, end - begin, c);
  });
}

template <class S>
rules::AdamaxCoeffs<S> make_coeffs(const AdamaxOptions& o, int64_t t) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double clr = o.lr() / (1.0 - std::pow(beta1, static_cast<double>(t)));  // clr = lr / bias_correction
  rules::AdamaxCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.eps = static_cast<S>(o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.neg_clr = static_cast<S>(-clr);
  c.coupled_wd = o.weight_decay() != 0.0;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

torch::Tensor Adamax::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const AdamaxOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& g = p.grad();
      TORCH_CHECK(!g.is_sparse(), "Adamax does not support sparse gradients");
      auto& st = state_for<AdamaxParamState>(p, [&] {
        AdamaxParamState s;
        s.exp_avg(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        s.exp_inf(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        return s;
      });
      st.step(st.step() + 1);
      const int64_t t = st.step();
      if (fused_eligible(p, g, {st.exp_avg(), st.exp_inf()})) {
        const bool wd = o.weight_decay() != 0.0;
        if (p.scalar_type() == torch::kFloat) {
          wd ? fused_pass<float, true>(p, g, st, make_coeffs<float>(o, t))
             : fused_pass<float, false>(p, g, st, make_coeffs<float>(o, t));
        } else {
          wd ? fused_pass<double, true>(p, g, st, make_coeffs<double>(o, t))
             : fused_pass<double, false>(p, g, st, make_coeffs<double>(o, t));
        }
      } else {
        const auto c = make_coeffs<double>(o, t);
        torch::Tensor theta = p.detach(), m = st.exp_avg(), u = st.exp_inf();
        rules::adamax_update(theta, g, m, u, c);
        p.detach().copy_(theta);
        st.exp_avg().copy_(m);
        st.exp_inf().copy_(u);
      }
    }
  }
  return loss;
}

// ---------------------------------------------------------------------------------------------
// Registry entry (JSON options)

namespace {

AdamaxOptions parse_adamax(detail::OptionReader& r) {
  AdamaxOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.validate();
  return o;
}

nlohmann::json adamax_json(const AdamaxOptions& o) {
  return {{"lr", o.lr()}, {"betas", detail::betas_json(o.betas())}, {"eps", o.eps()}, {"weight_decay", o.weight_decay()}};
}

}  // namespace

void register_adamax(detail::RegistryTable& table) {
  table["adamax"] = detail::entry<Adamax, AdamaxOptions>([](auto& r) { return parse_adamax(r); }, adamax_json);
}

}  // namespace flatmin::optim
