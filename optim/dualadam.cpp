#include "optim/dualadam.h"

#include <cmath>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/options_check.h"
#include "optim/detail/registry_entry.h"
#include "optim/rules/dualadam_rule.h"
#include "optim/rules/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

void DualAdamOptions::validate() const {
  using namespace detail;
  check_lr("dualadam", lr());
  check_betas("dualadam", betas());
  check_nonneg("dualadam", "eps", eps());
  check_nonneg("dualadam", "weight_decay", weight_decay());
  FLATMIN_CHECK(std::isfinite(switch_rate()) && switch_rate() >= 0.0 && switch_rate() <= 1.0,
                "dualadam: switch_rate = " << switch_rate() << " violates 0 <= switch_rate <= 1");
  FLATMIN_CHECK(std::isnan(fixed_r()) || (fixed_r() >= 0.0 && fixed_r() <= 1.0),
                "dualadam: fixed_r = " << fixed_r() << " violates 0 <= fixed_r <= 1 (or unset)");
  FLATMIN_CHECK(step_counter() == StepCounter::kGlobal || step_counter() == StepCounter::kPerGroup,
                "dualadam: step_counter has an unknown value");
}

void DualAdamOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(betas);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(eps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(switch_rate);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decouple);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(fixed_r);
  archive.write("step_counter", c10::IValue(static_cast<int64_t>(step_counter())));
}

void DualAdamOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(betas_t, betas);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, eps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, switch_rate);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, weight_decouple);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, fixed_r);
  c10::IValue v;
  archive.read("step_counter", v);
  step_counter(static_cast<StepCounter>(v.toInt()));
}

void DualAdamParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(m);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(v);
}

void DualAdamParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, m);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, v);
}

void DualAdamParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(m().defined() && v().defined(), "optimizer checkpoint: dualadam state lacks moments");
  m(m().to(p.device()));
  v(v().to(p.device()));
  check_state_tensor(m(), p, "dualadam m");
  check_state_tensor(v(), p, "dualadam v");
}

double dualadam_r(int64_t t, double switch_rate) {
  return std::max(0.0, 1.0 - static_cast<double>(t) * switch_rate);  // official: max(0.0, 1.0 - self._step * switch_rate)
}

namespace {

template <class S>
rules::DualAdamCoeffs<S> make_coeffs(const DualAdamOptions& o, int64_t t) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  double r;
  bool blend;
  if (std::isnan(o.fixed_r())) {
    r = dualadam_r(t, o.switch_rate());
    blend = r >= o.switch_rate();  // official cut-off: blend while r_t ≥ s
  } else {
    r = o.fixed_r();
    blend = true;
  }
  rules::DualAdamCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  c.bc1 = static_cast<S>(1.0 - std::pow(beta1, static_cast<double>(t)));
  c.bc2 = static_cast<S>(1.0 - std::pow(beta2, static_cast<double>(t)));
  c.eps = static_cast<S>(o.eps());
  c.neg_lr = static_cast<S>(-o.lr());
  c.neg_wd_lr = static_cast<S>(-o.weight_decay() * o.lr());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.r = static_cast<S>(r);
  c.one_minus_r = static_cast<S>(1.0 - r);
  c.coupled_wd = o.weight_decay() != 0.0 && !o.weight_decouple();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.weight_decouple();
  c.blend = blend;
  return c;
}

template <class T, bool kBlend, bool kCoupled, bool kDecoupled>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, int64_t n, const rules::DualAdamCoeffs<T>& c) {
  rules::DualAdamCoeffs<T> cc = c;
  cc.blend = kBlend;
  cc.coupled_wd = kCoupled;
  cc.decoupled_wd = kDecoupled;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i];
    rules::dualadam_update(th, grad[i], mi, vi, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
  }
}

template <class T, bool kBlend, bool kCoupled, bool kDecoupled>
void fused_pass(const torch::Tensor& p, const torch::Tensor& g, DualAdamParamState& st, const rules::DualAdamCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.m().data_ptr<T>();
  T* v = st.v().data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    fused_chunk<T, kBlend, kCoupled, kDecoupled>(theta + begin, grad + begin, m + begin, v + begin, end - begin, c);
  });
}

template <class T>
void fused_dispatch(const torch::Tensor& p, const torch::Tensor& g, DualAdamParamState& st,
                    const rules::DualAdamCoeffs<T>& c) {
  auto go = [&](auto blend, auto coupled, auto decoupled) {
    fused_pass<T, decltype(blend)::value, decltype(coupled)::value, decltype(decoupled)::value>(p, g, st, c);
  };
  using F = std::false_type;
  using Tr = std::true_type;
  auto with_wd = [&](auto blend) {
    if (c.coupled_wd) go(blend, Tr{}, F{});        // coupled and decoupled are exclusive (make_coeffs)
    else if (c.decoupled_wd) go(blend, F{}, Tr{});
    else go(blend, F{}, F{});
  };
  c.blend ? with_wd(Tr{}) : with_wd(F{});
}

}  // namespace

torch::Tensor DualAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  ++global_step_;  // official: self._step += 1, once per step() call, before any group
  group_steps_.resize(param_groups_.size(), 0);
  for (size_t gi = 0; gi < param_groups_.size(); ++gi) {
    auto& group = param_groups_[gi];
    const auto& o = static_cast<const DualAdamOptions&>(group.options());
    ++group_steps_[gi];  // port: group['step'] += 1 per group per call
    const int64_t t = o.step_counter() == StepCounter::kGlobal ? global_step_ : group_steps_[gi];
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& g = p.grad();
      TORCH_CHECK(!g.is_sparse(), "DualAdam does not support sparse gradients");
      auto& st = state_for<DualAdamParamState>(p, [&] {
        DualAdamParamState s;
        s.m(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        s.v(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
        return s;
      });
      if (fused_eligible(p, g, {st.m(), st.v()})) {
        if (p.scalar_type() == torch::kFloat) {
          fused_dispatch<float>(p, g, st, make_coeffs<float>(o, t));
        } else {
          fused_dispatch<double>(p, g, st, make_coeffs<double>(o, t));
        }
      } else {
        const auto c = make_coeffs<double>(o, t);
        torch::Tensor theta = p.detach(), m = st.m(), v = st.v();
        rules::dualadam_update(theta, g, m, v, c);
        p.detach().copy_(theta);
        st.m().copy_(m);
        st.v().copy_(v);
      }
    }
  }
  return loss;
}

void DualAdam::save_extra(torch::serialize::OutputArchive& archive) const {
  OptimizerBase::save_extra(archive);
  archive.write("flatmin/global_step", c10::IValue(global_step_));
  archive.write("flatmin/group_steps", c10::IValue(group_steps_));
}

void DualAdam::load_extra(torch::serialize::InputArchive& archive) {
  OptimizerBase::load_extra(archive);
  c10::IValue v;
  archive.read("flatmin/global_step", v);
  global_step_ = v.toInt();
  archive.read("flatmin/group_steps", v);
  group_steps_ = v.toIntVector();
}

// ---------------------------------------------------------------------------------------------
// Registry entry (JSON options)

namespace {

DualAdamOptions parse_dualadam(detail::OptionReader& r, bool inverse) {
  DualAdamOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.switch_rate(r.number("switch_rate", o.switch_rate()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.weight_decouple(r.boolean("weight_decouple", o.weight_decouple()));
  const auto sc = r.string("step_counter", "global");
  FLATMIN_CHECK(sc == "global" || sc == "per_group",
                "dualadam: step_counter = '" << sc << "' is not one of 'global', 'per_group'");
  o.step_counter(sc == "global" ? StepCounter::kGlobal : StepCounter::kPerGroup);
  if (inverse) {
    FLATMIN_CHECK(!r.has("fixed_r"), "invadam: option 'fixed_r' is fixed to 1 (use 'dualadam' with 'fixed_r')");
    o.fixed_r(1.0);
  } else {
    o.fixed_r(r.number("fixed_r", o.fixed_r()));
  }
  o.validate();
  return o;
}

nlohmann::json dualadam_json(const DualAdamOptions& o) {
  nlohmann::json j = {{"lr", o.lr()},
            {"betas", detail::betas_json(o.betas())},
            {"eps", o.eps()},
            {"switch_rate", o.switch_rate()},
            {"weight_decay", o.weight_decay()},
            {"weight_decouple", o.weight_decouple()},
            {"step_counter", o.step_counter() == StepCounter::kGlobal ? "global" : "per_group"}};
  j["fixed_r"] = std::isnan(o.fixed_r()) ? nlohmann::json(nullptr) : nlohmann::json(o.fixed_r());
  return j;
}

}  // namespace

void register_dualadam(detail::RegistryTable& table) {
  table["dualadam"] =
      detail::entry<DualAdam, DualAdamOptions>([](auto& r) { return parse_dualadam(r, false); }, dualadam_json);
  table["invadam"] =
      detail::entry<DualAdam, DualAdamOptions>([](auto& r) { return parse_dualadam(r, true); }, dualadam_json);
}

}  // namespace flatmin::optim
