#pragma once
/// \file
/// The 1-D escape problem: landscape, gradient-noise model and continuous-time optimizer dynamics
/// (theory.md §1, §5, §6; issue 5 "Definitions the checks rely on").
///
/// Time is continuous with one iteration = η (t = η·steps). Per step the minibatch gradient is
/// g = L'(θ) + ξ with Var ξ = C(θ):
///   - "sgd_shaped": C = h_k(θ)/B  (h_k of DoubleWell1D; the worked example of theory.md §5)
///   - "hessian":    C = max(|L''(θ)|, floor·H_a)/B (C ≈ H/B; the floor keeps C > 0 at the
///                   inflection points where L'' = 0 — default floor 0.25, see docs/theory.md)
///   - "white":      C = 2T/η, so that SGD's diffusion D = ηC/2 = T (GD with injected noise).
/// Preconditioner P(θ) (quasi-static v̂ ≈ C): 1 for sgd/momentum/adai, C^{-1/2} for adam/miadam,
/// C^{+1/2} for invadam (theory.md §4).
/// State x = [θ, m (if β1 > 0 or adai), x_1..x_n (miadam)]:
///   overdamped (no m, n = 0):  dθ = −P L' dt + P sqrt(ηC) dW
///   momentum:  dθ = −P m dt,  dm = r (L' − m) dt + r sqrt(ηC) dW,  r = (1−β1)/η   (theory.md §6)
///              adai: r = clamp(β0·C(θ)/v̄, ε, 1)/η (optimizers.md §10 with v̂ ≈ C)
///   miadam (leaky-integral chain, theory.md §6):  x_0 = m (or the raw g when β1 = 0)
///              dx_j = (x_{j−1} − (1−κ) x_j)/η dt  (+ sqrt(C/η) dW on x_1 when x_0 = g)
///              dθ = −η^n P x_n dt                 (the code's α^{n+1} per step, optimizers.md §12)
/// κ = 1 is the pure integral of Theorem 1.

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "theory/landscape.h"

namespace flatmin::common {
class ConfigReader;
}

namespace flatmin::theory {

enum class NoiseType { White, SgdShaped, Hessian };
enum class DynamicsType { Sgd, Momentum, Adam, Adai, InvAdam, MIAdam };

std::string to_string(NoiseType t);
std::string to_string(DynamicsType t);

/// The noise and optimizer-dynamics parameters shared by the 1-D and the d-dimensional escape problems.
struct DynamicsParams {
  NoiseType noise = NoiseType::SgdShaped;
  double T = 0.1;               ///< white-noise temperature
  double hessian_floor = 0.25;  ///< "hessian" noise: eigenvalues of |H| floored at floor·(reference curvature)
  DynamicsType dynamics = DynamicsType::Sgd;
  double lr = 0.1;     ///< η (= α)
  double batch = 1.0;  ///< B (= δ), a continuous noise-scale knob
  double beta1 = 0.0;
  double kappa = 1.0;
  int order = 1;       ///< miadam chain length n
  double beta0 = 0.1;  ///< adai
  double adai_eps = 1e-3;
  double vbar = 0;     ///< adai's fixed reference v̄; 0 = the noise variance at the start minimum
  double dt = 2e-3;
  double t_max = 1e5;  ///< paths not escaped by t_max are censored

  /// True when the state carries the momentum m.
  bool has_momentum() const { return dynamics == DynamicsType::Momentum || dynamics == DynamicsType::Adai || beta1 > 0.0; }
  /// The MIAdam chain length n (0 for the other dynamics).
  int chain() const { return dynamics == DynamicsType::MIAdam ? order : 0; }
};

/// Reads the shared keys T, hessian_floor, dynamics (one of `dynamics`), lr, batch, beta1 (default 0.9 for
/// momentum, else 0), kappa, order, beta0, adai_eps, vbar, dt, t_max into `d` (its values are the defaults). The
/// noise is the caller's (its spelling differs between the problems); check with check_dynamics_params.
void read_dynamics_params(common::ConfigReader& r, DynamicsParams& d, std::initializer_list<std::string_view> dynamics);
/// InputError naming the first parameter out of range (T > 0, 0 < hessian_floor <= 1, lr > 0, ...).
void check_dynamics_params(const DynamicsParams& d);

struct EscapeProblem : DynamicsParams {
  DoubleWell1D landscape;
  double start = 0;    ///< θ0 (resolved: the minimum a)
  double absorb = 0;   ///< c (resolved: 0.5/√k)
  /// Two-sided exit (key `absorb_below`): paths are also absorbed at θ <= absorb_below (−inf = one-sided, the
  /// default). Used for the time to leave a saddle region; the quadrature oracle is one-sided only.
  double absorb_below = -std::numeric_limits<double>::infinity();
  double H_a = 8.0;    ///< resolved curvature at the start minimum (hessian floor)

  /// Gradient-noise variance C(θ) per step (inline: the SDE inner loop calls it every step).
  double noise_var(double th) const {
    switch (noise) {
      case NoiseType::White: return 2.0 * T / lr;
      case NoiseType::SgdShaped: return landscape.h_sgd(th) / batch;
      case NoiseType::Hessian: {
        const double floor = hessian_floor * H_a;
        const double h = std::abs(landscape.hess(th));
        return (h > floor ? h : floor) / batch;
      }
    }
    return 0;
  }
  /// Preconditioner P(θ).
  double precond(double th) const {
    switch (dynamics) {
      case DynamicsType::Adam:
      case DynamicsType::MIAdam: return 1.0 / std::sqrt(noise_var(th));
      case DynamicsType::InvAdam: return std::sqrt(noise_var(th));
      default: return 1.0;
    }
  }
  int state_dim() const { return 1 + (has_momentum() ? 1 : 0) + chain(); }
  bool overdamped() const { return state_dim() == 1; }
  bool two_sided() const { return std::isfinite(absorb_below); }
  double adai_vbar() const;
  /// Overdamped effective drift F_eff = P L' and diffusion D_eff = ηP²C/2 (dθ = −F_eff dt + sqrt(2D_eff) dW).
  double drift_eff(double th) const { return precond(th) * landscape.grad(th); }
  double diff_eff(double th) const {
    const double p = precond(th);
    return 0.5 * lr * p * p * noise_var(th);
  }
};

/// Euler–Maruyama must resolve the fastest linear rate of the dynamics (theory.md §6): `curv`, the
/// fastest curvature rate P·λ; the momentum rate (1−β1)/η (Adai: up to 1/η); the MIAdam chain's
/// leak (1−κ)/η and its θ ↔ x_n oscillation sqrt(η^(n−1)·curv). InputError unless rate·dt < 0.5.
/// Shared by the 1-D and the d-dimensional problems.
void check_dt_resolves(double curv, const DynamicsParams& d);

/// Parses and validates an escape-time config (keys: landscape, noise, T, dynamics, lr, batch, beta1,
/// kappa, order, beta0, adai_eps, vbar, hessian_floor, dt, start, absorb, absorb_below, t_max; run keys paths, seed,
/// threads, survival_points, quadrature_intervals are validated by the caller). Unknown keys are an
/// error. Throws common::InputError naming the problem.
EscapeProblem parse_escape_problem(const nlohmann::json& cfg);
/// The resolved problem as JSON (every parameter, defaults filled in).
nlohmann::json to_json(const EscapeProblem& p);

}  // namespace flatmin::theory
