#include "theory/landscape.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/error.h"

#include <Eigen/Eigenvalues>

namespace flatmin::theory {

double DoubleWell1D::minimum() const { return is_polynomial() ? poly_a : -1.0 / std::sqrt(k); }
double DoubleWell1D::saddle() const { return is_polynomial() ? poly_b : 0.0; }
double DoubleWell1D::absorb() const { return is_polynomial() ? poly_b + 0.5 * (poly_b - poly_a) : 0.5 / std::sqrt(k); }

DoubleWell1D make_polynomial(std::vector<double> coeffs, double minimum_guess, double saddle_guess) {
  FLATMIN_CHECK(coeffs.size() >= 3, "polynomial landscape needs at least 3 coefficients c0, c1, c2, ...");
  for (double c : coeffs) FLATMIN_CHECK(std::isfinite(c), "polynomial coefficients must be finite");
  while (coeffs.size() > 1 && coeffs.back() == 0.0) coeffs.pop_back();
  FLATMIN_CHECK(coeffs.size() % 2 == 1 && coeffs.back() > 0,
                "polynomial landscape must have even degree and a positive leading coefficient (confining)");
  DoubleWell1D L;
  L.poly = coeffs;
  auto newton = [&](double x) {
    for (int it = 0; it < 200; ++it) {
      const double h = L.hess(x);
      if (h == 0.0) break;
      const double step = L.grad(x) / h;
      x -= step;
      if (std::abs(step) < 1e-15 * std::max(1.0, std::abs(x))) break;
    }
    return x;
  };
  L.poly_a = newton(minimum_guess);
  L.poly_b = newton(saddle_guess);
  const double scale = std::max(1.0, std::abs(L.value(L.poly_a)));
  FLATMIN_CHECK(std::abs(L.grad(L.poly_a)) < 1e-8 * scale && L.hess(L.poly_a) > 0,
                "polynomial landscape: no minimum found from the guess " << minimum_guess);
  FLATMIN_CHECK(std::abs(L.grad(L.poly_b)) < 1e-8 * scale && L.hess(L.poly_b) < 0,
                "polynomial landscape: no saddle (local maximum) found from the guess " << saddle_guess);
  FLATMIN_CHECK(L.poly_a < L.poly_b, "polynomial landscape: the minimum " << L.poly_a << " must lie left of the saddle " << L.poly_b);
  FLATMIN_CHECK(L.barrier() > 0, "polynomial landscape: the barrier L(b) - L(a) must be > 0");
  return L;
}

double QuadraticDoubleWell::value(const Eigen::VectorXd& x) const {
  const double u = k * x[0] * x[0] - 1.0;
  double v = dL * u * u;
  for (int i = 1; i < dim(); ++i) v += 0.5 * lambda[i - 1] * x[i] * x[i];
  return v;
}

Eigen::VectorXd QuadraticDoubleWell::grad(const Eigen::VectorXd& x) const {
  Eigen::VectorXd g(dim());
  g[0] = 4.0 * dL * k * x[0] * (k * x[0] * x[0] - 1.0);
  for (int i = 1; i < dim(); ++i) g[i] = lambda[i - 1] * x[i];
  return g;
}

Eigen::MatrixXd QuadraticDoubleWell::hess(const Eigen::VectorXd& x) const {
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(dim(), dim());
  H(0, 0) = 4.0 * dL * k * (3.0 * k * x[0] * x[0] - 1.0);
  for (int i = 1; i < dim(); ++i) H(i, i) = lambda[i - 1];
  return H;
}

std::vector<CriticalPoint> QuadraticDoubleWell::critical_points() const {
  std::vector<CriticalPoint> out;
  const double r = 1.0 / std::sqrt(k);
  for (double x0 : {-r, 0.0, r}) {
    Eigen::VectorXd x = Eigen::VectorXd::Zero(dim());
    x[0] = x0;
    out.push_back(make_critical_point(x, value(x), hess(x), x0 < 0 ? "a" : (x0 == 0 ? "saddle" : "b")));
  }
  return out;
}

double Yang2020::value(const Eigen::Vector2d& p) {
  return p[0] * p[0] + p[1] * p[1] + 5.0 * std::sin(p[0] + p[1] * p[1]);
}

Eigen::Vector2d Yang2020::grad(const Eigen::Vector2d& p) {
  const double c = std::cos(p[0] + p[1] * p[1]);
  return {2.0 * p[0] + 5.0 * c, 2.0 * p[1] * (1.0 + 5.0 * c)};  // theory.md §11.3
}

Eigen::Matrix2d Yang2020::hess(const Eigen::Vector2d& p) {
  const double s = std::sin(p[0] + p[1] * p[1]);
  const double c = std::cos(p[0] + p[1] * p[1]);
  Eigen::Matrix2d H;
  H(0, 0) = 2.0 - 5.0 * s;
  H(0, 1) = H(1, 0) = -10.0 * p[1] * s;
  H(1, 1) = 2.0 + 10.0 * c - 20.0 * p[1] * p[1] * s;  // theory.md §11.3
  return H;
}

namespace {

/// Roots of a scalar function on [lo, hi]: sign changes on a fine grid, then bisection.
template <class F>
std::vector<double> scalar_roots(F f, double lo, double hi, int n = 20000) {
  std::vector<double> roots;
  double x0 = lo, f0 = f(lo);
  for (int i = 1; i <= n; ++i) {
    const double x1 = lo + (hi - lo) * i / n, f1 = f(x1);
    if (f0 == 0.0) roots.push_back(x0);
    else if ((f0 < 0) != (f1 < 0) && f1 != 0.0) {
      double a = x0, b = x1, fa = f0;
      for (int it = 0; it < 200 && b - a > 1e-15 * std::max(1.0, std::abs(a)); ++it) {
        const double m = 0.5 * (a + b), fm = f(m);
        if ((fm < 0) == (fa < 0)) { a = m; fa = fm; } else { b = m; }
      }
      roots.push_back(0.5 * (a + b));
    }
    x0 = x1;
    f0 = f1;
  }
  return roots;
}

}  // namespace

std::vector<CriticalPoint> Yang2020::critical_points(double lim) {
  std::vector<Eigen::Vector2d> pts;
  // Branch y = 0: f_x = 2x + 5 cos x = 0.
  for (double x : scalar_roots([](double x) { return 2.0 * x + 5.0 * std::cos(x); }, -lim, lim)) pts.emplace_back(x, 0.0);
  // Branch x = 0.5 (then 2x + 5cos(·) = 0 forces cos(0.5 + y²) = −1/5): g(y) = 1 + 5 cos(0.5 + y²).
  for (double y : scalar_roots([](double y) { return 1.0 + 5.0 * std::cos(0.5 + y * y); }, -lim, lim)) pts.emplace_back(0.5, y);
  std::vector<CriticalPoint> out;
  for (auto p : pts) {
    for (int it = 0; it < 50; ++it) {  // Newton polish
      const Eigen::Vector2d g = grad(p);
      if (g.norm() < 1e-14) break;
      p -= hess(p).fullPivLu().solve(g);
    }
    out.push_back(make_critical_point(p, value(p), hess(p)));
  }
  std::sort(out.begin(), out.end(), [](const CriticalPoint& a, const CriticalPoint& b) {
    return a.x[0] != b.x[0] ? a.x[0] < b.x[0] : a.x[1] < b.x[1];
  });
  return out;
}

Yang2020::Named Yang2020::named_points() {
  const auto cps = critical_points(6.0);
  const CriticalPoint *a = nullptr, *u = nullptr, *b = nullptr;
  for (const auto& c : cps) {
    if (std::abs(c.x[1]) < 1e-9 && c.index == 0) b = &c;
    if (std::abs(c.x[0] - 0.5) > 1e-9 || c.x[1] <= 0) continue;
    if (c.index == 0 && (!a || c.x[1] < a->x[1])) a = &c;
    if (c.index == 1 && (!u || c.x[1] < u->x[1])) u = &c;
  }
  if (!a || !u || !b) throw std::logic_error("Yang 2020: critical points a+, u+ or b not found");
  return {*a, *u, *b};
}

CriticalPoint make_critical_point(const Eigen::VectorXd& x, double value, const Eigen::MatrixXd& H, std::string label) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H);
  CriticalPoint c;
  c.x = x;
  c.value = value;
  c.eigenvalues = es.eigenvalues();
  c.eigenvectors = es.eigenvectors();
  c.index = static_cast<int>((c.eigenvalues.array() < 0).count());
  c.label = std::move(label);
  return c;
}

EscapeGeometry escape_geometry(const CriticalPoint& a, const CriticalPoint& u) {
  if (a.index != 0 || u.index != 1) throw std::invalid_argument("escape_geometry: need a minimum and an index-1 saddle");
  EscapeGeometry g;
  g.dL = u.value - a.value;
  g.H_ue = u.eigenvalues[0];
  g.e = u.eigenvectors.col(0);
  int best = 0;
  double best_overlap = -1;
  for (int i = 0; i < a.eigenvectors.cols(); ++i) {
    const double o = std::abs(a.eigenvectors.col(i).dot(g.e));
    if (o > best_overlap) { best_overlap = o; best = i; }
  }
  g.H_ae = a.eigenvalues[best];
  g.det_ratio_quarter = std::pow(std::abs(u.eigenvalues.prod() / a.eigenvalues.prod()), 0.25);
  return g;
}

}  // namespace flatmin::theory
