#pragma once
/// \file
/// Noise-free continuous-time optimizer flows (theory.md §6), integrated with Boost.Odeint's
/// adaptive Dormand–Prince 5(4) stepper with dense output, on any d-dimensional landscape given by
/// its gradient. Time unit: Δt = `lr` per iteration, so t/Δt = step count. Element-wise:
///   sgd:       θ̇ = −g
///   momentum:  ṁ = ((1−β1)/Δt)(g − m),  θ̇ = −m
///   adam:      ṁ = ((1−β1)/Δt)(g − m),  v̇ = ((1−β2)/Δt)(g² − v),  b_i = 1 − β_i^{t/Δt},
///              θ̇ = −(α/Δt)(m/b1)/(sqrt(v/b2) + ε)
///   miadam:    adam's m, v plus the chain ẋ_j = (x_{j−1} − (1−κ)x_j)/Δt (x_0 = m),
///              θ̇ = −(α^{n+1}/Δt)(x_n/b1)/(sqrt(v/b2) + ε)       (official α^{n+1})
/// The flow starts at t0 = Δt from the state after the first discrete step (m = (1−β1)g0,
/// v = (1−β2)g0², x_j = m), so the bias corrections are finite.

#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace flatmin::theory {

struct FlowOptions {
  std::string dynamics = "sgd";  ///< sgd, momentum, adam, miadam
  double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, kappa = 1.0;
  int order = 1;
  double abs_tol = 1e-10, rel_tol = 1e-8;
};

struct FlowTrajectory {
  std::vector<double> t;               ///< output times (continuous; steps = t/lr)
  std::vector<Eigen::VectorXd> theta;  ///< θ at those times
};

using GradFn = std::function<Eigen::VectorXd(const Eigen::VectorXd&)>;

/// Integrates from t0 = lr to t_end, recording θ every `t_out` (and at t_end). Throws
/// common::InputError on bad options, common::DivergedError (naming t and the step t/lr) when a
/// recorded θ is non-finite.
FlowTrajectory integrate_flow(const GradFn& grad, const Eigen::VectorXd& theta0, double t_end, double t_out,
                              const FlowOptions& opt);

}  // namespace flatmin::theory
