#include "optim/adabelief.h"

#include <cmath>

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

template <class S>
rules::AdaBeliefCoeffs<S> AdaBeliefRule::coeffs(const AdaBeliefOptions& o, const StepContext& ctx) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double t = static_cast<double>(ctx.t);
  const double bc1 = 1.0 - std::pow(beta1, t), beta2_t = std::pow(beta2, t);
  double step = o.lr() / bc1;  // plain: step_size = lr / bias_correction1
  bool adaptive = true;
  if (o.rectify()) {  // RAdam: ρ_∞ = 2/(1−β2) − 1, ρ_t = ρ_∞ − 2tβ2^t/(1−β2^t)
    const double rho_max = 2.0 / (1.0 - beta2) - 1.0;
    const double rho = rho_max - 2.0 * t * beta2_t / (1.0 - beta2_t);
    if (rho >= 5) {
      step = std::sqrt((1.0 - beta2_t) * (rho - 4.0) / (rho_max - 4.0) * (rho - 2.0) / rho * rho_max / (rho_max - 2.0)) /
             bc1 * o.lr();
    } else {
      adaptive = false;
      step = o.degenerated_to_sgd() ? 1.0 / bc1 * o.lr() : 0.0;
    }
  }
  rules::AdaBeliefCoeffs<S> c{};
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  c.eps = static_cast<S>(o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.decay = static_cast<S>(1.0 - (o.fixed_decay() ? 1.0 : o.lr()) * o.weight_decay());
  c.sqrt_bc2 = static_cast<S>(std::sqrt(1.0 - beta2_t));
  c.neg_step = static_cast<S>(-step);
  c.coupled_wd = !o.weight_decouple() && o.weight_decay() != 0.0;
  c.decoupled_wd = o.weight_decouple() && o.weight_decay() != 0.0;
  c.amsgrad = o.amsgrad();
  c.adaptive = adaptive;
  c.rectified = o.rectify();
  return c;
}

FLATMIN_INSTANTIATE_ELEMENTWISE(AdaBelief, AdaBeliefRule);

void register_adabelief(detail::RegistryTable& table) { table["adabelief"] = detail::entry<AdaBelief>(); }

}  // namespace flatmin::optim
