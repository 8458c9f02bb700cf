#pragma once
/// \file
/// Whole runs of the theory checks as JSON-in / JSON-out functions (shared by the flatmin-theory
/// subcommands and by `flatmin reproduce`). Nothing here writes files.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "theory/escape.h"
#include "theory/flow.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"
#include "theory/regret.h"
#include "theory/sweep.h"

namespace flatmin::theory {

/// The exact block of an escape-time summary: the 1-D quadrature of the oracle problem.
struct ExactEscape {
  double time = 0, exponent = 0, discretisation_bias = 0, laplace = 0;
  std::string source;  ///< empty for the 1-D problem itself
};

/// The d-dimensional geometry of an escape-time summary (landscape.h EscapeGeometry + |det H_u|/det H_a).
struct GeometrySummary {
  double dL = 0, H_ae = 0, H_ue = 0, det_ratio = 0, det_ratio_quarter = 0;
};

/// An escape-time run's results; to_json() is its summary.json: mean_escape_time, stderr, paths,
/// escaped, censored, median_escape_time, warning (if censored), exact, exact_exponent,
/// discretisation_bias, laplace (nulls without an oracle), exact_source, predicted,
/// predicted_formula, predicted_exponent, path_parameter, survival {t, S}, particle_steps,
/// wall_time_s, particle_steps_per_s, time_unit, geometry (d dims) and config.
struct EscapeSummary {
  EscapeResult result;
  EscapeRun run;
  QuadratureOptions quadrature;
  Prediction prediction;
  std::optional<ExactEscape> exact;        ///< when the problem has a 1-D quadrature oracle
  std::optional<GeometrySummary> geometry;  ///< d-dimensional problems
  nlohmann::json problem;                   ///< the resolved problem (to_json of the problem)

  /// The resolved config: the problem plus paths, seed, threads, survival_points, quadrature_intervals.
  nlohmann::json config() const;
  nlohmann::json to_json() const;
};

/// escape-time: parses `cfg` (model1d.h / model_nd.h keys + paths, seed, threads, survival_points,
/// quadrature_intervals), runs the Monte Carlo and returns the results (exact: the quadrature for
/// overdamped 1-D dynamics, or of the θ₁ marginal for the separable d-dim double well).
EscapeSummary escape_time_summary(const nlohmann::json& cfg, bool progress);

/// escape_time_summary for a d-dimensional config (plus the geometry).
EscapeSummary escape_time_summary_nd(const nlohmann::json& cfg, bool progress);

/// The exact block of `oracle`, the 1-D problem whose first passage is the run's.
ExactEscape exact_escape(const EscapeProblem& oracle, const QuadratureOptions& q);

/// quadrature_intervals (integer >= 100) of an escape config, else the default.
QuadratureOptions parse_quadrature_options(const nlohmann::json& cfg);

/// sweep: cfg = {"studies": [study, ...], "defaults"?: {escape keys merged under every base}}.
/// Returns the studies (parsing all of them before running any).
std::vector<SweepStudy> run_sweeps(const nlohmann::json& cfg, bool progress);

/// A flow run's results and resolved config; to_json() is its summary.json (final_theta,
/// final_value, final_grad_norm, samples, time_unit, config).
struct FlowSummary {
  Eigen::VectorXd final_theta;
  double final_value = 0, final_grad_norm = 0;
  std::size_t samples = 0;
  nlohmann::json landscape;  ///< resolved
  Eigen::VectorXd start;
  FlowOptions options;
  double t_end = 0, t_out = 0;

  /// The resolved config (landscape, start, options, t_end, t_out).
  nlohmann::json config() const;
  nlohmann::json to_json() const;
};

/// flow: the noise-free Odeint flow (flow.h) of one config: {"landscape": double_well |
/// quadratic_double_well | yang (as escape-time), "start": [θ0...] (default: the start minimum
/// displaced by "offset" (default 0.05) along the first coordinate), "dynamics", "lr", "beta1",
/// "beta2", "eps", "kappa", "order", "abs_tol", "rel_tol", "t_end", "t_out"}. Unknown keys and bad
/// values throw common::InputError before integrating. Returns the results and fills `traj`.
FlowSummary flow_run(const nlohmann::json& cfg, FlowTrajectory& traj);

}  // namespace flatmin::theory
