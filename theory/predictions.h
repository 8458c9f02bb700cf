#pragma once
/// \file
/// Asymptotic escape-time formulas (A)–(F) of theory.md §3 (each equation lives here only), the
/// InvAdam sketch (§4), the generic 1-D Laplace form (§5) and `predict()`, which picks the formula
/// that belongs to an EscapeProblem. Times are continuous (one iteration = η). Formulas (A)–(E)
/// use Xie et al.'s notation (saddle b); (F) the MIAdam paper's (saddle u, α, δ, ϱ, t̃).

#include <string>

#include "theory/model1d.h"

namespace flatmin::theory {

/// (A) white noise, D = T: τ = 2π/|H_be|·sqrt(|det H_b|/det H_a)·e^{ΔL/T}. In 1-D pass
/// det_ratio = |H_b|/H_a, which gives 2π/sqrt(H_a|H_b|) e^{ΔL/T}.
double tau_white_A(double H_be, double det_ratio_b_over_a, double dL, double T);
/// Kramers with mass M for constant T (theory.md §6 [derived]):
/// τ = π[sqrt(1 + 4M|H_b|) + 1]/sqrt(H_a|H_b|)·e^{ΔL/T}.
double tau_white_mass(double H_a, double H_b, double M, double dL, double T);
/// (B) SGD: τ = 2π/|H_be|·exp[(2BΔL/η)(s/H_ae + (1−s)/|H_be|)].
double tau_sgd_B(double eta, double B, double dL, double H_ae, double H_be, double s);
/// (C) SGD momentum: τ = π[sqrt(1 + 4η|H_be|/(1−β1)) + 1]/|H_be|·exp[(2BΔL/η)(s/H_ae + (1−s)/|H_be|)].
double tau_momentum_C(double eta, double B, double beta1, double dL, double H_ae, double H_be, double s);
/// (D) Adam (= Eq. 15 with α = η, δ = B, u = b, ϱ = s).
double tau_adam_D(double eta, double B, double beta1, double dL, double H_ae, double H_be, double det_quarter, double s);
/// (E) Adai [derived reading, theory.md §3(E)]: π[sqrt(1 + 4ηBv̄/β0) + 1]/|H_be|·(SGD's exponential);
/// v̄ in units where v̂_e = |H_be|/B.
double tau_adai_E(double eta, double B, double beta0, double vbar, double dL, double H_ae, double H_be, double s);
/// MIAdam Eq. 14 (Theorem 1), MIAdam1 before the switch at continuous time t̃.
double phi_miadam1_eq14(double alpha, double delta, double beta1, double t_tilde, double dL, double H_ae, double H_ue,
                        double det_quarter, double rho);
/// MIAdam Eq. 15 (Adam, quoted from Xie et al. 2022).
double phi_adam_eq15(double alpha, double delta, double beta1, double dL, double H_ae, double H_ue, double det_quarter,
                     double rho);
/// Mean of the time-inhomogeneous escape with rate 1/φ14(t̃) (theory.md §9 step 4):
/// ∫_0^∞ exp(−∫_0^t dt̃/φ14(t̃)) dt, with t̃ = α·steps = the continuous time since the buffer was reset.
double mean_time_eq14(double alpha, double delta, double beta1, double dL, double H_ae, double H_ue, double det_quarter,
                      double rho);

/// Laplace asymptotics of the 1-D quadrature (theory.md §5): 2π sqrt(D_b/D_a)/sqrt(F'_a|F'_b|)·e^{ΔΦ}.
double tau_laplace_1d(const EscapeProblem& p);

/// Path-dependent parameter s ∈ (0, 1) for SGD-type noise: s/H_a + (1−s)/|H_b| = (1/ΔL)∫_a^b L'/(B·C).
double path_parameter_sgd(const EscapeProblem& p);
/// Same for Adam-type: s/√H_a + (1−s)/√|H_b| = (1/ΔL)∫_a^b L'/sqrt(B·C).
double path_parameter_adam(const EscapeProblem& p);

struct Prediction {
  double tau = 0;          ///< predicted mean escape time
  double exponent = 0;     ///< the exponent of the formula (log τ minus log prefactor)
  double s = 0;            ///< path parameter used (NaN if none)
  std::string formula;     ///< e.g. "(B) Xie SGD", "Eq. 14 (survival-integrated)"
};

/// The asymptotic formula for the problem's dynamics and noise (see docs/theory.md for the table).
Prediction predict(const EscapeProblem& p);

}  // namespace flatmin::theory
