#include "theory/runs.h"

#include <cmath>

#include "common/error.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"

namespace flatmin::theory {

namespace {
nlohmann::json num_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
}  // namespace

nlohmann::json escape_time_summary(const nlohmann::json& cfg, bool progress, EscapeResult* result_out) {
  const EscapeProblem p = parse_escape_problem(cfg);
  EscapeRun run = parse_escape_run(cfg);
  run.progress = progress;
  QuadratureOptions q;
  if (cfg.contains("quadrature_intervals")) {
    FLATMIN_CHECK(cfg.at("quadrature_intervals").is_number_integer() && cfg.at("quadrature_intervals").get<int>() >= 100,
                  "quadrature_intervals must be an integer >= 100");
    q.intervals = cfg.at("quadrature_intervals").get<int>();
  }
  const Prediction pred = predict(p);
  const EscapeResult r = run_escape_mc(p, run);
  nlohmann::json s;
  s["mean_escape_time"] = r.mean;
  s["stderr"] = r.stderr_;
  s["paths"] = run.paths;
  s["escaped"] = r.escaped;
  s["censored"] = r.censored;
  s["median_escape_time"] = r.median;
  if (r.censored > 0) s["warning"] = "some paths were censored at t_max: mean_escape_time is a lower bound";
  if (p.overdamped()) {
    s["exact"] = exact_escape_time(p, q);
    s["exact_exponent"] = exact_exponent(p);
    s["discretisation_bias"] = discretisation_bias(p, q);
    s["laplace"] = tau_laplace_1d(p);
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
  nlohmann::json resolved = to_json(p);
  resolved["paths"] = run.paths;
  resolved["seed"] = run.seed;
  resolved["threads"] = run.threads;
  resolved["survival_points"] = run.survival_points;
  resolved["quadrature_intervals"] = q.intervals;
  s["config"] = resolved;
  if (result_out) *result_out = r;
  return s;
}

std::vector<SweepStudy> run_sweeps(const nlohmann::json& cfg, bool progress) {
  FLATMIN_CHECK(cfg.is_object() && cfg.contains("studies") && cfg.at("studies").is_array() && !cfg.at("studies").empty(),
                "sweep config needs a non-empty array 'studies'");
  for (const auto& [k, v] : cfg.items())
    FLATMIN_CHECK(k == "studies" || k == "defaults" || k == "notes", "unknown sweep config key '" << k << "'");
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
      parse_escape_problem(c);
      parse_escape_run(c);
    }
  }
  std::vector<SweepStudy> out;
  for (const auto& st : studies) out.push_back(run_sweep_study(st, progress));
  return out;
}

}  // namespace flatmin::theory
