#include "optim/nadam.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/options_check.h"
#include "optim/detail/registry_entry.h"
#include "optim/rules/nadam_rule.h"
#include "optim/rules/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options

void NAdamOptions::validate() const {
  using namespace detail;
  const char* who = form() == NAdamVariant::kKeras ? "nadam_keras" : "nadam";
  check_lr(who, lr());
  check_betas(who, betas());
  check_nonneg(who, "eps", eps());
  check_nonneg(who, "weight_decay", weight_decay());
  check_nonneg(who, form() == NAdamVariant::kKeras ? "schedule_decay" : "momentum_decay", momentum_decay());
  FLATMIN_CHECK(form() == NAdamVariant::kTorch || form() == NAdamVariant::kKeras, "nadam: form has an unknown value");
  if (form() == NAdamVariant::kKeras) {
    FLATMIN_CHECK(weight_decay() == 0.0,
                  "nadam_keras: weight_decay = " << weight_decay()
                                                 << " violates weight_decay = 0 (the MIAdam repository's Nadam has no "
                                                    "weight decay; use 'nadam' for torch's coupled or decoupled decay)");
    FLATMIN_CHECK(!torch113_mu_product_bug() && !decoupled_weight_decay(),
                  "nadam_keras: torch113_mu_product_bug and decoupled_weight_decay are torch.optim.NAdam options "
                  "(use 'nadam')");
  }
}

void NAdamOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(decoupled_weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(torch113_mu_product_bug);
  archive.write("form", c10::IValue(static_cast<int64_t>(form())));
}

void NAdamOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, decoupled_weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, torch113_mu_product_bug);
  c10::IValue v;
  archive.read("form", v);
  form(static_cast<NAdamVariant>(v.toInt()));
}

// ---------------------------------------------------------------------------------------------
// State

void NAdamParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(mu_product);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exp_avg_sq);
}

void NAdamParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, mu_product);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, exp_avg_sq);
}

void NAdamParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined(), "optimizer checkpoint: nadam state lacks moments");
  exp_avg(exp_avg().to(p.device()).contiguous());
  exp_avg_sq(exp_avg_sq().to(p.device()).contiguous());
  check_state_tensor(exp_avg(), p, "nadam exp_avg");
  check_state_tensor(exp_avg_sq(), p, "nadam exp_avg_sq");
}

double nadam_mu(double beta1, double momentum_decay, int64_t t) {
  return beta1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(t) * momentum_decay));  // μ_t (torch, Keras)
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

using rules::NAdamForm;

enum WdMode : int { kNoWd = 0, kCoupledWd = 1, kDecoupledWd = 2 };

template <class T, int kForm, int kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, int64_t n, const rules::NAdamCoeffs<T>& c) {
  rules::NAdamCoeffs<T> cc = c;
  cc.form = static_cast<NAdamForm>(kForm);
  cc.coupled_wd = kWd == kCoupledWd;
  cc.decoupled_wd = kWd == kDecoupledWd;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i];
    rules::nadam_update(th, grad[i], mi, vi, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
  }
}

template <class T, int kForm, int kWd>
void fused_pass(const torch::Tensor& p, const torch::Tensor& g, NAdamParamState& st, const rules::NAdamCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    fused_chunk<T, kForm, kWd>(theta + begin, grad + begin, m + begin, v + begin, end - begin, c);
  });
}

template <class T>
void fused_dispatch(const torch::Tensor& p, const torch::Tensor& g, NAdamParamState& st,
                    const rules::NAdamCoeffs<T>& c) {
  auto with_form = [&](auto wd_tag) {
    constexpr int kWd = decltype(wd_tag)::value;
    switch (c.form) {
      case NAdamForm::kTorchLerpSmall: fused_pass<T, 0, kWd>(p, g, st, c); break;
      case NAdamForm::kTorchLerpLarge: fused_pass<T, 1, kWd>(p, g, st, c); break;
      case NAdamForm::kKeras: fused_pass<T, 2, kWd>(p, g, st, c); break;
    }
  };
  if (c.coupled_wd) {
    with_form(std::integral_constant<int, kCoupledWd>{});
  } else if (c.decoupled_wd) {
    with_form(std::integral_constant<int, kDecoupledWd>{});
  } else {
    with_form(std::integral_constant<int, kNoWd>{});
  }
}

/// Scalars of step t, after Π has been advanced to Π_t (`mu_product`).
template <class S>
rules::NAdamCoeffs<S> make_coeffs(const NAdamOptions& o, int64_t t, double mu_product) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double lr = o.lr();
  const double mu = nadam_mu(beta1, o.momentum_decay(), t);
  const double mu_next = nadam_mu(beta1, o.momentum_decay(), t + 1);
  // Π_{t+1} = Π_t·μ_{t+1}; torch 1.13's single-tensor path: mu_product * mu * mu_next.
  const double mu_product_next = o.torch113_mu_product_bug() ? mu_product * mu * mu_next : mu_product * mu_next;
  const double w = 1.0 - beta1;  // lerp weight
  rules::NAdamCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(w);
  c.lerp_complement = static_cast<S>(1.0 - w);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  c.inv_bc2 = static_cast<S>(1.0 / (1.0 - std::pow(beta2, static_cast<double>(t))));
  c.eps = static_cast<S>(o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.decay = static_cast<S>(1.0 - lr * o.weight_decay());
  c.grad_coef = static_cast<S>(-lr * (1.0 - mu) / (1.0 - mu_product));  // value = -lr * (1. - mu) / (1. - mu_product)
  c.mom_coef = static_cast<S>((-lr * mu_next) / (1.0 - mu_product_next));  // value = (-lr * mu_next) / (1. - mu_product_next)
  c.one_minus_mu = static_cast<S>(1.0 - mu);
  c.mu_next = static_cast<S>(mu_next);
  c.inv_one_minus_prod = static_cast<S>(1.0 / (1.0 - mu_product));
  c.inv_one_minus_prod_next = static_cast<S>(1.0 / (1.0 - mu_product_next));
  c.neg_lr = static_cast<S>(-lr);
  if (o.form() == NAdamVariant::kKeras) {
    c.form = NAdamForm::kKeras;
  } else {
    c.form = std::abs(w) < 0.5 ? NAdamForm::kTorchLerpSmall : NAdamForm::kTorchLerpLarge;  // ATen lerp
  }
  c.coupled_wd = o.weight_decay() != 0.0 && !o.decoupled_weight_decay();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.decoupled_weight_decay();
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

torch::Tensor NAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const NAdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& g = p.grad();
      TORCH_CHECK(!g.is_sparse(), "NAdam does not support sparse gradients");
      auto& st = state_for<NAdamParamState>(p, [&] {
        NAdamParamState s;
        s.exp_avg(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        s.exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        return s;
      });
      st.step(st.step() + 1);
      const int64_t t = st.step();
      // mu_product *= mu  (torch: state 'mu_product'; Keras port: m_schedule_new = m_schedule * μ_t)
      st.mu_product(st.mu_product() * nadam_mu(std::get<0>(o.betas()), o.momentum_decay(), t));
      if (fused_eligible(p, g, {st.exp_avg(), st.exp_avg_sq()})) {
        if (p.scalar_type() == torch::kFloat) {
          fused_dispatch<float>(p, g, st, make_coeffs<float>(o, t, st.mu_product()));
        } else {
          fused_dispatch<double>(p, g, st, make_coeffs<double>(o, t, st.mu_product()));
        }
      } else {
        const auto c = make_coeffs<double>(o, t, st.mu_product());
        torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq();
        rules::nadam_update(theta, g, m, v, c);
        p.detach().copy_(theta);
        st.exp_avg().copy_(m);
        st.exp_avg_sq().copy_(v);
      }
    }
  }
  return loss;
}

// ---------------------------------------------------------------------------------------------
// Registry entry (JSON options)

namespace {

NAdamOptions parse_nadam(detail::OptionReader& r) {
  NAdamOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.momentum_decay(r.number("momentum_decay", o.momentum_decay()));
  o.decoupled_weight_decay(r.boolean("decoupled_weight_decay", o.decoupled_weight_decay()));
  o.torch113_mu_product_bug(r.boolean("torch113_mu_product_bug", o.torch113_mu_product_bug()));
  o.validate();
  return o;
}

NAdamOptions parse_nadam_keras(detail::OptionReader& r) {
  NAdamOptions o;
  o.form(NAdamVariant::kKeras);
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.momentum_decay(r.number("schedule_decay", 4e-3));
  o.weight_decay(r.number("weight_decay", 0.0));  // accepted only as 0 (validate)
  o.validate();
  return o;
}

nlohmann::json nadam_json(const NAdamOptions& o) {
  if (o.form() == NAdamVariant::kKeras) {
    return {{"lr", o.lr()},
            {"betas", detail::betas_json(o.betas())},
            {"eps", o.eps()},
            {"schedule_decay", o.momentum_decay()},
            {"weight_decay", o.weight_decay()}};
  }
  return {{"lr", o.lr()},
          {"betas", detail::betas_json(o.betas())},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"momentum_decay", o.momentum_decay()},
          {"decoupled_weight_decay", o.decoupled_weight_decay()},
          {"torch113_mu_product_bug", o.torch113_mu_product_bug()}};
}

}  // namespace

void register_nadam(detail::RegistryTable& table) {
  table["nadam"] = detail::entry<NAdam, NAdamOptions>([](auto& r) { return parse_nadam(r); }, nadam_json);
  table["nadam_keras"] = detail::entry<NAdam, NAdamOptions>([](auto& r) { return parse_nadam_keras(r); }, nadam_json);
}

}  // namespace flatmin::optim
