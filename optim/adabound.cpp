#include "optim/adabound.h"

#include <cmath>
#include <limits>

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

std::pair<double, double> adabound_bounds(const AdaBoundOptions& o, int64_t t) {
  // adabound.py: final_lr = group['final_lr'] * group['lr'] / base_lr  ("lr_scheduler cannot affect
  // final_lr, this is a workaround to apply lr decay")
  const double final_lr = o.final_lr() * o.lr() / *o.base_lr();
  if (o.gamma() == 0.0) return {0.0, std::numeric_limits<double>::infinity()};  // γ → 0 limit (official: ZeroDivisionError)
  const double gt = o.gamma() * static_cast<double>(t);
  return {final_lr * (1.0 - 1.0 / (gt + 1.0)),  // lower_bound = final_lr * (1 - 1 / (gamma * step + 1))
          final_lr * (1.0 + 1.0 / gt)};         // upper_bound = final_lr * (1 + 1 / (gamma * step))
}

template <class S>
rules::AdaBoundCoeffs<S> AdaBoundRule::coeffs(const AdaBoundOptions& o, const StepContext& ctx) {
  const int64_t t = ctx.t;
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = rules::bias_correction(beta1, t);
  const double bc2 = rules::bias_correction(beta2, t);
  const auto [lower, upper] = adabound_bounds(o, t);
  rules::AdaBoundCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.step_size = static_cast<S>(o.lr() * std::sqrt(bc2) / bc1);  // step_size = lr * sqrt(bc2) / bc1
  c.lower = static_cast<S>(lower);
  c.upper = static_cast<S>(upper);
  c.coupled_wd = o.weight_decay() != 0.0 && !o.weight_decouple();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.weight_decouple();
  c.amsbound = o.amsbound();
  return c;
}

void AdaBound::prepare_group(AdaBoundOptions& o, const std::vector<torch::Tensor>&, size_t) {
  if (!o.base_lr()) o.base_lr(o.lr());  // official: self.base_lrs = [group['lr'] for each group]
}

void AdaBound::begin_step() {
  for (auto& group : param_groups_) {
    auto& o = static_cast<AdaBoundOptions&>(group.options());
    if (!o.base_lr()) {
      o.base_lr(o.lr());
      o.validate();
    }
  }
}

FLATMIN_INSTANTIATE_ELEMENTWISE(AdaBound, AdaBoundRule);

void register_adabound(detail::RegistryTable& table) {
  table["adabound"] = detail::entry<AdaBound>();
  Preset ams;
  ams.fixed = {{"amsbound", true}};
  ams.fixed_hint = " (use 'adabound')";
  table["amsbound"] = detail::entry<AdaBound>(ams);
  Preset w;
  w.fixed = {{"weight_decouple", true}};
  w.fixed_hint = " (use 'adabound')";
  table["adaboundw"] = detail::entry<AdaBound>(w);
}

}  // namespace flatmin::optim
