#pragma once
/// \file
/// Whole runs of the theory checks as JSON-in / JSON-out functions (shared by the flatmin-theory
/// subcommands and by `flatmin reproduce`). Nothing here writes files.

#include <nlohmann/json.hpp>

#include "theory/escape.h"
#include "theory/flow.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"
#include "theory/regret.h"
#include "theory/sweep.h"

namespace flatmin::theory {

/// escape-time: parses `cfg` (model1d.h keys + paths, seed, threads, survival_points,
/// quadrature_intervals), runs the Monte Carlo and returns the summary: mean_escape_time, stderr,
/// paths, escaped, censored, median_escape_time, exact (null unless overdamped 1-D),
/// exact_exponent, discretisation_bias, predicted, predicted_formula, predicted_exponent,
/// path_parameter, laplace, survival {t, S}, particle_steps, wall_time_s, particle_steps_per_s,
/// config (resolved). `result_out` (optional) receives the raw result.
nlohmann::json escape_time_summary(const nlohmann::json& cfg, bool progress, EscapeResult* result_out = nullptr);

/// escape-time summary for a d-dimensional config (same keys as escape_time_summary; `exact` is
/// the θ₁-marginal quadrature when has_exact_oracle, else null) plus `geometry`.
nlohmann::json escape_time_summary_nd(const nlohmann::json& cfg, bool progress, EscapeResult* result_out = nullptr);

/// The summary keys every escape-time run shares, 1-D or d-dim: statistics, the exact block
/// (quadrature of `oracle`, the 1-D problem whose first passage is the run's, or nulls), the
/// prediction, survival curve, throughput and the resolved config (+ paths, seed, threads,
/// survival_points, quadrature_intervals).
nlohmann::json escape_summary(const EscapeResult& r, const EscapeRun& run, const Prediction& pred,
                              const EscapeProblem* oracle, const QuadratureOptions& q, nlohmann::json resolved);

/// quadrature_intervals (integer >= 100) of an escape config, else the default.
QuadratureOptions parse_quadrature_options(const nlohmann::json& cfg);

/// sweep: cfg = {"studies": [study, ...], "defaults"?: {escape keys merged under every base}}.
/// Returns the studies (parsing all of them before running any).
std::vector<SweepStudy> run_sweeps(const nlohmann::json& cfg, bool progress);

/// flow: the noise-free Odeint flow (flow.h) of one config: {"landscape": double_well |
/// quadratic_double_well | yang (as escape-time), "start": [θ0...] (default: the start minimum
/// displaced by "offset" (default 0.05) along the first coordinate), "dynamics", "lr", "beta1",
/// "beta2", "eps", "kappa", "order", "abs_tol", "rel_tol", "t_end", "t_out"}. Unknown keys and bad
/// values throw common::InputError before integrating. Returns the summary (final_theta,
/// final_value, final_grad_norm, samples, config) and fills `traj`.
nlohmann::json flow_run(const nlohmann::json& cfg, FlowTrajectory& traj);

}  // namespace flatmin::theory
