#pragma once
/// \file
/// What every Adam-family rule's per-step coefficients share: the two moment decays (and their
/// complements, as the official code computes them in double: `1 - beta`), ε and the weight decay.
/// A rule's Coeffs derive from MomentCoeffs; `moment_coeffs` fills them from any options type with
/// betas() (a (β1, β2) tuple), eps() and weight_decay(). `bias_correction` is 1 − β^t.
#include <cmath>
#include <cstdint>
#include <tuple>

namespace flatmin::rules {

template <class S>
struct MomentCoeffs {
  S beta1, one_minus_beta1, beta2, one_minus_beta2;
  S eps;
  S weight_decay;
};

/// 1 − β^t in double (torch: `bias_correction = 1 - beta ** step`).
inline double bias_correction(double beta, std::int64_t t) { return 1.0 - std::pow(beta, static_cast<double>(t)); }

/// Fills the shared coefficients of `c` from the options `o`.
template <class S, class O>
void set_moment_coeffs(MomentCoeffs<S>& c, const O& o) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  c.beta1 = static_cast<S>(beta1);
  c.one_minus_beta1 = static_cast<S>(1.0 - beta1);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  c.eps = static_cast<S>(o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
}

}  // namespace flatmin::rules
