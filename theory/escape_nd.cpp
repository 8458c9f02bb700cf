#include "theory/escape_nd.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "theory/lane_engine.h"

namespace flatmin::theory {

namespace {

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

}  // namespace flatmin::theory
