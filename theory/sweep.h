#pragma once
/// \file
/// Slope studies (theory.md §8 "Suggested plots and tests"): log τ against B/η (SGD), √B/η (Adam),
/// 1/k (SGD), 1/√k (Adam) and log k (white noise), each point a Monte Carlo escape time beside the
/// exact quadrature and the asymptotic formula, with fitted and predicted slopes.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "theory/escape.h"
#include "theory/escape_nd.h"

namespace flatmin::theory {

enum class SweepAxis { BOverEta, SqrtBOverEta, InvK, InvSqrtK, LogK };
std::string to_string(SweepAxis a);

struct SweepPoint {
  double x = 0, lr = 0, batch = 0, k = 0;
  double mc_mean = 0, mc_stderr = 0, exact = 0, bias = 0, predicted = 0, predicted_exponent = 0;
};

struct SweepStudy {
  std::string name;
  SweepAxis axis = SweepAxis::BOverEta;
  std::string dynamics;
  std::vector<SweepPoint> points;
  double fitted = 0, fitted_se = 0;  ///< weighted LS slope of log(MC τ) vs x (weights 1/se(log τ)²)
  double exact_slope = 0;            ///< LS slope of log(exact τ) (NaN without an oracle)
  double predicted_slope = 0;        ///< slope of the formula's exponent (the paper's claim)
  double predicted_full_slope = 0;   ///< LS slope of log(formula τ) incl. the prefactor
  double rel_tol = 0.05;
  bool holds = false;                ///< |fitted − predicted_full| ≤ 3·se + rel_tol·|predicted_full|
};

/// A parsed and validated study: every point's problem, ready to run.
struct SweepPlan {
  std::string name;
  SweepAxis axis = SweepAxis::BOverEta;
  double rel_tol = 0.05;
  bool nd = false;                           ///< d-dimensional base (model_nd.h)
  std::vector<EscapeProblem> problems;       ///< per point; for nd only the dynamics and k (the axis)
  std::vector<EscapeProblemND> nd_problems;  ///< per point when nd
  EscapeRun run;                             ///< paths, seed, threads of `base`
};

/// Parses one study: `cfg` = {"name", "axis", "base": escape config, "vary": "lr"|"batch"|"k",
/// "values": [...], "rel_tol"?, "claim"?}. The run keys (paths, seed, threads) come from `base`.
/// Throws common::InputError before any simulation.
SweepPlan parse_sweep_study(const nlohmann::json& cfg);
/// Runs a parsed study.
SweepStudy run_sweep_study(const SweepPlan& plan, bool progress = false);
/// parse_sweep_study, then run_sweep_study.
SweepStudy run_sweep_study(const nlohmann::json& cfg, bool progress = false);

/// Weighted least-squares slope and its standard error.
void weighted_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sy,
                    double& slope, double& se);

nlohmann::json to_json(const SweepStudy& s);

/// Writes dir/sweep_<name>.csv (x, lr, batch, k, mc_mean, mc_stderr, exact, predicted, log_mc,
/// log_exact, log_predicted) per study and dir/slopes.csv (one row per study), atomically.
void write_sweep_csvs(const std::vector<SweepStudy>& studies, const std::filesystem::path& dir);

}  // namespace flatmin::theory
