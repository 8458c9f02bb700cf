#include "optim/adamax.h"

#include <cmath>

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

template <class S>
rules::AdamaxCoeffs<S> AdamaxRule::coeffs(const AdamaxOptions& o, const StepContext& ctx) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double clr = o.lr() / (1.0 - std::pow(beta1, static_cast<double>(ctx.t)));  // clr = lr / bias_correction
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

FLATMIN_INSTANTIATE_ELEMENTWISE(Adamax, AdamaxRule);

void register_adamax(detail::RegistryTable& table) { table["adamax"] = detail::entry<Adamax>(); }

}  // namespace flatmin::optim
