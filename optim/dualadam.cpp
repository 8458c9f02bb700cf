#include "optim/dualadam.h"

#include <algorithm>
#include <cmath>

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

double dualadam_r(int64_t t, double switch_rate) {
  return std::max(0.0, 1.0 - static_cast<double>(t) * switch_rate);  // official: max(0.0, 1.0 - self._step * switch_rate)
}

template <class S>
rules::DualAdamCoeffs<S> DualAdamRule::coeffs(const DualAdamOptions& o, const StepContext& ctx) {
  const int64_t t = ctx.t;
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  double r;
  bool blend;
  if (!o.fixed_r()) {
    r = dualadam_r(t, o.switch_rate());
    blend = r >= o.switch_rate();  // official cut-off: blend while r_t ≥ s
  } else {
    r = *o.fixed_r();
    blend = true;
  }
  rules::DualAdamCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.bc1 = static_cast<S>(rules::bias_correction(beta1, t));
  c.bc2 = static_cast<S>(rules::bias_correction(beta2, t));
  c.neg_lr = static_cast<S>(-o.lr());
  c.neg_wd_lr = static_cast<S>(-o.weight_decay() * o.lr());
  c.r = static_cast<S>(r);
  c.one_minus_r = static_cast<S>(1.0 - r);
  c.coupled_wd = o.weight_decay() != 0.0 && !o.weight_decouple();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.weight_decouple();
  c.blend = blend;
  return c;
}

void DualAdam::begin_step() {
  ++global_step_;  // official: self._step += 1, once per step() call, before any group
  group_steps_.resize(param_groups_.size(), 0);
  for (auto& s : group_steps_) ++s;  // port: group['step'] += 1 per group per call
}

StepContext DualAdam::context(size_t group, const State& st) const {
  const auto& o = static_cast<const DualAdamOptions&>(param_groups_[group].options());
  StepContext ctx = ElementwiseOptimizer::context(group, st);
  ctx.t = o.step_counter() == StepCounter::kGlobal ? global_step_ : group_steps_[group];
  return ctx;
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

FLATMIN_INSTANTIATE_ELEMENTWISE(DualAdam, DualAdamRule);

void register_dualadam(detail::RegistryTable& table) {
  table["dualadam"] = detail::entry<DualAdam>();
  Preset inv;
  inv.fixed = {{"fixed_r", 1.0}};
  inv.fixed_hint = " (use 'dualadam' with 'fixed_r')";
  table["invadam"] = detail::entry<DualAdam>(inv);
}

}  // namespace flatmin::optim
