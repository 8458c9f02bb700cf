#pragma once
/// \file
/// Independent float64 reference trajectories for the optimizer tests: plain scalar loops written
/// from the spec (optimizers.md §12.2, §13.2), not from optim/rules. MIAdam's accumulator is
/// evaluated with the closed form of the multiple sum, Eq. (12) / §12.3:
///   m̄^(n)_t = Σ_{s≤t} C(t−s+n−1, n−1) κ^{t−s} m_s,
/// so the recursion in the library is checked against the summation it implements.
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace flatmin::test {

inline double binom(int64_t a, int64_t b) {
  double r = 1;
  for (int64_t i = 1; i <= b; ++i) r = r * double(a - b + i) / double(i);
  return r;
}

struct RefMIAdam {  // the first four fields are the ones the tests vary: RefMIAdam{order, lr, kappa, switch_epoch}
  int order = 1;
  double lr = 1e-3, kappa = 0.98;
  int64_t switch_epoch = 20;   ///< MI while epoch < switch_epoch
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
  bool amsgrad = false;
  int64_t switch_step = -1;    ///< ≥ 0: MI while t < switch_step
  bool alpha_algorithm1 = false;
  bool eps_inside = false;
};

/// grads(t, i) = gradient of scalar i at step t (1-based) given θ; epoch(t) = 1 + (t−1)/spe.
/// Returns θ after every step (row 0 = θ0).
inline std::vector<std::vector<double>> ref_miadam(const RefMIAdam& c, std::vector<double> theta, int64_t steps,
                                                    int64_t spe,
                                                    const std::function<double(int64_t, size_t, double)>& grad) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), v(P, 0), vmax(P, 0);
  std::vector<std::vector<double>> m_hist(P);  // m_s over the MI steps
  std::vector<double> frozen(P, 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    const int64_t epoch = 1 + (t - 1) / spe;
    const bool mi = c.switch_step >= 0 ? t < c.switch_step : epoch < c.switch_epoch;
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (c.wd != 0) g += c.wd * theta[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double vu = c.amsgrad ? vmax[i] : v[i];
      const double bc1 = 1 - std::pow(c.beta1, double(t)), bc2 = 1 - std::pow(c.beta2, double(t));
      const double denom = c.eps_inside ? std::sqrt(vu / bc2 + c.eps) : std::sqrt(vu / bc2) + c.eps;
      if (mi) {
        m_hist[i].push_back(m[i]);
        const int64_t T = int64_t(m_hist[i].size());
        double mbar = 0;
        for (int64_t s = 1; s <= T; ++s) {
          mbar += binom(T - s + c.order - 1, c.order - 1) * std::pow(c.kappa, double(T - s)) * m_hist[i][size_t(s - 1)];
        }
        const double alpha = std::pow(c.lr, c.alpha_algorithm1 ? c.order : c.order + 1);
        theta[i] -= alpha * mbar / bc1 / denom;
      } else {
        theta[i] -= c.lr * m[i] / bc1 / denom;
      }
    }
    out.push_back(theta);
  }
  return out;
}

struct RefDualAdam {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, s = 0.01, wd = 0;
  bool decoupled = true;
  double fixed_r = std::nan("");  ///< set: r ≡ fixed_r, no cut-off
};

/// Official DualAdam (global counter = t). Returns θ after every step (row 0 = θ0).
inline std::vector<std::vector<double>> ref_dualadam(const RefDualAdam& c, std::vector<double> theta, int64_t steps,
                                                      const std::function<double(int64_t, size_t, double)>& grad) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), v(P, 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    const bool fixed = !std::isnan(c.fixed_r);
    const double r = fixed ? c.fixed_r : std::max(0.0, 1.0 - double(t) * c.s);
    const bool blend = fixed || r >= c.s;
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (!c.decoupled) g += c.wd * theta[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      const double mh = m[i] / (1 - std::pow(c.beta1, double(t)));
      const double d = std::sqrt(v[i] / (1 - std::pow(c.beta2, double(t)))) + c.eps;
      if (c.decoupled) theta[i] -= c.lr * c.wd * theta[i];
      const double u = blend ? (1 - r) * mh / d + r * mh * d : mh / d;
      theta[i] -= c.lr * u;
    }
    out.push_back(theta);
  }
  return out;
}

}  // namespace flatmin::test
