#pragma once
/// \file
/// The d-dimensional escape problem (d >= 1; issue 5, multi-dimensional part), as model1d.h is the
/// 1-D one: the quadratic double well of landscape.h (d = 1..4) and Yang 2020 (d = 2, from the
/// sharp minimum a+ across the saddle u+ of theory.md §11.4), its noise, dynamics and exit.
/// The Monte Carlo is escape_nd.h, the predictions predictions_nd.h.
///
/// Noise (per-step gradient covariance C):
///   "white":   C = (2T/η)·I, so SGD's diffusion is D = ηC/2 = T·I (theory.md §3(A)).
///   "hessian": C = |H(θ)|_f / B, |H|_f = Q·max(|Λ|, f·h_ref)·Qᵀ (the spectral absolute value of
///              the local Hessian with every eigenvalue floored at f·h_ref, f = hessian_floor,
///              default 0.25; h_ref = H_ae, the start minimum's curvature along the exit direction
///              (hessian_floor_ref "escape", default; for d = 1 exactly model1d.h's floor f·H_a) or
///              λ_min(H_a) (hessian_floor_ref "min")).
/// Dynamics (state θ ∈ R^d, m ∈ R^d if β1 > 0 or momentum, x_1 ∈ R^d for miadam; P = C^{-1/2} for
/// adam/miadam, I for sgd/momentum; theory.md §6, component-wise the 1-D forms of model1d.h):
///   overdamped: dθ = −P∇L dt + P·sqrt(η)·C^{1/2} dW
///   momentum:   dθ = −P m dt, dm = r(∇L − m) dt + r·sqrt(η)·C^{1/2} dW, r = (1−β1)/η
///   adai:       momentum with a per-coordinate rate r_i = clamp(β0·v̂_i/v̄, ε, 1)/η, v̂_i = C_ii(θ)
///              (optimizers.md §10); v̄ fixed ("vbar", default the mean of C_ii at the start minimum),
///              or "vbar_rule": "mean", the mean of C_ii(θ) over the d coordinates at every step
///              (Adai's literal rule; it couples the coordinates).
///   miadam (order n = 1..3): dx_j = (x_{j−1} − (1−κ)x_j)/η dt (x_0 = m, or the raw gradient when
///              β1 = 0 with noise sqrt(1/η)·C^{1/2} dW on x_1), dθ = −ηⁿ P x_n dt.
/// Absorbing condition (docs/theory.md): the hyperplane normal to the saddle's unstable unit
/// eigenvector e (oriented from a towards u): exit at the first step with
///   (θ − u)·e >= absorb_fraction · (u − a)·e          (default absorb_fraction 0.5)
/// which for d = 1 is the 1-D problem's c = b + (b − a)/2.

#include <string>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "theory/landscape.h"
#include "theory/model1d.h"

namespace flatmin::theory {

enum class LandscapeND { QuadraticDoubleWell, Yang2020 };

/// The d-dimensional problem: landscape, the shared dynamics (noise white or hessian; no invadam) and its resolved geometry.
struct EscapeProblemND : DynamicsParams {
  EscapeProblemND() { noise = NoiseType::White; }
  LandscapeND type = LandscapeND::QuadraticDoubleWell;
  QuadraticDoubleWell qdw;  ///< when type == QuadraticDoubleWell
  bool floor_ref_min = false;  ///< hessian_floor_ref: false = "escape" (f·H_ae), true = "min" (f·λ_min(H_a))
  bool vbar_mean = false;      ///< adai: v̄ = mean of C_ii(θ) at every step instead of the fixed vbar
  double absorb_fraction = 0.5;
  double rho = -1;  ///< path parameter s/ϱ of (B)–(D)/Eq. 14–15 given by the user (config "rho"); < 0 = computed
  // Resolved by parse_escape_problem_nd:
  CriticalPoint a, u;        ///< start minimum and the saddle crossed
  EscapeGeometry geom;       ///< ΔL, H_ae, H_ue, e, det ratio^{1/4} (landscape.h)
  Eigen::VectorXd e;         ///< unstable unit eigenvector of H_u, oriented so (u − a)·e > 0
  double absorb_offset = 0;  ///< exit when (θ − u)·e >= absorb_offset
  double floor_abs = 0;      ///< f·H_ae or f·λ_min(H_a)

  int dim() const { return type == LandscapeND::Yang2020 ? 2 : qdw.dim(); }
  /// Adai's fixed v̄ (vbar, or the mean of C_ii at the start minimum).
  double adai_vbar() const;
  bool overdamped() const { return !has_momentum() && chain() == 0; }
  /// Whether C(θ) and P(θ) are diagonal (white noise, or the separable double well).
  bool diagonal() const { return noise == NoiseType::White || type == LandscapeND::QuadraticDoubleWell; }
  Eigen::VectorXd grad(const Eigen::VectorXd& x) const;
  Eigen::MatrixXd hess(const Eigen::VectorXd& x) const;
  double value(const Eigen::VectorXd& x) const;
  /// C(θ) (per-step gradient-noise covariance).
  Eigen::MatrixXd noise_cov(const Eigen::VectorXd& x) const;
};

/// True when `cfg["landscape"]["type"]` names a d-dimensional landscape.
bool is_nd_config(const nlohmann::json& cfg);
/// Parses and validates (keys: landscape {type: quadratic_double_well, d, dL, k, lambda[] | yang},
/// noise, T, hessian_floor, hessian_floor_ref, dynamics, lr, batch, beta1, kappa, order, beta0, adai_eps, vbar,
/// vbar_rule, dt, t_max, absorb_fraction, rho,
/// + run keys). Throws common::InputError naming the problem.
EscapeProblemND parse_escape_problem_nd(const nlohmann::json& cfg);
nlohmann::json to_json(const EscapeProblemND& p);

/// The separable double well's θ₁ marginal as the 1-D problem (same noise, dynamics, dt, floor):
/// for the quadratic double well with overdamped sgd/adam the exit time depends on θ₁ only, so
/// its exact quadrature is an oracle. Throws std::logic_error for Yang.
EscapeProblem marginal_problem(const EscapeProblemND& p);
/// True when marginal_problem's quadrature is the exact mean escape time (QDW, overdamped).
bool has_exact_oracle(const EscapeProblemND& p);

}  // namespace flatmin::theory
