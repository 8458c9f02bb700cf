#include "theory/runs.h"

#include <cmath>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "theory/escape_nd.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"

namespace flatmin::theory {

namespace {
nlohmann::json num_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

/// A summary holding the run keys of an escape config (paths, seed, threads, survival_points, quadrature_intervals).
EscapeSummary with_run_keys(const nlohmann::json& cfg, bool progress) {
  EscapeSummary s;
  s.run = parse_escape_run(cfg);
  s.run.progress = progress;
  s.quadrature = parse_quadrature_options(cfg);
  return s;
}
}  // namespace

EscapeSummary escape_time_summary(const nlohmann::json& cfg, bool progress) {
  if (is_nd_config(cfg)) return escape_time_summary_nd(cfg, progress);
  const EscapeProblem p = parse_escape_problem(cfg);
  EscapeSummary s = with_run_keys(cfg, progress);
  s.prediction = predict(p);
  s.result = run_escape_mc(p, s.run);
  if (p.overdamped() && !p.two_sided()) s.exact = exact_escape(p, s.quadrature);
  s.problem = to_json(p);
  return s;
}

EscapeSummary escape_time_summary_nd(const nlohmann::json& cfg, bool progress) {
  const EscapeProblemND p = parse_escape_problem_nd(cfg);
  EscapeSummary s = with_run_keys(cfg, progress);
  s.prediction = predict_nd(p);
  s.result = run_escape_mc_nd(p, s.run);
  if (has_exact_oracle(p)) {
    s.exact = exact_escape(marginal_problem(p), s.quadrature);
    s.exact->source = "1-D quadrature of the separable theta_1 marginal";
  }
  s.geometry = GeometrySummary{p.geom.dL, p.geom.H_ae, p.geom.H_ue, std::abs(p.u.eigenvalues.prod() / p.a.eigenvalues.prod()),
                               p.geom.det_ratio_quarter};
  s.problem = to_json(p);
  return s;
}

ExactEscape exact_escape(const EscapeProblem& oracle, const QuadratureOptions& q) {
  return {exact_escape_time(oracle, q), exact_exponent(oracle), discretisation_bias(oracle, q), tau_laplace_1d(oracle), ""};
}

QuadratureOptions parse_quadrature_options(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "escape-time");
  QuadratureOptions q;
  const std::int64_t intervals = r.count("quadrature_intervals", q.intervals);  // checked before the cast to int
  r.require(intervals >= 100 && intervals <= 100000000, "quadrature_intervals", intervals, "an integer in [100, 1e8]");
  q.intervals = static_cast<int>(intervals);
  return q;
}

nlohmann::json EscapeSummary::config() const {
  nlohmann::json c = problem;
  c["paths"] = run.paths;
  c["seed"] = run.seed;
  c["threads"] = run.threads;
  c["survival_points"] = run.survival_points;
  c["quadrature_intervals"] = quadrature.intervals;
  return c;
}

nlohmann::json EscapeSummary::to_json() const {
  const EscapeResult& r = result;
  nlohmann::json s;
  s["mean_escape_time"] = r.mean;
  s["stderr"] = r.stderr_;
  s["paths"] = run.paths;
  s["escaped"] = r.escaped;
  s["censored"] = r.censored;
  s["median_escape_time"] = r.median;
  if (r.censored > 0) s["warning"] = "some paths were censored at t_max: mean_escape_time is a lower bound";
  s["exact"] = exact ? nlohmann::json(exact->time) : nlohmann::json();
  s["exact_exponent"] = exact ? nlohmann::json(exact->exponent) : nlohmann::json();
  s["discretisation_bias"] = exact ? nlohmann::json(exact->discretisation_bias) : nlohmann::json();
  s["laplace"] = exact ? nlohmann::json(exact->laplace) : nlohmann::json();
  if (exact && !exact->source.empty()) s["exact_source"] = exact->source;
  s["predicted"] = num_or_null(prediction.tau);
  s["predicted_formula"] = prediction.formula;
  s["predicted_exponent"] = num_or_null(prediction.exponent);
  s["path_parameter"] = num_or_null(prediction.s);
  s["survival"] = {{"t", r.survival_t}, {"S", r.survival_s}};
  s["particle_steps"] = r.particle_steps;
  s["wall_time_s"] = r.wall_s;
  s["particle_steps_per_s"] = r.wall_s > 0 ? r.particle_steps / r.wall_s : 0.0;
  s["time_unit"] = "continuous time, one iteration = lr";
  if (geometry)
    s["geometry"] = {{"dL", geometry->dL},
                     {"H_ae", geometry->H_ae},
                     {"H_ue", geometry->H_ue},
                     {"det_ratio", geometry->det_ratio},
                     {"det_ratio_quarter", geometry->det_ratio_quarter}};
  s["config"] = config();
  return s;
}

std::vector<SweepStudy> run_sweeps(const nlohmann::json& cfg, bool progress) {
  common::ConfigReader r(cfg, "sweep config");
  const nlohmann::json study_list = r.raw("studies", nlohmann::json());
  const nlohmann::json defaults = r.object("defaults");
  r.allow({"notes"});
  r.finish();
  FLATMIN_CHECK(study_list.is_array() && !study_list.empty(), "sweep config needs a non-empty array 'studies'");
  std::vector<nlohmann::json> studies;
  for (auto st : study_list) {
    FLATMIN_CHECK(st.is_object() && st.contains("base") && st.at("base").is_object(), "every sweep study needs an object 'base'");
    nlohmann::json base = defaults;
    base.update(st.at("base"));
    st["base"] = base;
    studies.push_back(st);
  }
  // Validate everything before running anything: parse every study and its points.
  std::vector<SweepPlan> plans;
  std::set<std::string> names;
  for (const auto& st : studies) {
    plans.push_back(parse_sweep_study(st));
    FLATMIN_CHECK(names.insert(plans.back().name).second,
                  "sweep study name '" << plans.back().name << "' appears twice (each names its CSV file sweep_<name>.csv)");
  }
  std::vector<SweepStudy> out;
  for (const auto& plan : plans) out.push_back(run_sweep_study(plan, progress));
  return out;
}

FlowSummary flow_run(const nlohmann::json& cfg, FlowTrajectory& traj) {
  common::ConfigReader r(cfg, "flow");
  r.allow({"notes"});
  const nlohmann::json lc = {{"landscape", r.object("landscape")}};  // absent: the default double well
  GradFn grad;
  std::function<double(const Eigen::VectorXd&)> value;
  Eigen::VectorXd a;
  nlohmann::json land_resolved;
  if (is_nd_config(lc)) {
    const EscapeProblemND p = parse_escape_problem_nd(lc);
    grad = [p](const Eigen::VectorXd& x) { return p.grad(x); };
    value = [p](const Eigen::VectorXd& x) { return p.value(x); };
    a = p.a.x;
    land_resolved = to_json(p).at("landscape");
  } else {
    const EscapeProblem p = parse_escape_problem(lc);
    const DoubleWell1D L = p.landscape;
    grad = [L](const Eigen::VectorXd& x) { return Eigen::VectorXd::Constant(1, L.grad(x[0])); };
    value = [L](const Eigen::VectorXd& x) { return L.value(x[0]); };
    a = Eigen::VectorXd::Constant(1, L.minimum());
    land_resolved = to_json(p).at("landscape");
  }
  Eigen::VectorXd x0 = a;
  const double offset = r.number("offset", 0.05);
  if (r.has("start")) {
    const std::vector<double> s = r.numbers("start", {});
    FLATMIN_CHECK(static_cast<int>(s.size()) == a.size(), "flow 'start' must be an array of " << a.size() << " numbers");
    for (int i = 0; i < a.size(); ++i) x0[i] = s[static_cast<std::size_t>(i)];
  } else {
    x0[0] += offset;
  }
  FlowOptions o;
  o.dynamics = r.string("dynamics", "sgd");
  o.lr = r.number("lr", o.lr);
  o.beta1 = r.number("beta1", o.beta1);
  o.beta2 = r.number("beta2", o.beta2);
  o.eps = r.number("eps", o.eps);
  o.kappa = r.number("kappa", o.kappa);
  o.order = static_cast<int>(r.integer("order", o.order, 1, 3));
  o.abs_tol = r.number("abs_tol", o.abs_tol);
  o.rel_tol = r.number("rel_tol", o.rel_tol);
  const double t_end = r.number("t_end", 100 * o.lr), t_out = r.number("t_out", o.lr);
  r.finish();
  FLATMIN_CHECK(o.abs_tol > 0 && o.rel_tol > 0, "flow: abs_tol and rel_tol must be > 0");
  FLATMIN_CHECK((t_end - o.lr) / t_out <= 1e7, "flow: (t_end - lr)/t_out = " << (t_end - o.lr) / t_out << " output rows is too many");
  traj = integrate_flow(grad, x0, t_end, t_out, o);
  FlowSummary s;
  s.final_theta = traj.theta.back();
  s.final_value = value(s.final_theta);
  s.final_grad_norm = grad(s.final_theta).norm();
  s.samples = traj.t.size();
  s.landscape = land_resolved;
  s.start = x0;
  s.options = o;
  s.t_end = t_end;
  s.t_out = t_out;
  return s;
}

nlohmann::json FlowSummary::config() const {
  const auto& o = options;
  return {{"landscape", landscape}, {"start", std::vector<double>(start.data(), start.data() + start.size())},
          {"dynamics", o.dynamics}, {"lr", o.lr}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
          {"kappa", o.kappa}, {"order", o.order}, {"abs_tol", o.abs_tol}, {"rel_tol", o.rel_tol},
          {"t_end", t_end}, {"t_out", t_out}};
}

nlohmann::json FlowSummary::to_json() const {
  nlohmann::json s;
  s["final_theta"] = std::vector<double>(final_theta.data(), final_theta.data() + final_theta.size());
  s["final_value"] = final_value;
  s["final_grad_norm"] = final_grad_norm;
  s["samples"] = samples;
  s["time_unit"] = "continuous time, one iteration = lr";
  s["config"] = config();
  return s;
}

}  // namespace flatmin::theory
