#include "theory/model_nd.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "common/config.h"
#include "common/error.h"

namespace flatmin::theory {

double EscapeProblemND::value(const Eigen::VectorXd& x) const {
  return type == LandscapeND::Yang2020 ? Yang2020::value(Eigen::Vector2d(x[0], x[1])) : qdw.value(x);
}
Eigen::VectorXd EscapeProblemND::grad(const Eigen::VectorXd& x) const {
  if (type == LandscapeND::Yang2020) return Yang2020::grad(Eigen::Vector2d(x[0], x[1]));
  return qdw.grad(x);
}
Eigen::MatrixXd EscapeProblemND::hess(const Eigen::VectorXd& x) const {
  if (type == LandscapeND::Yang2020) return Yang2020::hess(Eigen::Vector2d(x[0], x[1]));
  return qdw.hess(x);
}
Eigen::MatrixXd EscapeProblemND::noise_cov(const Eigen::VectorXd& x) const {
  const int d = dim();
  if (noise == NoiseType::White) return Eigen::MatrixXd::Identity(d, d) * (2.0 * T / lr);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(hess(x));
  const Eigen::VectorXd lc = es.eigenvalues().cwiseAbs().cwiseMax(floor_abs) / batch;
  return es.eigenvectors() * lc.asDiagonal() * es.eigenvectors().transpose();
}

double EscapeProblemND::adai_vbar() const {
  if (vbar > 0) return vbar;
  return noise_cov(a.x).diagonal().mean();
}

bool is_nd_config(const nlohmann::json& cfg) {
  if (!cfg.is_object() || !cfg.contains("landscape") || !cfg.at("landscape").is_object()) return false;
  const auto& l = cfg.at("landscape");
  if (!l.contains("type") || !l.at("type").is_string()) return false;
  const std::string t = l.at("type").get<std::string>();
  return t == "quadratic_double_well" || t == "yang";
}

EscapeProblemND parse_escape_problem_nd(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "d-dimensional escape-time");
  r.allow({"paths", "seed", "threads", "survival_points", "quadrature_intervals", "notes"});  // run keys: the caller's
  EscapeProblemND p;
  common::ConfigReader l(r.object("landscape"), "d-dimensional escape-time: landscape");
  const std::string type = l.choice("type", "quadratic_double_well", {"quadratic_double_well", "yang"});
  if (type == "yang") {
    p.type = LandscapeND::Yang2020;
  } else {
    const std::int64_t d = l.integer("d", 2);
    FLATMIN_CHECK(d >= 1 && d <= 4, "landscape.d = " << d << " must be an integer in [1, 4]");
    p.qdw.dL = l.number("dL", 1.0);
    p.qdw.k = l.number("k", 1.0);
    FLATMIN_CHECK(p.qdw.dL > 0, "landscape.dL = " << p.qdw.dL << " must be > 0");
    FLATMIN_CHECK(p.qdw.k > 0, "landscape.k = " << p.qdw.k << " must be > 0");
    const int n = static_cast<int>(d) - 1;
    const std::vector<double> lam = l.numbers("lambda", std::vector<double>(static_cast<std::size_t>(n), 2.0));
    FLATMIN_CHECK(static_cast<int>(lam.size()) == n, "landscape.lambda must be an array of d - 1 = " << n << " curvatures");
    p.qdw.lambda = Eigen::VectorXd::Constant(n, 2.0);
    for (int i = 0; i < n; ++i) {
      p.qdw.lambda[i] = lam[static_cast<std::size_t>(i)];
      FLATMIN_CHECK(p.qdw.lambda[i] > 0, "landscape.lambda[" << i << "] must be > 0");
    }
  }
  l.finish();
  const std::string noise = r.choice("noise", "white", {"white", "hessian"});
  p.noise = noise == "white" ? NoiseType::White : NoiseType::Hessian;
  read_dynamics_params(r, p, {"sgd", "momentum", "adam", "adai", "miadam"});
  const bool has_beta1 = r.has("beta1");
  p.floor_ref_min = r.choice("hessian_floor_ref", "escape", {"escape", "min"}) == "min";
  p.vbar_mean = r.choice("vbar_rule", "fixed", {"fixed", "mean"}) == "mean";
  p.absorb_fraction = r.number("absorb_fraction", p.absorb_fraction);
  if (r.has("rho")) {
    p.rho = r.number("rho");
    FLATMIN_CHECK(p.rho >= 0 && p.rho <= 1, "rho = " << p.rho << " must be in [0, 1]");
  }
  r.finish();
  FLATMIN_CHECK(p.dynamics != DynamicsType::Adai || !has_beta1,
                "dynamics adai sets beta1 itself (1 - beta1 = clamp(beta0 v/vbar, adai_eps, 1)); remove beta1");
  check_dynamics_params(p);
  FLATMIN_CHECK(!(p.vbar_mean && p.vbar > 0), "give vbar or vbar_rule mean, not both");
  FLATMIN_CHECK(p.absorb_fraction >= 0 && p.absorb_fraction <= 1, "absorb_fraction = " << p.absorb_fraction << " must be in [0, 1]");
  // Critical points: the start minimum a and the saddle u.
  if (p.type == LandscapeND::Yang2020) {
    const auto named = Yang2020::named_points();  // a+ and u+ of theory.md §11.3/§11.4
    p.a = named.a;
    p.u = named.u;
  } else {
    const auto cps = p.qdw.critical_points();
    p.a = cps[0];
    p.u = cps[1];
  }
  p.geom = escape_geometry(p.a, p.u);
  p.e = p.geom.e;
  if ((p.u.x - p.a.x).dot(p.e) < 0) p.e = -p.e;
  p.absorb_offset = p.absorb_fraction * (p.u.x - p.a.x).dot(p.e);
  p.floor_abs = p.hessian_floor * (p.floor_ref_min ? p.a.eigenvalues.minCoeff() : p.geom.H_ae);
  // Euler–Maruyama must resolve the fastest linear rate (model1d.h check_dt_resolves); the curvature
  // rate is the fastest P·λ over the eigenvalues at a and at the saddle.
  double curv = 0;
  for (const CriticalPoint* c : {&p.a, &p.u}) {
    for (int i = 0; i < c->eigenvalues.size(); ++i) {
      const double lam = std::abs(c->eigenvalues[i]);
      double P = 1.0;
      if (p.dynamics == DynamicsType::Adam || p.dynamics == DynamicsType::MIAdam) {
        const double C = p.noise == NoiseType::White ? 2.0 * p.T / p.lr : std::max(lam, p.floor_abs) / p.batch;
        P = 1.0 / std::sqrt(C);
      }
      curv = std::max(curv, P * lam);
    }
  }
  check_dt_resolves(curv, p);
  return p;
}

nlohmann::json to_json(const EscapeProblemND& p) {
  nlohmann::json j;
  if (p.type == LandscapeND::Yang2020) {
    j["landscape"] = {{"type", "yang"}};
  } else {
    std::vector<double> lam(p.qdw.lambda.data(), p.qdw.lambda.data() + p.qdw.lambda.size());
    j["landscape"] = {{"type", "quadratic_double_well"}, {"d", p.qdw.dim()}, {"dL", p.qdw.dL}, {"k", p.qdw.k}, {"lambda", lam}};
  }
  j["noise"] = to_string(p.noise);
  j["T"] = p.T;
  j["hessian_floor"] = p.hessian_floor;
  j["hessian_floor_ref"] = p.floor_ref_min ? "min" : "escape";
  j["dynamics"] = to_string(p.dynamics);
  j["lr"] = p.lr;
  j["batch"] = p.batch;
  j["beta1"] = p.beta1;
  j["kappa"] = p.kappa;
  j["order"] = p.order;
  if (p.dynamics == DynamicsType::Adai) {
    j.erase("beta1");
    j["beta0"] = p.beta0;
    j["adai_eps"] = p.adai_eps;
    j["vbar_rule"] = p.vbar_mean ? "mean" : "fixed";
    if (!p.vbar_mean) j["vbar"] = p.adai_vbar();
  }
  j["dt"] = p.dt;
  j["t_max"] = p.t_max;
  j["absorb_fraction"] = p.absorb_fraction;
  if (p.rho >= 0) j["rho"] = p.rho;
  auto vec = [](const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); };
  j["start"] = vec(p.a.x);
  j["saddle"] = vec(p.u.x);
  j["exit_direction"] = vec(p.e);
  j["absorb_offset"] = p.absorb_offset;
  return j;
}

bool has_exact_oracle(const EscapeProblemND& p) { return p.type == LandscapeND::QuadraticDoubleWell && p.overdamped(); }

EscapeProblem marginal_problem(const EscapeProblemND& p) {
  if (p.type != LandscapeND::QuadraticDoubleWell) throw std::logic_error("marginal_problem: double well only");
  const double Ha = p.qdw.hess(p.a.x)(0, 0);
  nlohmann::json c = {{"landscape", {{"type", "double_well"}, {"dL", p.qdw.dL}, {"k", p.qdw.k}}},
                      {"noise", to_string(p.noise)},
                      {"T", p.T},
                      {"hessian_floor", p.floor_abs / Ha},
                      {"dynamics", to_string(p.dynamics)},
                      {"lr", p.lr},
                      {"batch", p.batch},
                      {"beta1", p.beta1},
                      {"kappa", p.kappa},
                      {"order", p.order},
                      {"dt", p.dt},
                      {"t_max", p.t_max}};
  if (p.dynamics == DynamicsType::Adai) {  // with a fixed v̄ the θ₁ coordinate is 1-D Adai with that v̄
    c.erase("beta1");
    c["beta0"] = p.beta0;
    c["adai_eps"] = p.adai_eps;
    c["vbar"] = p.adai_vbar();
  }
  EscapeProblem m = parse_escape_problem(c);
  m.absorb = p.a.x[0] + (1.0 + p.absorb_fraction) * (p.u.x[0] - p.a.x[0]);
  if (p.absorb_fraction == 0.5) m.absorb = m.landscape.absorb();
  return m;
}

}  // namespace flatmin::theory
