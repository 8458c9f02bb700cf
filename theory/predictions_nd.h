#pragma once
/// \file
/// Predictions for the d-dimensional problem of model_nd.h (docs/theory.md "d dimensions"): the
/// path parameter and the formulas (A)–(E), Eq. 14–15 of predictions.h with the d-dim geometry.

#include "theory/model_nd.h"
#include "theory/predictions.h"

namespace flatmin::theory {

/// Path parameter s of (B)/(D) in d dims [derived reading, docs/theory.md]: for the double well
/// the 1-D value of the θ₁ marginal (its axis is the minimum-energy path); for Yang the 1-D
/// integral along the straight segment a → u with the curvature tᵀ|H|_f t of its direction t.
double path_parameter_nd(const EscapeProblemND& p, bool adam);

/// The d-dimensional prediction for the problem (see docs/theory.md "d dimensions"):
/// sgd + white → (A) Eyring–Kramers with |λ_u| and |det H_u|/det H_a; sgd + hessian → (B);
/// momentum + hessian → (C); adai (fixed v̄) + hessian → (E) [derived reading]; adam + hessian → (D)/Eq. 15; miadam κ=1 order 1 + hessian → Eq. 14
/// (survival-integrated); otherwise tau = NaN with the reason in `formula`. The path parameter is
/// `rho` when given, else path_parameter_nd (a value outside (0, 1) is named in `formula`).
Prediction predict_nd(const EscapeProblemND& p);

}  // namespace flatmin::theory
