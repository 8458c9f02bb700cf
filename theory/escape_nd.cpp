#include "theory/escape_nd.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "common/config.h"
#include "common/error.h"
#include "theory/lane_engine.h"
#include "theory/quadrature.h"
#include "theory/runs.h"

namespace flatmin::theory {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The d-dimensional problem as a lane-engine model (lane_engine.h). D coordinates, NC blocks of
/// D components (θ, m?, x_1?), K = D normals per step. FULL: C and P are full D×D matrices (Yang
/// with Hessian noise); otherwise diagonal, component-wise exactly the 1-D formulas of escape.cpp.
template <int D, int NC, bool FULL>
struct ModelND {
  static constexpr std::size_t N = static_cast<std::size_t>(D * NC);
  static constexpr std::size_t K = static_cast<std::size_t>(D);
  using Vec = Eigen::Matrix<double, D, 1>;
  using Mat = Eigen::Matrix<double, D, D>;
  bool yang, hess_noise, adam, has_m, adai, vbar_mean;
  int chain;
  double dL, k, eta, inv_eta, leak, eta_n, r, floor_abs, batch, white_c, beta0, adai_eps, vbar;
  std::array<double, D> lam{}, a{}, u{}, e{}, m0{};
  double off;
  double dt, t_max;

  explicit ModelND(const EscapeProblemND& p)
      : yang(p.type == LandscapeND::Yang2020), hess_noise(p.noise == NoiseType::Hessian),
        adam(p.dynamics == DynamicsType::Adam || p.dynamics == DynamicsType::MIAdam), has_m(p.has_momentum()),
        chain(p.chain()), dL(p.qdw.dL), k(p.qdw.k), eta(p.lr), inv_eta(1.0 / p.lr), leak(1.0 - p.kappa),
        eta_n(std::pow(p.lr, p.chain())), r((1.0 - p.beta1) / p.lr), floor_abs(p.floor_abs), batch(p.batch),
        white_c(2.0 * p.T / p.lr), beta0(p.beta0), adai_eps(p.adai_eps), vbar(p.adai_vbar()),
        off(p.absorb_offset), dt(p.dt), t_max(p.t_max) {
    adai = p.dynamics == DynamicsType::Adai;
    vbar_mean = p.vbar_mean;
    const Eigen::VectorXd g0 = p.grad(p.a.x);
    for (int i = 0; i < D; ++i) {
      if (!yang && i > 0) lam[i] = p.qdw.lambda[i - 1];
      a[i] = p.a.x[i];
      u[i] = p.u.x[i];
      e[i] = p.e[i];
      m0[i] = g0[i];
    }
  }
  std::array<double, D> grad(const double* x, std::size_t w) const {
    std::array<double, D> g{};
    if constexpr (D == 2) {
      if (yang) {
        const double px = x[0], py = x[w];
        const double c = std::cos(px + py * py);
        g[0] = 2.0 * px + 5.0 * c;  // theory.md §11.3 (same as Yang2020::grad)
        g[1] = 2.0 * py * (1.0 + 5.0 * c);
        return g;
      }
    }
    const double th = x[0];
    g[0] = 4.0 * dL * k * th * (k * th * th - 1.0);  // QuadraticDoubleWell::grad
    for (int i = 1; i < D; ++i) g[i] = lam[i] * x[i * w];
    return g;
  }
  /// Diagonal C_i(θ), exactly EscapeProblem::noise_var's arithmetic per coordinate.
  double cdiag(const double* x, int i) const {
    if (!hess_noise) return white_c;
    double h;
    if (i == 0) {
      const double th = x[0];
      h = std::abs(4.0 * dL * k * (3.0 * k * th * th - 1.0));
    } else {
      h = lam[i];
    }
    return (h > floor_abs ? h : floor_abs) / batch;
  }
  /// Full case: C^{1/2} and P from the eigen-decomposition of the local Yang Hessian.
  void full_mats(const double* x, std::size_t w, Mat& csq, Mat& P) const {
    if constexpr (D == 2) {
      const double px = x[0], py = x[w];
      const double s = std::sin(px + py * py), c = std::cos(px + py * py);
      Mat H;
      H(0, 0) = 2.0 - 5.0 * s;  // Yang2020::hess
      H(0, 1) = H(1, 0) = -10.0 * py * s;
      H(1, 1) = 2.0 + 10.0 * c - 20.0 * py * py * s;
      Eigen::SelfAdjointEigenSolver<Mat> es;
      es.computeDirect(H);
      Vec lc = es.eigenvalues().cwiseAbs().cwiseMax(floor_abs) / batch;
      const Mat& Q = es.eigenvectors();
      csq = Q * lc.cwiseSqrt().asDiagonal() * Q.transpose();
      P = adam ? Mat(Q * lc.cwiseSqrt().cwiseInverse().asDiagonal() * Q.transpose()) : Mat(Mat::Identity());
    }
  }
  /// Momentum rate per coordinate: (1−β1)/η, or Adai's clamp(β0·v̂_i/v̄, ε, 1)/η with v̂_i = C_ii
  /// (optimizers.md §10; `cd` = the diagonal of C at θ).
  std::array<double, D> rates(const std::array<double, D>& cd) const {
    std::array<double, D> rr;
    rr.fill(r);
    if (!adai) return rr;
    double vb = vbar;
    if (vbar_mean) {
      vb = 0;
      for (int i = 0; i < D; ++i) vb += cd[i];
      vb /= D;
    }
    for (int i = 0; i < D; ++i) rr[i] = std::clamp(beta0 * cd[i] / vb, adai_eps, 1.0) * inv_eta;
    return rr;
  }
  std::array<double, D> cdiag_all(const double* x) const {
    std::array<double, D> cd;
    for (int i = 0; i < D; ++i) cd[i] = cdiag(x, i);
    return cd;
  }
  static std::array<double, D> diag_of_square(const Mat& csq) {
    std::array<double, D> cd;
    const Mat c = csq * csq;
    for (int i = 0; i < D; ++i) cd[i] = c(i, i);
    return cd;
  }
  void init(double* x, std::size_t w) const {
    for (std::size_t j = 0; j < N; ++j) x[j * w] = 0.0;
    for (int i = 0; i < D; ++i) x[i * w] = a[i];
    if constexpr (NC > 1)
      if (has_m) for (int i = 0; i < D; ++i) x[(D + i) * w] = m0[i];  // m starts at the mean gradient
  }
  void idle(double* x, std::size_t w) const {
    for (int i = 0; i < D; ++i) x[i * w] = a[i];
  }
  // theory.md §6, component-wise; layout θ_i at i, m_i at D + i, x_1,i at the last block.
  void drift(const double* x, double* d, std::size_t w) const {
    const std::array<double, D> g = grad(x, w);
    if constexpr (FULL) {
      Mat csq, P;
      full_mats(x, w, csq, P);
      Vec gv, pv;
      for (int i = 0; i < D; ++i) gv[i] = g[i];
      const int last = (NC - 1) * D;
      if constexpr (NC == 1) {
        pv = P * gv;
        for (int i = 0; i < D; ++i) d[i * w] = -pv[i];
      } else {
        Vec y;
        const auto rr = rates(diag_of_square(csq));
        for (int i = 0; i < D; ++i) {
          double input = g[i];
          if (has_m) {
            d[(D + i) * w] = rr[i] * (g[i] - x[(D + i) * w]);
            input = x[(D + i) * w];
          }
          for (int b = NC - chain; b < NC; ++b) {  // the chain x_1..x_n (theory.md §6)
            d[(b * D + i) * w] = (input - leak * x[(b * D + i) * w]) * inv_eta;
            input = x[(b * D + i) * w];
          }
          y[i] = x[(last + i) * w];
        }
        pv = P * y;
        const double scale = chain > 0 ? eta_n : 1.0;
        for (int i = 0; i < D; ++i) d[i * w] = -scale * pv[i];
      }
    } else {
      const auto cd = cdiag_all(x);
      const auto rr = rates(cd);
      for (int i = 0; i < D; ++i) {
        const double C = cd[i];
        const double P = adam ? 1.0 / std::sqrt(C) : 1.0;
        if constexpr (NC == 1) {
          d[i * w] = -P * g[i];
        } else {
          double input = g[i];
          if (has_m) {
            d[(D + i) * w] = rr[i] * (g[i] - x[(D + i) * w]);
            input = x[(D + i) * w];
          }
          if (chain == 0) {
            d[i * w] = -P * x[(D + i) * w];
          } else {
            for (int b = NC - chain; b < NC; ++b) {  // the chain x_1..x_n (theory.md §6)
              d[(b * D + i) * w] = (input - leak * x[(b * D + i) * w]) * inv_eta;
              input = x[(b * D + i) * w];
            }
            d[i * w] = -eta_n * P * x[((NC - 1) * D + i) * w];
          }
        }
      }
    }
  }
  void noise(const double* x, double* s, std::size_t w, const double* xi) const {
    if constexpr (FULL) {
      Mat csq, P;
      full_mats(x, w, csq, P);
      Vec xv;
      for (int i = 0; i < D; ++i) xv[i] = xi[i];
      for (std::size_t j = 0; j < N; ++j) s[j * w] = 0.0;
      if constexpr (NC == 1) {
        const Vec z = adam ? Vec(std::sqrt(eta) * xv) : Vec(std::sqrt(eta) * (csq * xv));  // P·C^{1/2} = I for adam
        for (int i = 0; i < D; ++i) s[i * w] = z[i];
      } else {
        const Vec z = csq * xv;
        const auto rr = rates(diag_of_square(csq));
        for (int i = 0; i < D; ++i) {
          if (has_m) s[(D + i) * w] = rr[i] * std::sqrt(eta) * z[i];
          else s[(D + i) * w] = std::sqrt(inv_eta) * z[i];  // raw minibatch noise entering x_1 (β1 = 0 chain)
        }
      }
    } else {
      const auto cd = cdiag_all(x);
      const auto rr = rates(cd);
      for (int i = 0; i < D; ++i) {
        const double C = cd[i];
        if constexpr (NC == 1) {
          const double P = adam ? 1.0 / std::sqrt(C) : 1.0;
          s[i * w] = P * std::sqrt(eta * C) * xi[i];
        } else {
          for (int j = 0; j < NC; ++j) s[(j * D + i) * w] = 0.0;
          if (has_m) s[(D + i) * w] = rr[i] * std::sqrt(eta * C) * xi[i];
          else s[(D + i) * w] = std::sqrt(C * inv_eta) * xi[i];
        }
      }
    }
  }
  bool exited(const double* x, std::size_t w) const {
    double proj = 0;
    for (int i = 0; i < D; ++i) proj += (x[i * w] - u[i]) * e[i];
    return proj >= off;
  }
  bool finite(const double* x, std::size_t w) const {
    for (int i = 0; i < D; ++i)
      if (!std::isfinite(x[i * w])) return false;
    return true;
  }
};

/// Calls f(ModelND<D, NC, FULL>) for the problem's dimension and state layout.
template <class F>
auto dispatch(const EscapeProblemND& p, F&& f) {
  const int d = p.dim();
  const int nc = 1 + (p.has_momentum() ? 1 : 0) + p.chain();
  const bool full = !p.diagonal();
  if (full) {
    if (d != 2) throw std::logic_error("full noise needs d = 2");
    switch (nc) {
      case 1: return f(ModelND<2, 1, true>(p));
      case 2: return f(ModelND<2, 2, true>(p));
      case 3: return f(ModelND<2, 3, true>(p));
      case 4: return f(ModelND<2, 4, true>(p));
      case 5: return f(ModelND<2, 5, true>(p));
    }
  }
#define FLATMIN_ND_CASE(DD)                              \
  if (d == DD) switch (nc) {                             \
      case 1: return f(ModelND<DD, 1, false>(p));        \
      case 2: return f(ModelND<DD, 2, false>(p));        \
      case 3: return f(ModelND<DD, 3, false>(p));        \
      case 4: return f(ModelND<DD, 4, false>(p));        \
      case 5: return f(ModelND<DD, 5, false>(p));        \
    }
  FLATMIN_ND_CASE(1)
  FLATMIN_ND_CASE(2)
  FLATMIN_ND_CASE(3)
  FLATMIN_ND_CASE(4)
#undef FLATMIN_ND_CASE
  throw std::logic_error("escape_nd: dimension/state layout out of range");
}

}  // namespace

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
    // a+ = the minimum on x = 0.5 with the smallest y > 0, u+ = the saddle on x = 0.5 with the
    // smallest y > 0 (theory.md §11.3/§11.4), located by Yang2020::critical_points.
    const auto cps = Yang2020::critical_points();
    const CriticalPoint* a = nullptr;
    const CriticalPoint* u = nullptr;
    for (const auto& c : cps) {
      if (std::abs(c.x[0] - 0.5) > 1e-9 || c.x[1] <= 0) continue;
      if (c.index == 0 && (!a || c.x[1] < a->x[1])) a = &c;
      if (c.index == 1 && (!u || c.x[1] < u->x[1])) u = &c;
    }
    if (!a || !u) throw std::logic_error("Yang 2020: a+ / u+ not found");
    p.a = *a;
    p.u = *u;
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

EscapeResult run_escape_mc_nd(const EscapeProblemND& p, const EscapeRun& run) {
  return detail::run_mc(run, [&](std::atomic<std::int64_t>& next, std::atomic<std::int64_t>& done, std::vector<double>& times,
                                 std::vector<std::int64_t>& steps) {
    dispatch(p, [&](const auto& m) {
      detail::run_lanes(m, run.seed, run.paths, next, done, times, steps);
      return 0;
    });
  });
}

double simulate_escape_path_nd(const EscapeProblemND& p, std::uint64_t seed, std::uint64_t path, std::int64_t* steps) {
  return dispatch(p, [&](const auto& m) { return detail::run_single(m, seed, path, steps); });
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

}  // namespace flatmin::theory
