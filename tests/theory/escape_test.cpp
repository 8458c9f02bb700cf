// Tests of the escape-time machinery: landscapes, stepper, quadrature oracle, Monte Carlo, formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <vector>

#include <boost/numeric/odeint/integrate/integrate_const.hpp>

#include "common/error.h"
#include "theory/escape.h"
#include "theory/landscape.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"
#include "theory/rng.h"
#include "theory/sde_stepper.h"

namespace flatmin::theory {
namespace {

using nlohmann::json;

EscapeProblem problem(json cfg) { return parse_escape_problem(cfg); }

/// Relative tolerance of a value quoted to `sig` significant digits: half a unit of the last digit.
double quoted_tol(double v, int sig) { return 0.5 * std::pow(10.0, std::floor(std::log10(std::abs(v))) - sig + 1); }

// ---------------------------------------------------------------- landscapes
TEST(Landscape, DoubleWellDerivativesAndCriticalPoints) {
  DoubleWell1D L;
  L.dL = 1.7;
  L.k = 1.3;
  for (double x : {-1.2, -0.3, 0.4, 0.9}) {
    const double e = 1e-6;
    EXPECT_NEAR(L.grad(x), (L.value(x + e) - L.value(x - e)) / (2 * e), 1e-6);
    EXPECT_NEAR(L.hess(x), (L.grad(x + e) - L.grad(x - e)) / (2 * e), 1e-5);
  }
  const double a = L.minimum();
  EXPECT_NEAR(L.grad(a), 0.0, 1e-12);
  EXPECT_NEAR(L.hess(a), 8 * 1.7 * 1.3, 1e-12);        // H_a = 8ΔLk
  EXPECT_NEAR(L.hess(0.0), -4 * 1.7 * 1.3, 1e-12);     // H_b = −4ΔLk
  EXPECT_NEAR(L.value(0.0) - L.value(a), 1.7, 1e-12);  // ΔL independent of k
  EXPECT_NEAR(L.h_sgd(a), L.hess(a), 1e-12);           // h_k(a) = H_a
  EXPECT_NEAR(L.h_sgd(0.0), -L.hess(0.0), 1e-12);      // h_k(b) = |H_b|
}

TEST(Landscape, QuadraticDoubleWellCriticalPoints) {
  QuadraticDoubleWell q{1.0, 2.0, Eigen::Vector2d(3.0, 5.0)};
  const auto cps = q.critical_points();
  ASSERT_EQ(cps.size(), 3u);
  for (const auto& c : cps) EXPECT_LT(q.grad(c.x).norm(), 1e-12);
  EXPECT_EQ(cps[0].index, 0);
  EXPECT_EQ(cps[1].index, 1);
  const auto g = escape_geometry(cps[0], cps[1]);
  EXPECT_NEAR(g.dL, 1.0, 1e-12);
  EXPECT_NEAR(g.H_ae, 16.0, 1e-12);
  EXPECT_NEAR(g.H_ue, -8.0, 1e-12);
}

TEST(Landscape, Yang2020MatchesSpecTable) {
  const auto cps = Yang2020::critical_points(6.0);
  for (const auto& c : cps) EXPECT_LT(Yang2020::grad(c.x).norm(), 1e-10);
  auto find = [&](double x, double y) {
    for (const auto& c : cps)
      if (std::abs(c.x[0] - x) < 1e-3 && std::abs(c.x[1] - y) < 1e-3) return c;
    ADD_FAILURE() << "no critical point near (" << x << ", " << y << ")";
    return cps.front();
  };
  // theory.md §11.3 table
  const auto b = find(-1.1105, 0.0), a = find(0.5, 2.0028), u = find(0.5, 1.1279);
  EXPECT_NEAR(b.value, -3.2464, 1e-4);
  EXPECT_EQ(b.index, 0);
  EXPECT_NEAR(b.eigenvalues.sum(), 12.92, 0.01);
  EXPECT_NEAR(a.value, -0.6379, 1e-4);
  EXPECT_NEAR(a.eigenvalues[1], 83.62, 0.01);
  EXPECT_NEAR(a.eigenvalues[0], 1.880, 0.001);
  EXPECT_NEAR(u.value, 6.4211, 1e-4);
  EXPECT_EQ(u.index, 1);
  // the one selection of a+, u+ and b (the d-dim engine and the Yang escape study both use it)
  const auto named = Yang2020::named_points();
  EXPECT_EQ(named.a.x, a.x);
  EXPECT_EQ(named.u.x, u.x);
  EXPECT_EQ(named.b.x, b.x);
  // §11.4 escape geometry a+ -> u+
  const auto g = escape_geometry(a, u);
  EXPECT_NEAR(g.dL, 7.0591, 1e-4);
  EXPECT_NEAR(g.H_ae, 83.619, 1e-3);
  EXPECT_NEAR(g.H_ue, -29.517, 1e-3);
  EXPECT_NEAR(g.det_ratio_quarter, 0.7504, 1e-4);
  EXPECT_NEAR(std::abs(g.e[0]), 0.383, 1e-3);
  // only b on y = 0, and the table's 4 minima + 3 saddle pairs on x = 0.5 ... (count: 1 + 2·(1+1+1+1+4+4) = 25)
  EXPECT_EQ(cps.size(), 25u);
}

// ---------------------------------------------------------------- RNG and stepper
TEST(Rng, StreamsArePureFunctionsOfSeedAndPath) {
  Xoshiro256pp a(7, 3), b(7, 3), c(7, 4), d(8, 3);
  const auto x = a();
  EXPECT_EQ(x, b());
  EXPECT_NE(x, c());
  EXPECT_NE(x, d());
}

TEST(Rng, NormalMoments) {
  Xoshiro256pp rng(1, 0);
  StdNormal z(rng);
  const int n = 400000;
  double s1 = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = z();
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
  }
  EXPECT_NEAR(s1 / n, 0.0, 3 * std::sqrt(1.0 / n));
  EXPECT_NEAR(s2 / n, 1.0, 3 * std::sqrt(2.0 / n));
  EXPECT_NEAR(s4 / n, 3.0, 3 * std::sqrt(96.0 / n));
}

// Ornstein–Uhlenbeck dx = −θx dt + σ dW through odeint's integrate_const (theory.md §12 example).
struct OuDet {
  double theta;
  void operator()(const std::array<double, 1>& x, std::array<double, 1>& d, double) const { d[0] = -theta * x[0]; }
};
struct OuStoch {
  double sigma;
  StdNormal* z;
  void operator()(const std::array<double, 1>&, std::array<double, 1>& s, double) const { s[0] = sigma * (*z)(); }
};

TEST(StochasticEuler, OrnsteinUhlenbeckMeanAndVariance) {
  const double theta = 1.5, sigma = 0.8, x0 = 2.0, T = 1.0, dt = 0.01;
  const int paths = 20000;
  double s1 = 0, s2 = 0;
  for (int p = 0; p < paths; ++p) {
    Xoshiro256pp rng(42, static_cast<std::uint64_t>(p));
    StdNormal z(rng);
    std::array<double, 1> x{x0};
    boost::numeric::odeint::integrate_const(StochasticEuler<1>(), std::make_pair(OuDet{theta}, OuStoch{sigma, &z}), x, 0.0,
                                            T, dt);
    s1 += x[0];
    s2 += x[0] * x[0];
  }
  const double mean = s1 / paths, var = s2 / paths - mean * mean;
  const double m_exact = x0 * std::exp(-theta * T);
  const double v_exact = sigma * sigma / (2 * theta) * (1 - std::exp(-2 * theta * T));
  // Euler–Maruyama's own (exact) moments after n steps: the discretisation bias.
  const int n = static_cast<int>(std::lround(T / dt));
  const double q = 1 - theta * dt;
  const double m_em = x0 * std::pow(q, n);
  const double v_em = sigma * sigma * dt * (1 - std::pow(q, 2 * n)) / (1 - q * q);
  const double se_m = std::sqrt(v_exact / paths), se_v = v_exact * std::sqrt(2.0 / paths);
  EXPECT_NEAR(mean, m_exact, 3 * se_m + std::abs(m_em - m_exact));
  EXPECT_NEAR(var, v_exact, 3 * se_v + std::abs(v_em - v_exact));
  EXPECT_NEAR(mean, m_em, 3 * se_m);  // and the EM moments themselves
  EXPECT_NEAR(var, v_em, 3 * se_v);
}

// ---------------------------------------------------------------- quadrature oracle
TEST(Quadrature, SgdShapedWorkedValues) {
  struct Row { double eta, B, k, tau; int sig; };
  // theory.md §8(a) "exact τ" column and the B/η invariance rows of §8(a)/(b)
  const std::vector<Row> rows = {{0.1, 1, 1, 44.0, 3},   {0.08, 1, 1, 112.5, 4}, {0.066, 1, 1, 306.4, 4},
                                 {0.1, 1.25, 1, 112.5, 4}, {0.1, 1.5, 1, 289.3, 4}, {0.1, 1, 1.25, 16.6, 3},
                                 {0.1, 1, 1.5, 8.36, 3},  {0.01, 0.15, 1, 289.3, 4}, {0.005, 0.075, 1, 289.3, 4}};
  for (const auto& r : rows) {
    const auto p = problem({{"lr", r.eta}, {"batch", r.B}, {"landscape", {{"type", "double_well"}, {"dL", 1}, {"k", r.k}}}});
    const double tau = exact_escape_time(p);
    EXPECT_NEAR(tau, r.tau, quoted_tol(r.tau, r.sig)) << "eta " << r.eta << " B " << r.B << " k " << r.k;
    // exponent ΔΦ = (2B/η)(ln2 − ½)/k (closed form, theory.md §5)
    EXPECT_NEAR(exact_exponent(p), 2 * r.B / r.eta * (std::log(2.0) - 0.5) / r.k, 1e-6);
  }
}

TEST(Quadrature, AdamLikeWorkedValues) {
  struct Row { double eta, B, k, tau; int sig; };
  const std::vector<Row> rows = {{0.15, 1, 1, 973, 3}, {0.12, 1, 1, 4135, 4}, {0.15, 1.5, 1, 2917, 4},
                                 {0.15, 1, 1.5, 275, 3}, {0.15, 1, 2.0, 127, 3}};  // theory.md §8(e)
  for (const auto& r : rows) {
    const auto p = problem({{"dynamics", "adam"}, {"lr", r.eta}, {"batch", r.B},
                            {"landscape", {{"type", "double_well"}, {"dL", 1}, {"k", r.k}}}});
    EXPECT_NEAR(exact_escape_time(p), r.tau, quoted_tol(r.tau, r.sig)) << "eta " << r.eta << " B " << r.B << " k " << r.k;
    // ΔΦ = (2√B/η)·0.4379·√ΔL/√k with 0.4379 = 2(8√2−10)/6 (theory.md §5 closed form)
    EXPECT_NEAR(exact_exponent(p), 2 * std::sqrt(r.B) / r.eta * (2 * (8 * std::sqrt(2.0) - 10) / 6) / std::sqrt(r.k), 1e-6);
  }
}

TEST(Predictions, PathParameterAndFormulas) {
  const auto p = problem({{"lr", 0.1}});
  EXPECT_NEAR(path_parameter_sgd(p), 0.4548, 5e-5);  // theory.md §5: s = 0.4548
  const auto pr = predict(p);
  EXPECT_NEAR(pr.exponent, 3.863, 5e-4);             // ΔΦ at η = 0.1 (theory.md §8(a))
  EXPECT_NEAR(pr.tau, 2 * M_PI / 4 * std::exp(3.8629436), 1e-3);
  // Eq. 14 at t̃ = 1 is Eq. 15; t̃ > 1 gives φ_MIAdam1 < φ_Adam (the paper's conclusion)
  const double e15 = phi_adam_eq15(0.1, 1, 0.9, 7.0591, 83.619, -29.517, 0.7504, 0.5);
  EXPECT_DOUBLE_EQ(phi_miadam1_eq14(0.1, 1, 0.9, 1.0, 7.0591, 83.619, -29.517, 0.7504, 0.5), e15);
  EXPECT_LT(phi_miadam1_eq14(0.1, 1, 0.9, 2.0, 7.0591, 83.619, -29.517, 0.7504, 0.5), e15);
  // Laplace asymptotics: SGD-shaped ⇒ (2π/H_a) e^{ΔΦ} (theory.md §5)
  EXPECT_NEAR(tau_laplace_1d(p), 2 * M_PI / 8 * std::exp(3.8629436), 1e-3);
  // (A) in 1-D
  EXPECT_NEAR(tau_white_A(-4, 0.5, 1.0, 0.12), 2 * M_PI / std::sqrt(32.0) * std::exp(1 / 0.12), 1e-9);
}

// ---------------------------------------------------------------- Monte Carlo vs oracle
void expect_mc_matches_oracle(const json& cfg) {
  const auto p = problem(cfg);
  const auto run = parse_escape_run(cfg);
  const auto r = run_escape_mc(p, run);
  const double exact = exact_escape_time(p), bias = discretisation_bias(p);
  EXPECT_EQ(r.censored, 0);
  std::cout << "  MC " << r.mean << " +- " << r.stderr_ << "  exact " << exact << "  EM bias est " << bias << "\n";
  EXPECT_NEAR(r.mean, exact + bias, 3 * r.stderr_ + std::abs(bias))
      << cfg.dump() << " exact " << exact << " bias " << bias << " se " << r.stderr_;
  EXPECT_NEAR(r.survival_s.front(), 1.0, 1e-12);
  EXPECT_NEAR(r.survival_s.back(), 0.0, 1e-12);
}

TEST(EscapeMC, SgdShapedMatchesOracle) {
  expect_mc_matches_oracle({{"dynamics", "sgd"}, {"lr", 0.1}, {"batch", 1}, {"dt", 2e-3}, {"paths", 400}, {"seed", 11}});
}

// Two-sided exit (absorb_below): from the symmetric saddle θ = 0 of the double well to |θ| >= c. By symmetry
// (odd drift, even diffusion) |θ| is the one-sided first passage to c reflected at 0, which the quadrature gives.
TEST(EscapeMC, TwoSidedSaddleExitMatchesReflectedQuadrature) {
  for (const char* dyn : {"sgd", "adam"}) {
    const json cfg = {{"dynamics", dyn},   {"lr", 0.066}, {"batch", 1},  {"dt", 2e-3},          {"paths", 400},
                      {"seed", 5},         {"start", 0.0}, {"absorb", 2.0}, {"absorb_below", -2.0},
                      {"landscape", {{"type", "double_well"}, {"dL", 1}, {"k", 0.0625}}}};
    const auto p = problem(cfg);
    EXPECT_TRUE(p.two_sided());
    const auto r = run_escape_mc(p, parse_escape_run(cfg));
    const double exact = first_passage_time([&](double t) { return p.drift_eff(t); }, [&](double t) { return p.diff_eff(t); },
                                            0.0, 1e-9, 2.0, 200000);
    std::cout << "  " << dyn << " two-sided MC " << r.mean << " +- " << r.stderr_ << "  reflected quadrature " << exact << "\n";
    EXPECT_EQ(r.censored, 0);
    EXPECT_NEAR(r.mean, exact, 3 * r.stderr_ + 0.02 * exact) << dyn;
  }
  EXPECT_THROW(problem({{"start", 0.0}, {"absorb", 0.5}, {"absorb_below", 0.0}}), common::InputError);  // not left of start
  EXPECT_THROW(exact_escape_time(problem({{"start", 0.0}, {"absorb", 0.5}, {"absorb_below", -0.5}})), common::InputError);
}

TEST(EscapeMC, AdamLikeMatchesOracle) {
  expect_mc_matches_oracle({{"dynamics", "adam"}, {"lr", 0.15}, {"batch", 1}, {"dt", 2e-3}, {"paths", 300}, {"seed", 12},
                            {"landscape", {{"type", "double_well"}, {"dL", 1}, {"k", 2.0}}}});
}

TEST(EscapeMC, WhiteNoiseMatchesOracle) {
  expect_mc_matches_oracle({{"dynamics", "sgd"}, {"noise", "white"}, {"T", 0.25}, {"lr", 0.1}, {"dt", 2e-3}, {"paths", 300}, {"seed", 13}});
}

TEST(EscapeMC, ResultsDoNotDependOnThreadCount) {
  json cfg = {{"lr", 0.1}, {"paths", 24}, {"seed", 5}, {"threads", 1}};
  const auto p = problem(cfg);
  const auto r1 = run_escape_mc(p, parse_escape_run(cfg));
  cfg["threads"] = 3;
  const auto r3 = run_escape_mc(p, parse_escape_run(cfg));
  EXPECT_EQ(r1.times, r3.times);
}

// The batched engine (8 lanes per worker) reproduces the single-path stepper bit for bit, for an
// overdamped, a momentum and a chain state.
TEST(EscapeMC, BatchedLanesEqualSinglePaths) {
  for (const json& cfg : {json{{"lr", 0.1}, {"paths", 20}, {"seed", 9}},
                          json{{"dynamics", "momentum"}, {"lr", 0.1}, {"beta1", 0.5}, {"paths", 20}, {"seed", 9}},
                          json{{"dynamics", "miadam"}, {"lr", 0.15}, {"kappa", 0.98}, {"paths", 20}, {"seed", 9}}}) {
    const auto p = problem(cfg);
    const auto r = run_escape_mc(p, parse_escape_run(cfg));
    for (std::uint64_t i = 0; i < 20; ++i) EXPECT_EQ(r.times[i], simulate_escape_path(p, 9, i)) << cfg.dump() << " path " << i;
  }
}

TEST(EscapeMC, CensoringIsReported) {
  const json cfg = {{"lr", 0.05}, {"paths", 8}, {"t_max", 2.0}};
  const auto r = run_escape_mc(problem(cfg), parse_escape_run(cfg));
  EXPECT_EQ(r.censored, 8);
  EXPECT_DOUBLE_EQ(r.mean, 2.0);
}

// A user polynomial equal to the double well gives the same oracle; a tilted one matches its own oracle.
TEST(EscapeMC, PolynomialLandscapeFromConfig) {
  const auto dw = problem({{"noise", "white"}, {"T", 0.25}, {"lr", 0.1}});
  const auto poly = problem({{"noise", "white"}, {"T", 0.25}, {"lr", 0.1},
                             {"landscape", {{"type", "polynomial"}, {"coeffs", {1, 0, -2, 0, 1}}, {"minimum", -0.8}, {"saddle", 0.1}}}});
  EXPECT_NEAR(poly.landscape.minimum(), -1.0, 1e-12);
  EXPECT_NEAR(poly.landscape.saddle(), 0.0, 1e-12);
  EXPECT_NEAR(poly.absorb, 0.5, 1e-12);
  EXPECT_NEAR(exact_escape_time(poly), exact_escape_time(dw), 1e-9 * exact_escape_time(dw));
  EXPECT_NEAR(predict(poly).tau, predict(dw).tau, 1e-9 * predict(dw).tau);
  expect_mc_matches_oracle({{"noise", "white"}, {"T", 0.1}, {"lr", 0.1}, {"paths", 300}, {"seed", 17},
                            {"landscape", {{"type", "polynomial"}, {"coeffs", {0, 0.1, -0.5, 0, 0.25}}, {"minimum", -1}, {"saddle", 0.2}}}});
  EXPECT_THROW(problem({{"landscape", {{"type", "polynomial"}, {"coeffs", {0, 0.1, -0.5, 0, 0.25}}, {"minimum", -1}, {"saddle", 0.2}}}}),
               common::InputError);  // sgd_shaped is double-well only
  EXPECT_THROW(problem({{"noise", "white"}, {"landscape", {{"type", "polynomial"}, {"coeffs", {0, 1, 0, 1}}, {"minimum", -1}, {"saddle", 0}}}}),
               common::InputError);  // odd degree
}

TEST(Config, BadInputIsOneInputError) {
  EXPECT_THROW(problem({{"lr", -1}}), common::InputError);
  EXPECT_THROW(problem({{"lrr", 0.1}}), common::InputError);
  EXPECT_THROW(problem({{"noise", "pink"}}), common::InputError);
  EXPECT_THROW(problem({{"dynamics", "miadam"}, {"kappa", 1.5}}), common::InputError);
  EXPECT_THROW(problem({{"dt", 0.5}}), common::InputError);
  EXPECT_THROW(problem({{"landscape", {{"type", "yang"}}}}), common::InputError);
  EXPECT_THROW(parse_escape_run({{"paths", 1}}), common::InputError);
  EXPECT_THROW(exact_escape_time(problem({{"dynamics", "momentum"}})), common::InputError);
}

}  // namespace
}  // namespace flatmin::theory
