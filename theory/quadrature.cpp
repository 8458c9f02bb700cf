#include "theory/quadrature.h"

#include <cmath>
#include <vector>

#include "common/error.h"

namespace flatmin::theory {

double first_passage_time(const std::function<double(double)>& F, const std::function<double(double)>& D, double left,
                          double x0, double c, int intervals) {
  FLATMIN_CHECK(left < x0 && x0 < c, "quadrature needs left < start < absorb");
  FLATMIN_CHECK(intervals >= 100, "quadrature intervals = " << intervals << " must be >= 100");
  // Two uniform segments so that x0 is a node.
  const int n1 = std::max(10, static_cast<int>(std::lround(intervals * (x0 - left) / (c - left))));
  const int n2 = std::max(10, intervals - n1);
  std::vector<double> x;
  x.reserve(static_cast<std::size_t>(n1 + n2 + 1));
  for (int i = 0; i < n1; ++i) x.push_back(left + (x0 - left) * i / n1);
  for (int i = 0; i <= n2; ++i) x.push_back(x0 + (c - x0) * i / n2);
  const std::size_t n = x.size(), i0 = static_cast<std::size_t>(n1);
  std::vector<double> f(n), phi(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double d = D(x[i]);
    FLATMIN_CHECK(d > 0 && std::isfinite(d), "diffusion D(" << x[i] << ") = " << d << " must be > 0");
    f[i] = F(x[i]) / d;
  }
  for (std::size_t i = i0 + 1; i < n; ++i) phi[i] = phi[i - 1] + 0.5 * (x[i] - x[i - 1]) * (f[i] + f[i - 1]);
  for (std::size_t i = i0; i-- > 0;) phi[i] = phi[i + 1] - 0.5 * (x[i + 1] - x[i]) * (f[i] + f[i + 1]);
  // inner(y) = ∫_left^y e^{−Φ}/D, then outer = ∫_{x0}^{c} e^{Φ(y)} inner(y) dy.
  std::vector<double> g(n);
  for (std::size_t i = 0; i < n; ++i) g[i] = std::exp(-phi[i]) / D(x[i]);
  double inner = 0, outer = 0, prev = 0;
  for (std::size_t i = 1; i < n; ++i) {
    inner += 0.5 * (x[i] - x[i - 1]) * (g[i] + g[i - 1]);
    const double cur = std::exp(phi[i]) * inner;
    if (i > i0) outer += 0.5 * (x[i] - x[i - 1]) * (cur + prev);
    prev = cur;
  }
  return outer;
}

double exact_escape_time(const EscapeProblem& p, const QuadratureOptions& q, double c) {
  FLATMIN_CHECK(p.overdamped(), "no 1-D quadrature oracle for dynamics '" << to_string(p.dynamics)
                                                                        << "' with beta1 > 0 or a chain (state dimension "
                                                                        << p.state_dim() << ")");
  FLATMIN_CHECK(!p.two_sided(), "no 1-D quadrature oracle for a two-sided exit (absorb_below = " << p.absorb_below << ")");
  if (std::isnan(c)) c = p.absorb;
  // left boundary a − (left_factor − 1)(b − a): −3/√k for the double well (theory.md §8)
  const double a = p.landscape.minimum(), gap = p.landscape.saddle() - a;
  const double left = a - (q.left_factor - 1.0) * gap;
  return first_passage_time([&](double t) { return p.drift_eff(t); }, [&](double t) { return p.diff_eff(t); },
                            std::min(left, p.start - gap), p.start, c, q.intervals);
}

double exact_exponent(const EscapeProblem& p, int intervals) {
  const double a = p.landscape.minimum(), b = p.landscape.saddle();
  double s = 0;
  const double h = (b - a) / intervals;
  for (int i = 0; i <= intervals; ++i) {
    const double t = a + h * i;
    const double w = (i == 0 || i == intervals) ? 0.5 : 1.0;
    s += w * p.drift_eff(t) / p.diff_eff(t);
  }
  return s * h;
}

double discretisation_bias(const EscapeProblem& p, const QuadratureOptions& q) {
  constexpr double beta = 0.5825971579390106;  // −ζ(1/2)/√(2π)
  const double c = p.absorb;
  const double shift = beta * std::sqrt(2.0 * p.diff_eff(c) * p.dt);
  return exact_escape_time(p, q, c + shift) - exact_escape_time(p, q, c);
}

}  // namespace flatmin::theory
