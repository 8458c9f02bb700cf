#include "theory/runs.h"

#include <cmath>

#include "common/config.h"
#include "common/error.h"
#include "theory/escape_nd.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"

namespace flatmin::theory {

namespace {
nlohmann::json num_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
}  // namespace

nlohmann::json escape_time_summary(const nlohmann::json& cfg, bool progress, EscapeResult* result_out) {
  if (is_nd_config(cfg)) return escape_time_summary_nd(cfg, progress, result_out);
  const EscapeProblem p = parse_escape_problem(cfg);
  EscapeRun run = parse_escape_run(cfg);
  run.progress = progress;
  const QuadratureOptions q = parse_quadrature_options(cfg);
  const Prediction pred = predict(p);
  const EscapeResult r = run_escape_mc(p, run);
  nlohmann::json s = escape_summary(r, run, pred, p.overdamped() ? &p : nullptr, q, to_json(p));
  if (result_out) *result_out = r;
  return s;
}

nlohmann::json escape_time_summary_nd(const nlohmann::json& cfg, bool progress, EscapeResult* result_out) {
  const EscapeProblemND p = parse_escape_problem_nd(cfg);
  EscapeRun run = parse_escape_run(cfg);
  run.progress = progress;
  const QuadratureOptions q = parse_quadrature_options(cfg);
  const Prediction pred = predict_nd(p);
  const EscapeResult r = run_escape_mc_nd(p, run);
  const bool exact = has_exact_oracle(p);
  const EscapeProblem m = exact ? marginal_problem(p) : EscapeProblem{};
  nlohmann::json s = escape_summary(r, run, pred, exact ? &m : nullptr, q, to_json(p));
  if (exact) s["exact_source"] = "1-D quadrature of the separable theta_1 marginal";
  s["geometry"] = {{"dL", p.geom.dL},
                   {"H_ae", p.geom.H_ae},
                   {"H_ue", p.geom.H_ue},
                   {"det_ratio", std::abs(p.u.eigenvalues.prod() / p.a.eigenvalues.prod())},
                   {"det_ratio_quarter", p.geom.det_ratio_quarter}};
  if (result_out) *result_out = r;
  return s;
}

QuadratureOptions parse_quadrature_options(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "escape-time");
  QuadratureOptions q;
  q.intervals = static_cast<int>(r.integer("quadrature_intervals", q.intervals));
  r.require(q.intervals >= 100 && q.intervals <= 100000000, "quadrature_intervals", q.intervals, "an integer in [100, 1e8]");
  return q;
}

nlohmann::json escape_summary(const EscapeResult& r, const EscapeRun& run, const Prediction& pred,
                              const EscapeProblem* oracle, const QuadratureOptions& q, nlohmann::json resolved) {
  nlohmann::json s;
  s["mean_escape_time"] = r.mean;
  s["stderr"] = r.stderr_;
  s["paths"] = run.paths;
  s["escaped"] = r.escaped;
  s["censored"] = r.censored;
  s["median_escape_time"] = r.median;
  if (r.censored > 0) s["warning"] = "some paths were censored at t_max: mean_escape_time is a lower bound";
  if (oracle != nullptr) {
    s["exact"] = exact_escape_time(*oracle, q);
    s["exact_exponent"] = exact_exponent(*oracle);
    s["discretisation_bias"] = discretisation_bias(*oracle, q);
    s["laplace"] = tau_laplace_1d(*oracle);
  } else {
    s["exact"] = nullptr;
    s["exact_exponent"] = nullptr;
    s["discretisation_bias"] = nullptr;
    s["laplace"] = nullptr;
  }
  s["predicted"] = num_or_null(pred.tau);
  s["predicted_formula"] = pred.formula;
  s["predicted_exponent"] = num_or_null(pred.exponent);
  s["path_parameter"] = num_or_null(pred.s);
  s["survival"] = {{"t", r.survival_t}, {"S", r.survival_s}};
  s["particle_steps"] = r.particle_steps;
  s["wall_time_s"] = r.wall_s;
  s["particle_steps_per_s"] = r.wall_s > 0 ? r.particle_steps / r.wall_s : 0.0;
  s["time_unit"] = "continuous time, one iteration = lr";
  resolved["paths"] = run.paths;
  resolved["seed"] = run.seed;
  resolved["threads"] = run.threads;
  resolved["survival_points"] = run.survival_points;
  resolved["quadrature_intervals"] = q.intervals;
  s["config"] = resolved;
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
  for (const auto& st : studies) plans.push_back(parse_sweep_study(st));
  std::vector<SweepStudy> out;
  for (const auto& plan : plans) out.push_back(run_sweep_study(plan, progress));
  return out;
}

nlohmann::json flow_run(const nlohmann::json& cfg, FlowTrajectory& traj) {
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
  o.order = static_cast<int>(r.integer("order", o.order));
  o.abs_tol = r.number("abs_tol", o.abs_tol);
  o.rel_tol = r.number("rel_tol", o.rel_tol);
  const double t_end = r.number("t_end", 100 * o.lr), t_out = r.number("t_out", o.lr);
  r.finish();
  FLATMIN_CHECK(o.abs_tol > 0 && o.rel_tol > 0, "flow: abs_tol and rel_tol must be > 0");
  FLATMIN_CHECK((t_end - o.lr) / t_out <= 1e7, "flow: (t_end - lr)/t_out = " << (t_end - o.lr) / t_out << " output rows is too many");
  traj = integrate_flow(grad, x0, t_end, t_out, o);
  const Eigen::VectorXd& xf = traj.theta.back();
  nlohmann::json s;
  s["final_theta"] = std::vector<double>(xf.data(), xf.data() + xf.size());
  s["final_value"] = value(xf);
  s["final_grad_norm"] = grad(xf).norm();
  s["samples"] = traj.t.size();
  s["time_unit"] = "continuous time, one iteration = lr";
  nlohmann::json rc = {{"landscape", land_resolved}, {"start", std::vector<double>(x0.data(), x0.data() + x0.size())},
                       {"dynamics", o.dynamics}, {"lr", o.lr}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
                       {"kappa", o.kappa}, {"order", o.order}, {"abs_tol", o.abs_tol}, {"rel_tol", o.rel_tol},
                       {"t_end", t_end}, {"t_out", t_out}};
  s["config"] = rc;
  return s;
}

}  // namespace flatmin::theory
