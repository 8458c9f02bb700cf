#include "theory/runs.h"

#include <cmath>

#include "common/error.h"
#include "common/json_io.h"
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

QuadratureOptions parse_quadrature_options(const nlohmann::json& cfg) {
  QuadratureOptions q;
  if (cfg.contains("quadrature_intervals")) {
    FLATMIN_CHECK(cfg.at("quadrature_intervals").is_number_integer() && cfg.at("quadrature_intervals").get<int>() >= 100,
                  "quadrature_intervals must be an integer >= 100");
    q.intervals = cfg.at("quadrature_intervals").get<int>();
  }
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
  FLATMIN_CHECK(cfg.is_object() && cfg.contains("studies") && cfg.at("studies").is_array() && !cfg.at("studies").empty(),
                "sweep config needs a non-empty array 'studies'");
  common::check_known_keys(cfg, {"studies", "defaults", "notes"}, "sweep config");
  const nlohmann::json defaults = cfg.value("defaults", nlohmann::json::object());
  FLATMIN_CHECK(defaults.is_object(), "sweep 'defaults' must be an object");
  std::vector<nlohmann::json> studies;
  for (auto st : cfg.at("studies")) {
    FLATMIN_CHECK(st.is_object() && st.contains("base") && st.at("base").is_object(), "every sweep study needs an object 'base'");
    nlohmann::json base = defaults;
    base.update(st.at("base"));
    st["base"] = base;
    studies.push_back(st);
  }
  // Validate everything before running anything: parse the base and each varied point.
  for (const auto& st : studies) {
    nlohmann::json probe = st;
    probe["values"] = nlohmann::json::array();
    FLATMIN_CHECK(st.contains("values") && st.at("values").is_array() && st.at("values").size() >= 2,
                  "sweep study '" << st.value("name", std::string("?")) << "' needs >= 2 values");
    for (const auto& v : st.at("values")) {
      nlohmann::json c = st.at("base");
      const std::string vary = st.value("vary", std::string());
      FLATMIN_CHECK(v.is_number(), "sweep values must be numbers");
      if (vary == "k") {
        if (!c.contains("landscape")) c["landscape"] = {{"type", "double_well"}};
        c["landscape"]["k"] = v;
      } else if (vary == "lr" || vary == "batch") {
        c[vary] = v;
      }
      if (is_nd_config(c)) parse_escape_problem_nd(c);
      else parse_escape_problem(c);
      parse_escape_run(c);
    }
  }
  std::vector<SweepStudy> out;
  for (const auto& st : studies) out.push_back(run_sweep_study(st, progress));
  return out;
}

nlohmann::json flow_run(const nlohmann::json& cfg, FlowTrajectory& traj) {
  FLATMIN_CHECK(cfg.is_object(), "flow config must be a JSON object");
  common::check_known_keys(cfg, {"landscape", "start", "offset", "dynamics", "lr", "beta1", "beta2", "eps", "kappa", "order",
                                "abs_tol", "rel_tol", "t_end", "t_out", "notes"}, "flow");
  auto num = [&](const char* key, double def) { return common::finite_number_or(cfg, key, def, "flow"); };
  nlohmann::json land = cfg.value("landscape", nlohmann::json{{"type", "double_well"}});
  nlohmann::json lc = {{"landscape", land}};
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
  if (cfg.contains("start")) {
    const auto& s = cfg.at("start");
    FLATMIN_CHECK(s.is_array() && static_cast<int>(s.size()) == a.size(), "flow 'start' must be an array of " << a.size() << " numbers");
    for (int i = 0; i < a.size(); ++i) {
      FLATMIN_CHECK(s[i].is_number() && std::isfinite(s[i].get<double>()), "flow 'start' entries must be finite numbers");
      x0[i] = s[i].get<double>();
    }
  } else {
    x0[0] += num("offset", 0.05);
  }
  FlowOptions o;
  o.dynamics = cfg.value("dynamics", std::string("sgd"));
  o.lr = num("lr", o.lr);
  o.beta1 = num("beta1", o.beta1);
  o.beta2 = num("beta2", o.beta2);
  o.eps = num("eps", o.eps);
  o.kappa = num("kappa", o.kappa);
  o.order = static_cast<int>(num("order", o.order));
  o.abs_tol = num("abs_tol", o.abs_tol);
  o.rel_tol = num("rel_tol", o.rel_tol);
  FLATMIN_CHECK(o.abs_tol > 0 && o.rel_tol > 0, "flow: abs_tol and rel_tol must be > 0");
  const double t_end = num("t_end", 100 * o.lr), t_out = num("t_out", o.lr);
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
