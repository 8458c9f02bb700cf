#include "theory/predictions_nd.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace flatmin::theory {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double path_parameter_nd(const EscapeProblemND& p, bool adam) {
  if (p.type == LandscapeND::QuadraticDoubleWell) {
    const EscapeProblem m = marginal_problem(p);
    return adam ? path_parameter_adam(m) : path_parameter_sgd(m);
  }
  // Straight segment a → u, direction t: (1/ΔL)∫ ∇L·t / w(tᵀ|H|_f t) dl, w = x (sgd) or sqrt(x) (adam);
  // Simpson's rule. Solve s/h_a + (1−s)/h_u = I with h = H_ae, |H_ue| (or their square roots).
  const Eigen::VectorXd seg = p.u.x - p.a.x;
  const double len = seg.norm();
  const Eigen::VectorXd t = seg / len;
  const int n = 2000;
  double I = 0;
  for (int i = 0; i <= n; ++i) {
    const Eigen::VectorXd x = p.a.x + seg * (static_cast<double>(i) / n);
    const double curv = t.dot(p.noise_cov(x) * t) * p.batch;
    const double f = p.grad(x).dot(t) / (adam ? std::sqrt(curv) : curv);
    I += f * (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0));
  }
  I *= len / (3.0 * n) / p.geom.dL;
  const double ha = adam ? std::sqrt(p.geom.H_ae) : p.geom.H_ae;
  const double hu = adam ? std::sqrt(std::abs(p.geom.H_ue)) : std::abs(p.geom.H_ue);
  return (I - 1.0 / hu) / (1.0 / ha - 1.0 / hu);
}

namespace {
/// The path parameter used by predict_nd (`rho` when given), with a note when it lies outside
/// (0, 1), where Xie's interpolation reading does not hold (it is still the exact quasi-potential
/// of the 1-D marginal, like model1d's path_parameter_*).
double used_s(const EscapeProblemND& p, bool adam, std::string& note) {
  if (p.rho >= 0) {
    note = ", rho given";
    return p.rho;
  }
  const double s = path_parameter_nd(p, adam);
  if (s <= 0 || s >= 1) {
    std::ostringstream n;
    n << ", path parameter s = " << s << " outside (0, 1)";
    note = n.str();
  }
  return s;
}
}  // namespace

Prediction predict_nd(const EscapeProblemND& p) {
  std::string note;
  Prediction r;
  r.s = kNaN;
  r.tau = kNaN;
  r.exponent = kNaN;
  const auto& g = p.geom;
  const double det_ratio = std::abs(p.u.eigenvalues.prod() / p.a.eigenvalues.prod());
  const double eta = p.lr, B = p.batch;
  if (p.noise == NoiseType::White) {
    if (p.dynamics == DynamicsType::Sgd && p.beta1 == 0) {
      r.tau = tau_white_A(g.H_ue, det_ratio, g.dL, p.T);
      r.exponent = g.dL / p.T;
      r.formula = "(A) Eyring-Kramers, white noise, d dims";
    } else {
      r.formula = "none (white noise with this dynamics in d dims)";
    }
    return r;
  }
  switch (p.dynamics) {
    case DynamicsType::Sgd:
    case DynamicsType::Momentum:
      r.s = used_s(p, false, note);
      r.exponent = 2.0 * B * g.dL / eta * (r.s / g.H_ae + (1 - r.s) / std::abs(g.H_ue));
      if (p.beta1 > 0) {
        r.tau = tau_momentum_C(eta, B, p.beta1, g.dL, g.H_ae, g.H_ue, r.s);
        r.formula = "(C) Xie momentum, d dims";
      } else {
        r.tau = tau_sgd_B(eta, B, g.dL, g.H_ae, g.H_ue, r.s);
        r.formula = "(B) Xie SGD, d dims";
      }
      break;
    case DynamicsType::Adai: {
      r.s = used_s(p, false, note);
      r.exponent = 2.0 * B * g.dL / eta * (r.s / g.H_ae + (1 - r.s) / std::abs(g.H_ue));
      if (p.vbar_mean) {
        r.formula = "none (vbar_rule mean: v-bar moves with theta; (E) assumes a fixed v-bar)";
        break;
      }
      // as model1d's (E): v̄ rescaled by |H_ue| / (B·C_ee(u)), the exit direction's noise at the saddle
      const double Cu = p.e.dot(p.noise_cov(p.u.x) * p.e);
      r.tau = tau_adai_E(eta, B, p.beta0, p.adai_vbar() * std::abs(g.H_ue) / (B * Cu), g.dL, g.H_ae, g.H_ue, r.s);
      r.formula = "(E) Adai [derived reading], d dims";
      break;
    }
    case DynamicsType::Adam:
      r.s = used_s(p, true, note);
      r.tau = tau_adam_D(eta, B, p.beta1, g.dL, g.H_ae, g.H_ue, g.det_ratio_quarter, r.s);
      r.exponent = 2.0 * std::sqrt(B) * g.dL / eta * (r.s / std::sqrt(g.H_ae) + (1 - r.s) / std::sqrt(std::abs(g.H_ue)));
      r.formula = "(D) = Eq. 15 Adam, d dims";
      break;
    case DynamicsType::MIAdam:
      r.s = used_s(p, true, note);
      if (p.kappa == 1.0 && p.order == 1) {
        r.tau = mean_time_eq14(eta, B, p.beta1, g.dL, g.H_ae, g.H_ue, g.det_ratio_quarter, r.s);
        r.formula = "Eq. 14 (MIAdam1, kappa=1), rate 1/phi14(t) integrated over t, d dims";
      } else {
        r.formula = p.order > 1 ? "none (order > 1)" : "none (kappa < 1 in d dims)";
      }
      break;
    default: r.formula = "none"; break;
  }
  r.formula += note;
  return r;
}

}  // namespace flatmin::theory
