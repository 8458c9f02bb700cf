#include "theory/sweep.h"

#include <cmath>
#include <limits>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/config.h"
#include "common/error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/output_path.h"
#include "theory/escape_nd.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"

namespace flatmin::theory {

std::string to_string(SweepAxis a) {
  switch (a) {
    case SweepAxis::BOverEta: return "B_over_eta";
    case SweepAxis::SqrtBOverEta: return "sqrtB_over_eta";
    case SweepAxis::InvK: return "inv_k";
    case SweepAxis::InvSqrtK: return "inv_sqrt_k";
    case SweepAxis::LogK: return "log_k";
  }
  return "?";
}

void weighted_slope(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& sy,
                    double& slope, double& se) {
  double S = 0, Sx = 0, Sy = 0, Sxx = 0, Sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double w = sy.empty() ? 1.0 : 1.0 / (sy[i] * sy[i]);
    S += w;
    Sx += w * x[i];
    Sy += w * y[i];
    Sxx += w * x[i] * x[i];
    Sxy += w * x[i] * y[i];
  }
  const double det = S * Sxx - Sx * Sx;
  slope = (S * Sxy - Sx * Sy) / det;
  se = sy.empty() ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(S / det);
}

namespace {

double axis_value(SweepAxis a, const EscapeProblem& p) {
  switch (a) {
    case SweepAxis::BOverEta: return p.batch / p.lr;
    case SweepAxis::SqrtBOverEta: return std::sqrt(p.batch) / p.lr;
    case SweepAxis::InvK: return 1.0 / p.landscape.k;
    case SweepAxis::InvSqrtK: return 1.0 / std::sqrt(p.landscape.k);
    case SweepAxis::LogK: return std::log(p.landscape.k);
  }
  return 0;
}

}  // namespace

SweepPlan parse_sweep_study(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "sweep-study");
  r.allow({"name", "axis", "base", "vary", "values", "rel_tol", "claim"});
  r.finish();  // a typo is named before a required key is missed
  for (const char* key : {"name", "axis", "base", "vary", "values"})
    FLATMIN_CHECK(r.has(key), "sweep study is missing '" << key << "'");
  SweepPlan s;
  s.name = r.string("name");
  common::check_file_label(s.name, "sweep study name", "its CSV file in the output folder");
  const std::string axis = r.string("axis");
  const std::string vary = r.string("vary");
  const nlohmann::json& base = r.object("base");
  const std::vector<double> values = r.numbers("values", {});
  s.rel_tol = r.number("rel_tol", 0.05);
  bool found = false;
  for (SweepAxis a : {SweepAxis::BOverEta, SweepAxis::SqrtBOverEta, SweepAxis::InvK, SweepAxis::InvSqrtK, SweepAxis::LogK})
    if (to_string(a) == axis) { s.axis = a; found = true; }
  FLATMIN_CHECK(found, "sweep '" << s.name << "': axis '" << axis << "' is not one of B_over_eta, sqrtB_over_eta, inv_k, inv_sqrt_k, log_k");
  FLATMIN_CHECK(vary == "lr" || vary == "batch" || vary == "k", "sweep '" << s.name << "': vary must be lr, batch or k");
  FLATMIN_CHECK(values.size() >= 2, "sweep '" << s.name << "': values needs >= 2 numbers");
  FLATMIN_CHECK(s.rel_tol >= 0, "sweep '" << s.name << "': rel_tol must be >= 0");
  s.nd = is_nd_config(base);
  s.run = parse_escape_run(base);
  for (const double v : values) {
    nlohmann::json c = base;
    if (vary == "k") {
      if (!c.contains("landscape")) c["landscape"] = {{"type", "double_well"}};
      c["landscape"]["k"] = v;
    } else {
      c[vary] = v;
    }
    if (s.nd) {
      s.nd_problems.push_back(parse_escape_problem_nd(c));
      // The axis and the point's knobs, through the 1-D struct's fields (the shared dynamics and k).
      EscapeProblem q;
      static_cast<DynamicsParams&>(q) = s.nd_problems.back();
      q.landscape.k = s.nd_problems.back().qdw.k;
      FLATMIN_CHECK(vary != "k" || s.nd_problems.back().type == LandscapeND::QuadraticDoubleWell,
                    "sweep '" << s.name << "': vary k needs the quadratic double well");
      s.problems.push_back(q);
      continue;
    }
    s.problems.push_back(parse_escape_problem(c));
    FLATMIN_CHECK(!(vary == "k" || s.axis == SweepAxis::InvK || s.axis == SweepAxis::InvSqrtK || s.axis == SweepAxis::LogK) ||
                      !s.problems.back().landscape.is_polynomial(),
                  "sweep '" << s.name << "': the k family needs the double-well landscape");
  }
  return s;
}

SweepStudy run_sweep_study(const nlohmann::json& cfg, bool progress) { return run_sweep_study(parse_sweep_study(cfg), progress); }

SweepStudy run_sweep_study(const SweepPlan& plan, bool progress) {
  SweepStudy s;
  s.name = plan.name;
  s.axis = plan.axis;
  s.rel_tol = plan.rel_tol;
  const auto& problems = plan.problems;
  const auto& nd_problems = plan.nd_problems;
  const bool nd = plan.nd;
  EscapeRun run = plan.run;
  run.progress = progress;
  s.dynamics = to_string(problems.front().dynamics);
  std::vector<double> xs, ly, sly, le, lp, ex;
  bool have_exact = true;
  for (std::size_t idx = 0; idx < problems.size(); ++idx) {
    const EscapeProblem& p = problems[idx];
    SweepPoint pt;
    pt.x = axis_value(s.axis, p);
    pt.lr = p.lr;
    pt.batch = p.batch;
    pt.k = p.landscape.k;
    const auto r = nd ? run_escape_mc_nd(nd_problems[idx], run) : run_escape_mc(p, run);
    FLATMIN_CHECK(r.censored == 0, "sweep '" << s.name << "': " << r.censored << " paths did not escape by t_max = " << p.t_max
                                             << " at x = " << pt.x << "; raise t_max");
    pt.mc_mean = r.mean;
    pt.mc_stderr = r.stderr_;
    const auto pred = nd ? predict_nd(nd_problems[idx]) : predict(p);
    pt.predicted = pred.tau;
    pt.predicted_exponent = pred.exponent;
    if (nd && has_exact_oracle(nd_problems[idx])) {
      const EscapeProblem m = marginal_problem(nd_problems[idx]);
      pt.exact = exact_escape_time(m);
      pt.bias = discretisation_bias(m);
    } else if (!nd && p.overdamped() && !p.two_sided()) {
      pt.exact = exact_escape_time(p);
      pt.bias = discretisation_bias(p);
    } else {
      pt.exact = pt.bias = std::numeric_limits<double>::quiet_NaN();
      have_exact = false;
    }
    s.points.push_back(pt);
    xs.push_back(pt.x);
    ly.push_back(std::log(pt.mc_mean));
    sly.push_back(pt.mc_stderr / pt.mc_mean);  // delta method
    le.push_back(std::log(pt.exact));
    lp.push_back(std::log(pt.predicted));
    ex.push_back(pt.predicted_exponent);
  }
  weighted_slope(xs, ly, sly, s.fitted, s.fitted_se);
  double dummy;
  if (have_exact) weighted_slope(xs, le, {}, s.exact_slope, dummy);
  else s.exact_slope = std::numeric_limits<double>::quiet_NaN();
  weighted_slope(xs, lp, {}, s.predicted_full_slope, dummy);
  if (s.axis == SweepAxis::LogK) s.predicted_slope = s.predicted_full_slope;  // (A): the prefactor is the claim
  else weighted_slope(xs, ex, {}, s.predicted_slope, dummy);
  s.holds = std::abs(s.fitted - s.predicted_full_slope) <= 3 * s.fitted_se + s.rel_tol * std::abs(s.predicted_full_slope);
  return s;
}

nlohmann::json to_json(const SweepStudy& s) {
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& p : s.points)
    pts.push_back({{"x", p.x}, {"lr", p.lr}, {"batch", p.batch}, {"k", p.k}, {"mc_mean", p.mc_mean}, {"mc_stderr", p.mc_stderr},
                   {"exact", std::isfinite(p.exact) ? nlohmann::json(p.exact) : nlohmann::json()},
                   {"predicted", p.predicted}, {"predicted_exponent", p.predicted_exponent}});
  return {{"name", s.name}, {"axis", to_string(s.axis)}, {"dynamics", s.dynamics}, {"fitted_slope", s.fitted},
          {"fitted_slope_stderr", s.fitted_se},
          {"exact_slope", std::isfinite(s.exact_slope) ? nlohmann::json(s.exact_slope) : nlohmann::json()},
          {"predicted_slope", s.predicted_slope}, {"predicted_full_slope", s.predicted_full_slope}, {"rel_tol", s.rel_tol},
          {"holds", s.holds}, {"points", pts}};
}

}  // namespace flatmin::theory

namespace flatmin::theory {

void write_sweep_csvs(const std::vector<SweepStudy>& studies, const std::filesystem::path& dir) {
  for (const auto& s : studies) {
    common::AtomicFile f(dir / ("sweep_" + s.name + ".csv"));
    common::CsvWriter csv(f.stream(), {"x", "lr", "batch", "k", "mc_mean", "mc_stderr", "exact", "predicted", "log_mc",
                                       "log_exact", "log_predicted"});
    for (const auto& p : s.points)
      csv.row({p.x, p.lr, p.batch, p.k, p.mc_mean, p.mc_stderr, p.exact, p.predicted, std::log(p.mc_mean), std::log(p.exact),
               std::log(p.predicted)});
    f.commit();
  }
  common::AtomicFile f(dir / "slopes.csv");
  common::CsvWriter csv(f.stream(), {"name", "dynamics", "axis", "fitted_slope", "fitted_stderr", "exact_slope",
                                     "predicted_slope", "predicted_full_slope", "holds"});
  for (const auto& s : studies)
    csv.row_strings({s.name, s.dynamics, to_string(s.axis), common::format_double(s.fitted), common::format_double(s.fitted_se),
                     common::format_double(s.exact_slope), common::format_double(s.predicted_slope),
                     common::format_double(s.predicted_full_slope), s.holds ? "true" : "false"});
  f.commit();
}

}  // namespace flatmin::theory
