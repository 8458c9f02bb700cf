#include "theory/miadam_gain.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/error.h"
#include "rules/miadam_rule.h"

namespace flatmin::theory {
namespace {

using common::InputError;

/// Literal simulation of MIAdam's buffers with m ≡ 1 from step 1, in long double (reference):
/// each step, for j = 1..K in order, b_j <- κ b_j + b_{j-1} with b_0 = 1. Returns b_K after each
/// step t = 0..steps (index t).
std::vector<long double> simulate(long double kappa, int order_K, int steps) {
  std::vector<long double> b(static_cast<std::size_t>(order_K) + 1, 0.0L);
  std::vector<long double> out{0.0L};
  for (int t = 1; t <= steps; ++t) {
    b[0] = 1.0L;
    for (int j = 1; j <= order_K; ++j) b[j] = kappa * b[j] + b[j - 1];
    out.push_back(b[order_K]);
  }
  return out;
}

void expect_rel_near(double actual, double expected, double rel, const char* what) {
  EXPECT_NEAR(actual, expected, rel * std::fabs(expected)) << what;
}

TEST(MiadamBufferGain, MatchesDirectSimulationOfTheRecursion) {
  const double kappas[] = {0.05, 0.3, 0.5, 0.9, 0.99, 0.999, 1.0};
  const int steps = 3000;
  for (int K = 1; K <= 3; ++K) {
    for (double kappa : kappas) {
      const std::vector<long double> ref = simulate(kappa, K, steps);
      for (int t = 0; t <= steps; t += (t < 50 ? 1 : 37)) {
        const double got = miadam_buffer_gain(kappa, K, t);
        EXPECT_NEAR(got, static_cast<double>(ref[static_cast<std::size_t>(t)]),
                    2e-13 * static_cast<double>(ref[static_cast<std::size_t>(t)]))
            << "kappa=" << kappa << " K=" << K << " t=" << t;
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(MiadamBufferGain, FirstStepsByHand) {
  // K = 2, κ = 0.5: b1 = 1, 1.5, 1.75; b2 = 0.5 b2 + b1 = 1, 2, 2.75
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(0.5, 2, 1), 1.0);
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(0.5, 2, 2), 2.0);
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(0.5, 2, 3), 2.75);
  EXPECT_EQ(miadam_buffer_gain(0.5, 3, 0), 0.0);
  // K = 1 is the geometric sum (1 - κ^t) / (1 - κ).
  EXPECT_NEAR(miadam_buffer_gain(0.9, 1, 25), (1 - std::pow(0.9, 25)) / (1 - 0.9), 1e-13);
  // K = 2: Σ (n+1) κ^n = (1 - (t+1) κ^t + t κ^(t+1)) / (1-κ)^2.
  const double k = 0.8;
  const int t = 40;
  const double closed = (1 - (t + 1) * std::pow(k, t) + t * std::pow(k, t + 1)) / ((1 - k) * (1 - k));
  EXPECT_NEAR(miadam_buffer_gain(k, 2, t), closed, 1e-12);
}

TEST(MiadamBufferGain, KappaOneIsHockeyStickBinomial) {
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(1.0, 1, 10), 10.0);
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(1.0, 2, 10), 55.0);   // C(11, 2)
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(1.0, 3, 10), 220.0);  // C(12, 3)
  EXPECT_DOUBLE_EQ(miadam_buffer_gain(1.0, 3, 1000000), 1000002.0 * 1000001.0 * 1000000.0 / 6.0);
}

TEST(MiadamBufferGain, ConvergesToSteadyStateGain) {
  const double kappas[] = {0.1, 0.5, 0.9, 0.99, 0.999};
  for (int K = 1; K <= 3; ++K) {
    for (double kappa : kappas) {
      const double limit = std::pow(1.0 - kappa, -K);
      expect_rel_near(miadam_buffer_gain(kappa, K, 10'000'000), limit, 1e-12, "t = 1e7");
      expect_rel_near(miadam_buffer_gain(kappa, K, std::numeric_limits<std::int64_t>::max()), limit, 1e-12,
                      "t = INT64_MAX (series truncation)");
      // Strictly increasing in t and below the limit.
      EXPECT_LT(miadam_buffer_gain(kappa, K, 10), miadam_buffer_gain(kappa, K, 11));
      EXPECT_LT(miadam_buffer_gain(kappa, K, 10), limit);
    }
  }
}

TEST(MiadamBufferGain, SeriesAndIncompleteBetaFormsAgree) {
  const double kappas[] = {0.3, 0.9, 0.99};
  const std::int64_t ts[] = {1, 2, 5, 17, 100, 1000, 20000};
  for (int K : {1, 2, 3, 5}) {
    for (double kappa : kappas) {
      for (std::int64_t t : ts) {
        const double series = detail::miadam_buffer_gain_series(kappa, K, t, std::int64_t{1} << 30);
        const double ibeta = detail::miadam_buffer_gain_ibeta(kappa, K, t);
        EXPECT_NEAR(series, ibeta, 1e-12 * series) << "kappa=" << kappa << " K=" << K << " t=" << t;
      }
    }
  }
  EXPECT_LT(detail::miadam_buffer_gain_series(0.999, 2, 1000000, 10), 0.0) << "term cap must be reported";
}

TEST(MiadamBufferGain, KappaExtremelyCloseToOneUsesClosedFormQuickly) {
  const double kappa = 1.0 - 1e-7;  // would need ~4e8 series terms
  const std::int64_t t = 1'000'000'000;  // t (1-κ) = 100: essentially at the limit
  for (int K = 1; K <= 3; ++K) {
    const double limit = std::pow(1.0 - kappa, -K);
    expect_rel_near(miadam_buffer_gain(kappa, K, t), limit, 1e-9, "near-1 kappa");
  }
  // Halfway to steady state for K = 1: 1 - κ^t with t (1-κ) = ln 2.
  const std::int64_t t_half = static_cast<std::int64_t>(std::llround(std::log(2.0) / 1e-7));
  expect_rel_near(miadam_buffer_gain(kappa, 1, t_half), -std::expm1(t_half * std::log1p(-1e-7)) / (1.0 - kappa), 1e-9,
                  "K = 1 geometric closed form");
}

TEST(MiadamBufferGain, RejectsInvalidArguments) {
  EXPECT_THROW(miadam_buffer_gain(0.0, 1, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(-0.5, 1, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(1.0000001, 1, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(std::nan(""), 1, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(0.5, 0, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(0.5, -2, 10), InputError);
  EXPECT_THROW(miadam_buffer_gain(0.5, 1, -1), InputError);
}

TEST(MiadamSteadyStepRatio, Values) {
  EXPECT_NEAR(miadam_steady_step_ratio(1e-3, 0.5, 1), 2e-3, 1e-18);
  EXPECT_NEAR(miadam_steady_step_ratio(1e-3, 0.5, 3), 8e-9, 1e-22);
  EXPECT_NEAR(miadam_steady_step_ratio(0.1, 0.9, 2), 1.0, 1e-14);
  EXPECT_NEAR(miadam_steady_step_ratio(0.01, 0.99, 3), 1.0, 1e-12);
  // lr^K times the large-t buffer gain.
  for (int K = 1; K <= 3; ++K) {
    const double lr = 3e-4;
    const double kappa = 0.95;
    expect_rel_near(miadam_steady_step_ratio(lr, kappa, K), std::pow(lr, K) * miadam_buffer_gain(kappa, K, 100000),
                    1e-12, "ratio vs gain limit");
  }
}

TEST(MiadamSteadyStepRatio, RejectsInvalidArguments) {
  EXPECT_THROW(miadam_steady_step_ratio(0.1, 1.0, 1), InputError);  // no steady state
  EXPECT_THROW(miadam_steady_step_ratio(0.1, 0.0, 1), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(0.1, 1.5, 1), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(0.1, 0.5, 0), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(0.0, 0.5, 1), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(-1e-3, 0.5, 1), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(std::numeric_limits<double>::infinity(), 0.5, 1), InputError);
  EXPECT_THROW(miadam_steady_step_ratio(std::nan(""), 0.5, 1), InputError);
}

// Frequency response: rules::miadam_accumulate driven by cos(ωt) settles to amplitude |H(ω)|^K (read off by
// projecting the last whole periods' output on cos and sin), and |H(0)|^K is the steady buffer gain (1−κ)^{−K}.
TEST(MiadamTransferGain, MatchesTheAccumulatorsSteadySinusoidResponse) {
  for (double kappa : {0.5, 0.9, 0.98}) {
    for (int K = 1; K <= 3; ++K) {
      expect_rel_near(miadam_transfer_gain(kappa, K, 0.0), miadam_buffer_gain(kappa, K, 1 << 20), 1e-12, "omega = 0");
      EXPECT_NEAR(miadam_transfer_gain(kappa, K, M_PI), std::pow(1.0 + kappa, -K), 1e-14);
      for (int period : {4, 16, 64}) {
        const double omega = 2 * M_PI / period;
        double buf[3] = {0, 0, 0};
        const int burn = 200000, periods = 20;
        double c = 0, s = 0;
        for (int t = 0; t < burn + periods * period; ++t) {
          const double y = rules::miadam_accumulate<-1>(buf, std::cos(omega * t), K, kappa);
          if (t >= burn) {
            c += y * std::cos(omega * t);
            s += y * std::sin(omega * t);
          }
        }
        const double amp = 2 * std::hypot(c, s) / (periods * period);
        expect_rel_near(amp, miadam_transfer_gain(kappa, K, omega), 1e-9, "sinusoid");
      }
    }
  }
  EXPECT_THROW(miadam_transfer_gain(1.0, 1, 0.1), InputError);
  EXPECT_THROW(miadam_transfer_gain(0.9, 0, 0.1), InputError);
  EXPECT_THROW(miadam_transfer_gain(0.9, 1, std::nan("")), InputError);
}

}  // namespace
}  // namespace flatmin::theory
