#include "theory/model1d.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"

namespace flatmin::theory {

std::string to_string(NoiseType t) {
  switch (t) {
    case NoiseType::White: return "white";
    case NoiseType::SgdShaped: return "sgd_shaped";
    case NoiseType::Hessian: return "hessian";
  }
  return "?";
}

std::string to_string(DynamicsType t) {
  switch (t) {
    case DynamicsType::Sgd: return "sgd";
    case DynamicsType::Momentum: return "momentum";
    case DynamicsType::Adam: return "adam";
    case DynamicsType::Adai: return "adai";
    case DynamicsType::InvAdam: return "invadam";
    case DynamicsType::MIAdam: return "miadam";
  }
  return "?";
}

double EscapeProblem::adai_vbar() const { return vbar > 0 ? vbar : noise_var(landscape.minimum()); }

EscapeProblem parse_escape_problem(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "escape-time");
  r.allow({"paths", "seed", "threads", "survival_points", "quadrature_intervals", "name", "notes"});  // run keys: the caller's
  EscapeProblem p;
  // landscape
  if (r.has("landscape")) {
    common::ConfigReader l(r.object("landscape"), "escape-time: landscape");
    l.allow({"type", "dL", "k", "coeffs", "minimum", "saddle"});
    l.finish();  // a typo is named before a required key is missed
    const std::string type = l.string("type", "double_well");
    if (type == "polynomial") {
      FLATMIN_CHECK(l.has("coeffs"), "polynomial landscape needs 'coeffs' [c0, c1, ...]");
      const std::vector<double> c = l.numbers("coeffs", {});
      FLATMIN_CHECK(l.has("minimum") && l.has("saddle"),
                    "polynomial landscape needs guesses 'minimum' (start well) and 'saddle' (the exit, right of it)");
      const double minimum = l.number("minimum"), saddle = l.number("saddle");
      p.landscape = make_polynomial(c, minimum, saddle);
    } else {
      FLATMIN_CHECK(type == "double_well", "landscape type '" << type
                                                << "' is not supported by escape-time (1-D Monte Carlo): use double_well or polynomial");
      FLATMIN_CHECK(!l.has("coeffs"), "'coeffs' needs landscape type polynomial");
      p.landscape.dL = l.number("dL", 1.0);
      p.landscape.k = l.number("k", 1.0);
      FLATMIN_CHECK(p.landscape.dL > 0, "landscape.dL = " << p.landscape.dL << " must be > 0");
      FLATMIN_CHECK(p.landscape.k > 0, "landscape.k = " << p.landscape.k << " must be > 0");
    }
  }
  p.H_a = p.landscape.hess(p.landscape.minimum());
  read_dynamics_params(r, p, {"sgd", "momentum", "adam", "adai", "invadam", "miadam"});
  // noise: a name, or an object {type, T, floor} (its T and floor take precedence)
  std::string noise = "sgd_shaped";
  const std::initializer_list<std::string_view> kNoises = {"sgd_shaped", "white", "hessian"};
  if (r.has("noise")) {
    if (cfg.at("noise").is_object()) {
      common::ConfigReader n(r.object("noise"), "escape-time: noise");
      n.allow({"type", "T", "floor"});
      n.finish();
      FLATMIN_CHECK(n.has("type"), "escape-time: noise: needs a string \"type\" (sgd_shaped, white or hessian)");
      noise = n.choice("type", noise, kNoises);
      p.T = n.number("T", p.T);
      p.hessian_floor = n.number("floor", p.hessian_floor);
    } else {
      noise = r.choice("noise", noise, kNoises);
    }
  }
  FLATMIN_CHECK(!(noise == "sgd_shaped" && p.landscape.is_polynomial()),
                "noise sgd_shaped is defined for the double well only; use white or hessian with a polynomial landscape");
  p.noise = noise == "white" ? NoiseType::White : noise == "hessian" ? NoiseType::Hessian : NoiseType::SgdShaped;
  const bool has_start = r.has("start"), has_absorb = r.has("absorb");
  if (has_start) p.start = r.number("start");
  if (has_absorb) p.absorb = r.number("absorb");
  p.absorb_below = r.number("absorb_below", p.absorb_below);
  r.finish();
  check_dynamics_params(p);
  if (!has_start) p.start = p.landscape.minimum();
  if (!has_absorb) p.absorb = p.landscape.absorb();
  FLATMIN_CHECK(p.start < p.absorb, "start = " << p.start << " must be left of absorb = " << p.absorb);
  FLATMIN_CHECK(!(p.absorb_below >= p.start), "absorb_below = " << p.absorb_below << " must be left of start = " << p.start);
  FLATMIN_CHECK(p.absorb > p.landscape.saddle(), "absorb = " << p.absorb << " must lie beyond the saddle at " << p.landscape.saddle());
  // the curvature rate P·H_a at the minimum
  const double a = p.landscape.minimum();
  check_dt_resolves(p.precond(a) * p.landscape.hess(a), p);
  return p;
}

void read_dynamics_params(common::ConfigReader& r, DynamicsParams& d, std::initializer_list<std::string_view> dynamics) {
  d.T = r.number("T", d.T);
  d.hessian_floor = r.number("hessian_floor", d.hessian_floor);
  const std::string dyn = r.choice("dynamics", to_string(d.dynamics), dynamics);
  for (const DynamicsType t : {DynamicsType::Sgd, DynamicsType::Momentum, DynamicsType::Adam, DynamicsType::Adai,
                               DynamicsType::InvAdam, DynamicsType::MIAdam})
    if (to_string(t) == dyn) d.dynamics = t;
  d.lr = r.number("lr", d.lr);
  d.batch = r.number("batch", d.batch);
  d.beta1 = r.number("beta1", d.dynamics == DynamicsType::Momentum ? 0.9 : d.beta1);
  d.kappa = r.number("kappa", d.kappa);
  const std::int64_t order = r.integer("order", d.order);
  r.require(order >= 1 && order <= 3, "order", order, "1, 2 or 3");
  d.order = static_cast<int>(order);
  d.beta0 = r.number("beta0", d.beta0);
  d.adai_eps = r.number("adai_eps", d.adai_eps);
  d.vbar = r.number("vbar", d.vbar);
  d.dt = r.number("dt", d.dt);
  d.t_max = r.number("t_max", d.t_max);
}

void check_dynamics_params(const DynamicsParams& d) {
  FLATMIN_CHECK(d.T > 0, "T = " << d.T << " must be > 0");
  FLATMIN_CHECK(d.hessian_floor > 0 && d.hessian_floor <= 1, "hessian_floor = " << d.hessian_floor << " must be in (0, 1]");
  FLATMIN_CHECK(d.lr > 0, "lr = " << d.lr << " must be > 0");
  FLATMIN_CHECK(d.batch > 0, "batch = " << d.batch << " must be > 0");
  FLATMIN_CHECK(d.beta1 >= 0 && d.beta1 < 1, "beta1 = " << d.beta1 << " must be in [0, 1)");
  FLATMIN_CHECK(d.dynamics != DynamicsType::Momentum || d.beta1 > 0, "dynamics momentum needs beta1 in (0, 1)");
  FLATMIN_CHECK(d.kappa > 0 && d.kappa <= 1, "kappa = " << d.kappa << " violates 0 < kappa <= 1");
  FLATMIN_CHECK(d.order >= 1 && d.order <= 3, "order = " << d.order << " must be 1, 2 or 3");
  FLATMIN_CHECK(d.beta0 > 0 && d.beta0 <= 1, "beta0 = " << d.beta0 << " must be in (0, 1]");
  FLATMIN_CHECK(d.adai_eps > 0 && d.adai_eps < 1, "adai_eps = " << d.adai_eps << " must be in (0, 1)");
  FLATMIN_CHECK(d.vbar >= 0, "vbar = " << d.vbar << " must be >= 0 (0 = the noise variance at the start minimum)");
  FLATMIN_CHECK(d.dt > 0, "dt = " << d.dt << " must be > 0");
  FLATMIN_CHECK(d.t_max > d.dt, "t_max = " << d.t_max << " must exceed dt = " << d.dt);
  FLATMIN_CHECK(d.t_max / d.dt <= double(common::limits::kSteps),
                "t_max/dt = " << d.t_max / d.dt << " steps per path exceeds the bound " << common::format_count(common::limits::kSteps));
}

void check_dt_resolves(double curv, const DynamicsParams& d) {
  double rate = curv;
  if (d.has_momentum()) rate = std::max(rate, d.dynamics == DynamicsType::Adai ? 1.0 / d.lr : (1.0 - d.beta1) / d.lr);
  if (d.chain() > 0) {
    rate = std::max(rate, (1.0 - d.kappa) / d.lr);
    rate = std::max(rate, std::sqrt(std::pow(d.lr, d.chain() - 1) * curv));
  }
  FLATMIN_CHECK(rate * d.dt < 0.5, "dt = " << d.dt << " is too large: the fastest rate of the dynamics x dt = " << rate * d.dt
                                           << " (need < 0.5)");
}

nlohmann::json to_json(const EscapeProblem& p) {
  nlohmann::json j;
  if (p.landscape.is_polynomial())
    j["landscape"] = {{"type", "polynomial"}, {"coeffs", p.landscape.poly}, {"minimum", p.landscape.minimum()},
                      {"saddle", p.landscape.saddle()}, {"barrier", p.landscape.barrier()}};
  else
    j["landscape"] = {{"type", "double_well"}, {"dL", p.landscape.dL}, {"k", p.landscape.k}};
  j["noise"] = to_string(p.noise);
  if (p.noise == NoiseType::White) j["T"] = p.T;
  if (p.noise == NoiseType::Hessian) j["hessian_floor"] = p.hessian_floor;
  j["dynamics"] = to_string(p.dynamics);
  j["lr"] = p.lr;
  j["batch"] = p.batch;
  j["beta1"] = p.beta1;
  if (p.dynamics == DynamicsType::MIAdam) {
    j["kappa"] = p.kappa;
    j["order"] = p.order;
  }
  if (p.dynamics == DynamicsType::Adai) {
    j["beta0"] = p.beta0;
    j["adai_eps"] = p.adai_eps;
    j["vbar"] = p.adai_vbar();
  }
  j["dt"] = p.dt;
  j["start"] = p.start;
  j["absorb"] = p.absorb;
  if (p.two_sided()) j["absorb_below"] = p.absorb_below;
  j["t_max"] = p.t_max;
  return j;
}

}  // namespace flatmin::theory
