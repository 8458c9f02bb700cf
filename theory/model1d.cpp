#include "theory/model1d.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/config.h"
#include "common/error.h"

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
    const std::string type = l.string("type", "double_well");
    if (type == "polynomial") {
      FLATMIN_CHECK(l.has("coeffs"), "polynomial landscape needs 'coeffs' [c0, c1, ...]");
      const std::vector<double> c = l.numbers("coeffs", {});
      FLATMIN_CHECK(l.has("minimum") && l.has("saddle"),
                    "polynomial landscape needs guesses 'minimum' (start well) and 'saddle' (the exit, right of it)");
      const double minimum = l.number("minimum"), saddle = l.number("saddle");
      l.finish();
      p.landscape = make_polynomial(c, minimum, saddle);
    } else {
      FLATMIN_CHECK(type == "double_well", "landscape type '" << type
                                                << "' is not supported by escape-time (1-D Monte Carlo): use double_well or polynomial");
      l.allow({"coeffs", "minimum", "saddle"});
      FLATMIN_CHECK(!l.has("coeffs"), "'coeffs' needs landscape type polynomial");
      p.landscape.dL = l.number("dL", 1.0);
      p.landscape.k = l.number("k", 1.0);
      l.finish();
      FLATMIN_CHECK(p.landscape.dL > 0, "landscape.dL = " << p.landscape.dL << " must be > 0");
      FLATMIN_CHECK(p.landscape.k > 0, "landscape.k = " << p.landscape.k << " must be > 0");
    }
  }
  p.H_a = p.landscape.hess(p.landscape.minimum());
  // noise: a name, or an object {type, T, floor}
  std::string noise = "sgd_shaped";
  p.T = r.number("T", p.T);
  p.hessian_floor = r.number("hessian_floor", p.hessian_floor);
  if (r.has("noise")) {
    if (cfg.at("noise").is_string()) {
      noise = r.string("noise");
    } else {
      FLATMIN_CHECK(cfg.at("noise").is_object(),
                    "escape-time: 'noise' must be \"sgd_shaped\", \"white\", \"hessian\" or an object with a string \"type\", got "
                        << cfg.at("noise").dump());
      common::ConfigReader n(r.object("noise"), "escape-time: noise");
      noise = n.string("type");
      p.T = n.number("T", p.T);
      p.hessian_floor = n.number("floor", p.hessian_floor);
      n.finish();
    }
  }
  FLATMIN_CHECK(!(noise == "sgd_shaped" && p.landscape.is_polynomial()),
                "noise sgd_shaped is defined for the double well only; use white or hessian with a polynomial landscape");
  if (noise == "white") p.noise = NoiseType::White;
  else if (noise == "sgd_shaped") p.noise = NoiseType::SgdShaped;
  else if (noise == "hessian") p.noise = NoiseType::Hessian;
  else FLATMIN_CHECK(false, "noise '" << noise << "' is not one of sgd_shaped, white, hessian");
  FLATMIN_CHECK(p.T > 0, "T = " << p.T << " must be > 0");
  FLATMIN_CHECK(p.hessian_floor > 0 && p.hessian_floor <= 1, "hessian floor = " << p.hessian_floor << " must be in (0, 1]");
  // dynamics
  const std::string dyn = r.choice("dynamics", "sgd", {"sgd", "momentum", "adam", "adai", "invadam", "miadam"});
  if (dyn == "sgd") p.dynamics = DynamicsType::Sgd;
  else if (dyn == "momentum") p.dynamics = DynamicsType::Momentum;
  else if (dyn == "adam") p.dynamics = DynamicsType::Adam;
  else if (dyn == "adai") p.dynamics = DynamicsType::Adai;
  else if (dyn == "invadam") p.dynamics = DynamicsType::InvAdam;
  else p.dynamics = DynamicsType::MIAdam;
  p.lr = r.number("lr", p.lr);
  p.batch = r.number("batch", p.batch);
  p.beta1 = r.number("beta1", p.dynamics == DynamicsType::Momentum ? 0.9 : 0.0);
  p.kappa = r.number("kappa", p.kappa);
  const std::int64_t order = r.integer("order", 1);
  p.beta0 = r.number("beta0", p.beta0);
  p.adai_eps = r.number("adai_eps", p.adai_eps);
  p.vbar = r.number("vbar", 0.0);
  p.dt = r.number("dt", p.dt);
  p.t_max = r.number("t_max", p.t_max);
  const bool has_start = r.has("start"), has_absorb = r.has("absorb");
  if (has_start) p.start = r.number("start");
  if (has_absorb) p.absorb = r.number("absorb");
  r.finish();
  FLATMIN_CHECK(p.lr > 0, "lr = " << p.lr << " must be > 0");
  FLATMIN_CHECK(p.batch > 0, "batch = " << p.batch << " must be > 0");
  FLATMIN_CHECK(p.beta1 >= 0 && p.beta1 < 1, "beta1 = " << p.beta1 << " must be in [0, 1)");
  FLATMIN_CHECK(p.dynamics != DynamicsType::Momentum || p.beta1 > 0, "dynamics momentum needs beta1 in (0, 1)");
  FLATMIN_CHECK(p.kappa > 0 && p.kappa <= 1, "kappa = " << p.kappa << " violates 0 < kappa <= 1");
  FLATMIN_CHECK(order >= 1 && order <= 3, "order = " << order << " must be 1, 2 or 3");
  p.order = static_cast<int>(order);
  FLATMIN_CHECK(p.beta0 > 0 && p.beta0 <= 1, "beta0 = " << p.beta0 << " must be in (0, 1]");
  FLATMIN_CHECK(p.adai_eps > 0 && p.adai_eps < 1, "adai_eps = " << p.adai_eps << " must be in (0, 1)");
  FLATMIN_CHECK(p.vbar >= 0, "vbar = " << p.vbar << " must be >= 0 (0 = C at the start minimum)");
  FLATMIN_CHECK(p.dt > 0, "dt = " << p.dt << " must be > 0");
  FLATMIN_CHECK(p.t_max > p.dt, "t_max = " << p.t_max << " must exceed dt = " << p.dt);
  FLATMIN_CHECK(p.t_max / p.dt < 1e13, "t_max/dt = " << p.t_max / p.dt << " steps is too many");
  if (!has_start) p.start = p.landscape.minimum();
  if (!has_absorb) p.absorb = p.landscape.absorb();
  FLATMIN_CHECK(p.start < p.absorb, "start = " << p.start << " must be left of absorb = " << p.absorb);
  FLATMIN_CHECK(p.absorb > p.landscape.saddle(), "absorb = " << p.absorb << " must lie beyond the saddle at " << p.landscape.saddle());
  // the curvature rate P·H_a at the minimum
  const double a = p.landscape.minimum();
  check_dt_resolves(p.precond(a) * p.landscape.hess(a), p.dynamics, p.has_momentum(), p.chain(), p.lr, p.beta1, p.kappa, p.dt);
  return p;
}

void check_dt_resolves(double curv, DynamicsType dynamics, bool has_momentum, int chain, double lr, double beta1,
                       double kappa, double dt) {
  double rate = curv;
  if (has_momentum) rate = std::max(rate, dynamics == DynamicsType::Adai ? 1.0 / lr : (1.0 - beta1) / lr);
  if (chain > 0) {
    rate = std::max(rate, (1.0 - kappa) / lr);
    rate = std::max(rate, std::sqrt(std::pow(lr, chain - 1) * curv));
  }
  FLATMIN_CHECK(rate * dt < 0.5, "dt = " << dt << " is too large: the fastest rate of the dynamics x dt = " << rate * dt
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
  j["t_max"] = p.t_max;
  return j;
}

}  // namespace flatmin::theory
