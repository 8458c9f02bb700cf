#include "theory/miadam_gain.h"

#include <cmath>
#include <limits>

#include <boost/math/special_functions/beta.hpp>

#include "common/error.h"

namespace flatmin::theory {

namespace {

constexpr std::int64_t kMaxSeriesTerms = std::int64_t{1} << 22;

void check_kappa_order(double kappa, int order_K) {
  FLATMIN_CHECK(order_K >= 1, "MIAdam order K = " << order_K << " must be >= 1");
  FLATMIN_CHECK(kappa > 0.0 && kappa <= 1.0, "kappa = " << kappa << " violates 0 < kappa <= 1");
}

}  // namespace

namespace detail {

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
double miadam_buffer_gain_series(double kappa, int order_K, std::int64_t t, std::int64_t max_terms) {
  const double eps = std::numeric_limits<double>::epsilon();
  const double k = static_cast<double>(order_K);
  double term = 1.0;  // c_0 = C(K-1, K-1) κ^0
  double sum = 0.0;
  double comp = 0.0;  // Neumaier compensation
  for (std::int64_t n = 0; n < t; ++n) {
    if (n >= max_terms) return -1.0;
    const double next = sum + term;
    comp += std::fabs(sum) >= std::fabs(term) ? (sum - next) + term : (term - next) + sum;
    sum = next;
    const double dn = static_cast<double>(n);
    const double ratio = kappa * (dn + k) / (dn + 1.0);  // c_{n+1} / c_n, non-increasing in n
    if (ratio < 1.0 && term * ratio / (1.0 - ratio) <= 0.25 * eps * (sum + comp)) break;
    term *= ratio;
  }
  return sum + comp;
}

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
double miadam_buffer_gain_ibeta(double kappa, int order_K, std::int64_t t) {
  // (1-κ)^K Σ_{n<t} C(n+K-1,K-1) κ^n is the CDF at t-1 of the negative binomial distribution
  // (failures before the K-th success, success probability 1-κ), which equals I_{1-κ}(K, t).
  const double p = 1.0 - kappa;
  const double cdf = boost::math::ibeta(static_cast<double>(order_K), static_cast<double>(t), p);
  return std::exp(std::log(cdf) - static_cast<double>(order_K) * std::log1p(-kappa));
}

}  // namespace detail

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
double miadam_buffer_gain(double kappa, int order_K, std::int64_t t) {
  check_kappa_order(kappa, order_K);
  FLATMIN_CHECK(t >= 0, "step count t = " << t << " must be >= 0");
  if (t == 0) return 0.0;
  if (kappa == 1.0) {
    // Hockey-stick identity: Σ_{n<t} C(n+K-1, K-1) = C(t+K-1, K).
    double result = 1.0;
    for (int i = 1; i <= order_K; ++i) result *= static_cast<double>(t - 1 + i) / static_cast<double>(i);
    return result;
  }
  const double series = detail::miadam_buffer_gain_series(kappa, order_K, t, kMaxSeriesTerms);
  if (series >= 0.0) return series;
  return detail::miadam_buffer_gain_ibeta(kappa, order_K, t);
}

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
double miadam_steady_step_ratio(double lr, double kappa, int order_K) {
  FLATMIN_CHECK(order_K >= 1, "MIAdam order K = " << order_K << " must be >= 1");
  FLATMIN_CHECK(kappa > 0.0 && kappa < 1.0,
                "kappa = " << kappa << " violates 0 < kappa < 1 (no steady state for kappa = 1)");
  FLATMIN_CHECK(std::isfinite(lr) && lr > 0.0, "learning rate lr = " << lr << " must be finite and > 0");
  return std::pow(lr / (1.0 - kappa), order_K);
}

double miadam_transfer_gain(double kappa, int order_K, double omega) {
  FLATMIN_CHECK(order_K >= 1, "MIAdam order K = " << order_K << " must be >= 1");
  FLATMIN_CHECK(kappa > 0.0 && kappa < 1.0, "kappa = " << kappa << " violates 0 < kappa < 1 (no steady state for kappa = 1)");
  FLATMIN_CHECK(std::isfinite(omega), "omega = " << omega << " must be finite");
  // |1 − κ e^{−iω}|² = 1 − 2κ cos ω + κ², written as (1−κ)² + 4κ sin²(ω/2) (no cancellation near ω = 0)
  const double s = std::sin(0.5 * omega);
  const double mag2 = (1.0 - kappa) * (1.0 - kappa) + 4.0 * kappa * s * s;
  return std::pow(mag2, -0.5 * static_cast<double>(order_K));
}

GainTable miadam_gain_table(double kappa, int order, double lr, std::int64_t steps) {
  check_kappa_order(kappa, order);
  FLATMIN_CHECK(steps >= 1, "steps = " << steps << " must be >= 1");
  FLATMIN_CHECK(std::isfinite(lr) && lr >= 0.0, "lr = " << lr << " must be finite and >= 0");
  GainTable g;
  g.steady_step_ratio = kappa < 1.0 ? miadam_steady_step_ratio(lr, kappa, order) : std::nan("");
  for (std::int64_t t = 1; t <= steps; ++t) {
    const double gain = miadam_buffer_gain(kappa, order, t);
    double ratio = gain;  // MI step / Adam step for constant m: lr^(n+1)·b_n / (lr·m) = lr^n · gain
    for (int j = 0; j < order; ++j) ratio *= lr;
    g.step.push_back(t);
    g.buffer_gain.push_back(gain);
    g.step_ratio.push_back(ratio);
  }
  return g;
}

}  // namespace flatmin::theory
