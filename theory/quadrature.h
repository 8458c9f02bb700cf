#pragma once
/// \file
/// Exact 1-D mean first-passage time (theory.md §5), the test oracle for the overdamped dynamics.
///
/// For dθ = −F(θ) dt + sqrt(2D(θ)) dW started at θ0, absorbing at c, reflecting at `left`:
///   τ(θ0) = ∫_{θ0}^{c} dy e^{Φ(y)} ∫_{left}^{y} e^{−Φ(z)}/D(z) dz,   Φ(x) = ∫_{θ0}^{x} F/D,
/// evaluated with cumulative trapezoid sums on two uniform segments [left, θ0] and [θ0, c]
/// (Φ is referenced to θ0, which avoids overflow).

#include <functional>

#include "theory/model1d.h"

namespace flatmin::theory {

struct QuadratureOptions {
  double left_factor = 3.0;  ///< left boundary = a − (left_factor − 1)(b − a) (double well: −3/√k, theory.md §8)
  int intervals = 200000;    ///< total trapezoid intervals
};

/// τ for general F, D (D > 0 on [left, c]).
double first_passage_time(const std::function<double(double)>& F, const std::function<double(double)>& D, double left,
                          double x0, double c, int intervals);

/// Exact τ of an overdamped problem (state_dim() == 1) with absorbing point `c` (NaN = p.absorb).
/// Throws common::InputError when the problem has momentum or a chain (no 1-D oracle).
double exact_escape_time(const EscapeProblem& p, const QuadratureOptions& q = {}, double c = std::nan(""));

/// ΔΦ = Φ(saddle) − Φ(a): the Arrhenius exponent of the overdamped problem.
double exact_exponent(const EscapeProblem& p, int intervals = 20000);

/// Discrete-monitoring bias of Euler–Maruyama first passage (path crosses c and comes back within
/// a step): τ evaluated at the shifted barrier c + β·sqrt(2D(c)·dt), β = −ζ(1/2)/sqrt(2π) = 0.5826
/// (Broadie–Glasserman–Kou continuity correction), minus τ(c). Positive: the MC is biased up.
double discretisation_bias(const EscapeProblem& p, const QuadratureOptions& q = {});

}  // namespace flatmin::theory
