#include "optim/nadam.h"

#include <cmath>

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"
#include "rules/moments.h"

namespace flatmin::optim {

void NAdamOptions::check(const std::string& who) const {
  if (form() != NAdamVariant::kKeras) return;
  FLATMIN_CHECK(weight_decay() == 0.0,
                who << " (keras form): weight_decay = " << weight_decay()
                    << " violates weight_decay = 0 (the MIAdam repository's Nadam has no weight decay; use 'nadam' "
                       "for torch's coupled or decoupled decay)");
  FLATMIN_CHECK(!torch113_mu_product_bug() && !decoupled_weight_decay(),
                who << " (keras form): torch113_mu_product_bug and decoupled_weight_decay are torch.optim.NAdam "
                       "options (use 'nadam')");
}

double nadam_mu(double beta1, double momentum_decay, int64_t t) {
  return beta1 * (1.0 - 0.5 * std::pow(0.96, static_cast<double>(t) * momentum_decay));  // μ_t (torch, Keras)
}

/// Scalars of step t, after Π has been advanced to Π_t (`mu_product`).
template <class S>
rules::NAdamCoeffs<S> NAdamRule::coeffs(const NAdamOptions& o, const StepContext& ctx) {
  const int64_t t = ctx.t;
  const double mu_product = ctx.scalars[0];  // Π_t, advanced by advance()
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
  c.inv_bc2 = static_cast<S>(1.0 / rules::bias_correction(beta2, t));
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
  c.keras = o.form() == NAdamVariant::kKeras;
  c.lerp_large = !c.keras && !(std::abs(w) < 0.5);  // ATen lerp's two forms
  c.coupled_wd = o.weight_decay() != 0.0 && !o.decoupled_weight_decay();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.decoupled_weight_decay();
  return c;
}

FLATMIN_INSTANTIATE_ELEMENTWISE(NAdam, NAdamRule);

void register_nadam(detail::RegistryTable& table) {
  Preset torch_form;
  torch_form.fixed = {{"form", "torch"}};
  torch_form.hidden = {"form"};
  table["nadam"] = detail::entry<NAdam>(torch_form);
  Preset keras;
  keras.fixed = {{"form", "keras"}};
  keras.hidden = {"form", "decoupled_weight_decay", "torch113_mu_product_bug"};
  keras.spellings = {{"schedule_decay", "momentum_decay"}};
  table["nadam_keras"] = detail::entry<NAdam>(keras);
}

}  // namespace flatmin::optim
