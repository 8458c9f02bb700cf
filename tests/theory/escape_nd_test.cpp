// Tests of the d-dimensional escape machinery (theory/model_nd.h, escape_nd.h, predictions_nd.h, lane_engine.h): the
// d-dim stepper against the exact 2-D Ornstein–Uhlenbeck moments, d = 1 equal to the 1-D engine
// bit for bit, Monte Carlo against Eyring–Kramers / the separable oracle in 2-D, predictions, config.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include <Eigen/Dense>
#include <boost/numeric/odeint/integrate/integrate_const.hpp>
#include <unsupported/Eigen/MatrixFunctions>

#include "common/error.h"
#include "theory/escape.h"
#include "theory/escape_nd.h"
#include "theory/lane_engine.h"
#include "theory/predictions.h"
#include "theory/quadrature.h"
#include "theory/runs.h"

namespace flatmin::theory {
namespace {

using nlohmann::json;

// A 2-D Ornstein–Uhlenbeck process dx = −A x dt + S dW (A non-symmetric coupling, S lower
// triangular) written as a lane-engine model, so the test drives exactly the functors
// (LaneDrift/LaneNoise: K normals per step, strided lanes) that the d-dim Monte Carlo uses.
struct Ou2 {
  static constexpr std::size_t N = 2, K = 2;
  Eigen::Matrix2d A, S;
  double dt = 0.01, t_max = 1;
  void init(double* x, std::size_t w) const { x[0] = 1.5; x[w] = -0.5; }
  void idle(double*, std::size_t) const {}
  void drift(const double* x, double* d, std::size_t w) const {
    d[0] = -(A(0, 0) * x[0] + A(0, 1) * x[w]);
    d[w] = -(A(1, 0) * x[0] + A(1, 1) * x[w]);
  }
  void noise(const double*, double* s, std::size_t w, const double* xi) const {
    s[0] = S(0, 0) * xi[0] + S(0, 1) * xi[1];
    s[w] = S(1, 0) * xi[0] + S(1, 1) * xi[1];
  }
  bool exited(const double*, std::size_t) const { return false; }
  bool finite(const double*, std::size_t) const { return true; }
};

TEST(StepperND, TwoDimOrnsteinUhlenbeckMeanAndCovariance) {
  Ou2 m;
  m.A << 2.0, 0.5, -0.3, 1.0;
  m.S << 0.8, 0.0, 0.3, 0.5;
  const double T = 1.0;
  const int paths = 20000;
  Eigen::Vector2d s1 = Eigen::Vector2d::Zero();
  Eigen::Matrix2d s2 = Eigen::Matrix2d::Zero();
  for (int p = 0; p < paths; ++p) {
    Xoshiro256pp rng(7, static_cast<std::uint64_t>(p));
    StdNormal z(rng);
    std::array<double, 2> x{};
    m.init(x.data(), 1);
    auto sys = std::make_pair(detail::LaneDrift<Ou2, 1>{&m}, detail::LaneNoise<Ou2, 1>{&m, &z});
    boost::numeric::odeint::integrate_const(StochasticEuler<2>(), sys, x, 0.0, T, m.dt);
    const Eigen::Vector2d v(x[0], x[1]);
    s1 += v;
    s2 += v * v.transpose();
  }
  const Eigen::Vector2d mean = s1 / paths;
  const Eigen::Matrix2d cov = s2 / paths - mean * mean.transpose();
  const Eigen::Vector2d x0(1.5, -0.5);
  // Exact OU: mean e^{−AT}x0, covariance ∫_0^T e^{−As} SSᵀ e^{−Aᵀs} ds (fine quadrature of the closed integrand).
  const Eigen::Vector2d m_exact = (-m.A * T).exp() * x0;
  Eigen::Matrix2d c_exact = Eigen::Matrix2d::Zero();
  const int q = 4000;
  for (int i = 0; i <= q; ++i) {
    const double s = T * i / q;
    const Eigen::Matrix2d E = (-m.A * s).exp();
    c_exact += (i == 0 || i == q ? 0.5 : 1.0) * (E * m.S * m.S.transpose() * E.transpose()) * (T / q);
  }
  // Euler–Maruyama's own exact moments: m_{n+1} = (I − A dt) m_n, Σ_{n+1} = (I − A dt) Σ (I − A dt)ᵀ + dt SSᵀ.
  const int n = static_cast<int>(std::lround(T / m.dt));
  const Eigen::Matrix2d Q = Eigen::Matrix2d::Identity() - m.A * m.dt;
  Eigen::Vector2d m_em = x0;
  Eigen::Matrix2d c_em = Eigen::Matrix2d::Zero();
  for (int i = 0; i < n; ++i) {
    m_em = Q * m_em;
    c_em = Q * c_em * Q.transpose() + m.dt * m.S * m.S.transpose();
  }
  for (int i = 0; i < 2; ++i) {
    const double se_m = std::sqrt(c_exact(i, i) / paths);
    EXPECT_NEAR(mean[i], m_em[i], 3 * se_m);
    EXPECT_NEAR(mean[i], m_exact[i], 3 * se_m + std::abs(m_em[i] - m_exact[i]));
    for (int j = 0; j < 2; ++j) {
      // se of a sample covariance entry: sqrt((Σ_ii Σ_jj + Σ_ij²)/n)
      const double se_c = std::sqrt((c_exact(i, i) * c_exact(j, j) + c_exact(i, j) * c_exact(i, j)) / paths);
      EXPECT_NEAR(cov(i, j), c_em(i, j), 3 * se_c) << i << j;
      EXPECT_NEAR(cov(i, j), c_exact(i, j), 3 * se_c + std::abs(c_em(i, j) - c_exact(i, j))) << i << j;
    }
  }
  EXPECT_GT(std::abs(c_exact(0, 1)), 0.01);  // the test really has correlated components
}

// d = 1 quadratic double well through the d-dim engine = the 1-D engine, bit for bit.
TEST(EscapeND, OneDimensionalCaseEqualsTheOneDimEngineBitForBit) {
  const json cases[] = {
      {{"noise", "white"}, {"T", 0.25}, {"dynamics", "sgd"}, {"lr", 0.1}},
      {{"noise", "hessian"}, {"dynamics", "sgd"}, {"lr", 0.2}},
      {{"noise", "hessian"}, {"dynamics", "adam"}, {"lr", 0.2}},
      {{"noise", "white"}, {"T", 0.25}, {"dynamics", "momentum"}, {"beta1", 0.5}, {"lr", 0.066}},
      {{"noise", "hessian"}, {"dynamics", "adam"}, {"beta1", 0.9}, {"lr", 0.15}},
      {{"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.9}, {"kappa", 0.98}, {"lr", 0.15}},
      {{"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.0}, {"kappa", 0.9}, {"lr", 0.15}},
      {{"noise", "hessian"}, {"dynamics", "adai"}, {"lr", 0.066}, {"vbar", 3.0}},
      {{"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.9}, {"kappa", 0.98}, {"order", 2}, {"lr", 0.3}},
      {{"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.9}, {"kappa", 0.98}, {"order", 3}, {"lr", 0.6}},
      {{"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.0}, {"kappa", 0.9}, {"order", 3}, {"lr", 0.6}},
  };
  for (const auto& c : cases) {
    json one = c, nd = c;
    one["landscape"] = {{"type", "double_well"}, {"dL", 1}, {"k", 1.5}};
    nd["landscape"] = {{"type", "quadratic_double_well"}, {"d", 1}, {"dL", 1}, {"k", 1.5}};
    for (json* j : {&one, &nd}) {
      (*j)["paths"] = 24;
      (*j)["seed"] = 5;
      (*j)["t_max"] = 2000;
    }
    const auto p1 = parse_escape_problem(one);
    const auto pn = parse_escape_problem_nd(nd);
    for (std::uint64_t i = 0; i < 6; ++i) {
      std::int64_t k1 = 0, kn = 0;
      const double t1 = simulate_escape_path(p1, 5, i, &k1);
      const double tn = simulate_escape_path_nd(pn, 5, i, &kn);
      EXPECT_EQ(k1, kn) << c.dump() << " path " << i;
      EXPECT_EQ(t1, tn);
    }
    const auto r1 = run_escape_mc(p1, parse_escape_run(one));
    const auto rn = run_escape_mc_nd(pn, parse_escape_run(nd));
    EXPECT_EQ(r1.times, rn.times) << c.dump();
    EXPECT_EQ(r1.mean, rn.mean);
  }
}

// Batched lanes (W = 8) equal single paths (W = 1) in 3-D, and thread counts do not matter.
TEST(EscapeND, BatchedLanesEqualSinglePathsAndThreadIndependence) {
  json c = {{"landscape", {{"type", "quadratic_double_well"}, {"d", 3}, {"lambda", {2.0, 5.0}}}},
            {"noise", "hessian"}, {"dynamics", "adam"}, {"beta1", 0.9}, {"lr", 0.2}, {"paths", 20}, {"seed", 9}, {"threads", 1}};
  const auto p = parse_escape_problem_nd(c);
  const auto r1 = run_escape_mc_nd(p, parse_escape_run(c));
  c["threads"] = 2;
  const auto r2 = run_escape_mc_nd(p, parse_escape_run(c));
  EXPECT_EQ(r1.times, r2.times);
  for (std::uint64_t i = 0; i < 20; ++i) EXPECT_EQ(simulate_escape_path_nd(p, 9, i), r1.times[i]) << i;
}

// The higher-order chain (MIAdam2/3) on the full-matrix path (Yang, Hessian noise): batched lanes
// equal single paths, every path escapes, and no formula is claimed. (The diagonal path's chain
// arithmetic is pinned bit for bit to the 1-D engine above.)
TEST(EscapeND, HigherOrderChainOnTheFullMatrixPath) {
  for (int order : {2, 3}) {
    const json c = {{"landscape", {{"type", "yang"}}}, {"noise", "hessian"}, {"hessian_floor_ref", "min"},
                    {"dynamics", "miadam"}, {"beta1", 0.9}, {"kappa", 0.98}, {"order", order}, {"lr", 0.5},
                    {"batch", 0.0625}, {"dt", 0.002}, {"paths", 16}, {"seed", 4}, {"t_max", 5000}};
    const auto p = parse_escape_problem_nd(c);
    ASSERT_FALSE(p.diagonal());
    const auto r = run_escape_mc_nd(p, parse_escape_run(c));
    EXPECT_EQ(r.escaped, 16) << "order " << order;
    for (std::uint64_t i = 0; i < 4; ++i) EXPECT_EQ(simulate_escape_path_nd(p, 4, i), r.times[i]) << order << " " << i;
    EXPECT_TRUE(std::isnan(predict_nd(p).tau));
    EXPECT_TRUE(std::isfinite(r.mean) && r.mean > 0);
  }
}

// Monte Carlo vs Eyring–Kramers (A) in 2-D: the separable double well (whose θ₁-marginal
// quadrature is exact) and Yang 2020 (non-trivial det ratio). Tolerance: 3 se + (T/ΔL)·τ_EK,
// the first asymptotic correction (docs/theory.md).
TEST(EscapeND, TwoDimMonteCarloMatchesEyringKramers) {
  {
    const json c = {{"landscape", {{"type", "quadratic_double_well"}, {"d", 2}, {"lambda", {3.0}}}},
                    {"noise", "white"}, {"T", 0.2}, {"dynamics", "sgd"}, {"lr", 0.1}, {"paths", 400}, {"seed", 11}};
    const auto p = parse_escape_problem_nd(c);
    const auto r = run_escape_mc_nd(p, parse_escape_run(c));
    const auto pred = predict_nd(p);
    EXPECT_NEAR(pred.tau, 2 * M_PI / 4.0 * std::sqrt(4.0 * 3.0 / (8.0 * 3.0)) * std::exp(5.0), 1e-9);  // (A), det ratio 1/2
    EXPECT_NEAR(r.mean, pred.tau, 3 * r.stderr_ + p.T / p.geom.dL * pred.tau);
    ASSERT_TRUE(has_exact_oracle(p));
    const auto m = marginal_problem(p);
    const double exact = exact_escape_time(m), bias = discretisation_bias(m);
    EXPECT_NEAR(r.mean, exact + bias, 3 * r.stderr_ + std::abs(bias));
  }
  {
    const json c = {{"landscape", {{"type", "yang"}}}, {"noise", "white"}, {"T", 1.5}, {"dynamics", "sgd"},
                    {"lr", 0.1}, {"dt", 0.001}, {"paths", 400}, {"seed", 12}};
    const auto p = parse_escape_problem_nd(c);
    EXPECT_NEAR(p.geom.dL, 7.0591, 1e-4);  // theory.md §11.4
    EXPECT_NEAR(std::abs(p.u.eigenvalues.prod() / p.a.eigenvalues.prod()), 49.858 / 157.200, 1e-3);
    EXPECT_FALSE(has_exact_oracle(p));
    const auto r = run_escape_mc_nd(p, parse_escape_run(c));
    const auto pred = predict_nd(p);
    EXPECT_NEAR(r.mean, pred.tau, 3 * r.stderr_ + p.T / p.geom.dL * pred.tau) << pred.tau;
  }
}

TEST(EscapeND, PredictionsUseTheGeometry) {
  // Quadratic double well, Hessian noise: (B)/(D) with H_ae = 8ΔLk, H_ue = −4ΔLk and the marginal's s.
  const json c = {{"landscape", {{"type", "quadratic_double_well"}, {"d", 3}, {"k", 2.0}}}, {"noise", "hessian"},
                  {"dynamics", "adam"}, {"lr", 0.15}};
  const auto p = parse_escape_problem_nd(c);
  const auto pr = predict_nd(p);
  const auto m = marginal_problem(p);
  EXPECT_DOUBLE_EQ(pr.s, path_parameter_adam(m));
  EXPECT_NEAR(pr.tau, tau_adam_D(0.15, 1, 0, 1, 16, -8, std::pow(0.5, 0.25), pr.s), 1e-12 * pr.tau);
  // Yang with a given rho: Eq. 14 / Eq. 15 in the paper's numbers (theory.md §11.4).
  const json y = {{"landscape", {{"type", "yang"}}}, {"noise", "hessian"}, {"dynamics", "miadam"}, {"beta1", 0.9},
                  {"kappa", 1.0}, {"lr", 0.1}, {"batch", 0.0625}, {"rho", 0.4}, {"dt", 0.005}};
  const auto py = parse_escape_problem_nd(y);
  EXPECT_NEAR(py.geom.H_ae, 83.619, 1e-3);
  EXPECT_NEAR(py.geom.H_ue, -29.517, 1e-3);
  EXPECT_NEAR(py.geom.det_ratio_quarter, 0.7504, 1e-4);
  const auto pm = predict_nd(py);
  EXPECT_DOUBLE_EQ(pm.tau, mean_time_eq14(0.1, 0.0625, 0.9, py.geom.dL, py.geom.H_ae, py.geom.H_ue, py.geom.det_ratio_quarter, 0.4));
}

// Adai in d dims. With a fixed v̄ each coordinate's rate depends on that coordinate only, so on the
// separable double well θ₁ is exactly 1-D Adai with the same v̄: the 2-D Monte Carlo mean must
// match the 1-D engine's (independent streams: 3 combined stderr), and (E) must be the 1-D (E).
// With Adai's literal rule (v̄ = the mean of C_ii(θ) over the coordinates at every step) the
// coordinates couple; that run is reported, not compared with a formula.
TEST(EscapeND, AdaiFixedVbarMarginalIsOneDimAdai) {
  json c = {{"landscape", {{"type", "quadratic_double_well"}, {"d", 2}, {"k", 1.5}, {"lambda", {12.0}}}},
            {"noise", "hessian"}, {"dynamics", "adai"}, {"lr", 0.066}, {"batch", 1.0}, {"paths", 600}, {"seed", 21}};
  const auto p = parse_escape_problem_nd(c);
  EXPECT_NEAR(p.adai_vbar(), (12.0 + 12.0) / 2, 1e-9);  // mean of C_ii(a) = (H_ae + λ)/2 with H_ae = 8·ΔL·k = 12
  const auto m = marginal_problem(p);
  EXPECT_EQ(m.dynamics, DynamicsType::Adai);
  EXPECT_DOUBLE_EQ(m.adai_vbar(), p.adai_vbar());
  const auto rn = run_escape_mc_nd(p, parse_escape_run(c));
  EscapeRun run1 = parse_escape_run(c);
  run1.seed = 22;
  const auto r1 = run_escape_mc(m, run1);
  EXPECT_NEAR(rn.mean, r1.mean, 3 * std::hypot(rn.stderr_, r1.stderr_)) << rn.mean << " vs " << r1.mean;
  const auto pn = predict_nd(p), p1 = predict(m);
  EXPECT_NE(pn.formula.find("(E)"), std::string::npos) << pn.formula;
  EXPECT_NEAR(pn.tau, p1.tau, 1e-10 * p1.tau);
  // the literal rule: runs, and its prediction is withheld with the reason
  c["vbar_rule"] = "mean";
  c["paths"] = 64;
  const auto pm = parse_escape_problem_nd(c);
  const auto rm = run_escape_mc_nd(pm, parse_escape_run(c));
  EXPECT_EQ(rm.escaped, 64);
  EXPECT_TRUE(std::isnan(predict_nd(pm).tau));
  EXPECT_NE(predict_nd(pm).formula.find("vbar_rule mean"), std::string::npos);
}

TEST(EscapeND, SummaryKeysAndBadConfig) {
  const json y = {{"landscape", {{"type", "yang"}}}, {"noise", "white"}, {"T", 2.0}, {"lr", 0.1}, {"dt", 0.001}, {"paths", 16}};
  const auto s = escape_time_summary(y, false).to_json();  // the summary.json the command writes
  for (const char* key : {"mean_escape_time", "stderr", "paths", "exact", "predicted", "config", "geometry"}) EXPECT_TRUE(s.contains(key)) << key;
  EXPECT_TRUE(s["exact"].is_null());
  EXPECT_EQ(s["config"]["landscape"]["type"], "yang");
  const json q = {{"landscape", {{"type", "quadratic_double_well"}, {"d", 2}}}, {"noise", "white"}, {"T", 0.5}, {"paths", 16}};
  const auto sq = escape_time_summary(q, false);
  ASSERT_TRUE(sq.exact.has_value());
  EXPECT_TRUE(sq.to_json()["exact"].is_number());
  for (const json& bad : {json{{"landscape", {{"type", "quadratic_double_well"}, {"d", 7}}}},
                         json{{"landscape", {{"type", "quadratic_double_well"}, {"d", 2}, {"lambda", {1.0, 2.0}}}}},
                         json{{"landscape", {{"type", "quadratic_double_well"}, {"lambda", {-1.0}}}}},
                         json{{"landscape", {{"type", "yang"}, {"k", 2}}}},
                         json{{"landscape", {{"type", "yang"}}}, {"noise", "sgd_shaped"}},
                         json{{"landscape", {{"type", "yang"}}}, {"dynamics", "adai"}, {"beta1", 0.9}},
                         json{{"landscape", {{"type", "yang"}}}, {"dynamics", "adai"}, {"beta0", 0.0}},
                         json{{"landscape", {{"type", "yang"}}}, {"dynamics", "adai"}, {"vbar_rule", "median"}},
                         json{{"landscape", {{"type", "yang"}}}, {"dynamics", "adai"}, {"vbar_rule", "mean"}, {"vbar", 2.0}},
                         json{{"landscape", {{"type", "yang"}}}, {"dt", 0.1}},
                         json{{"landscape", {{"type", "yang"}}}, {"rho", 1.5}},
                         json{{"landscape", {{"type", "yang"}}}, {"bogus", 1}}})
    EXPECT_THROW(parse_escape_problem_nd(bad), common::InputError) << bad.dump();
}

TEST(FlowRun, YangFlowFromConfigEndsAtACriticalPoint) {
  FlowTrajectory tr;
  const json c = {{"landscape", {{"type", "yang"}}}, {"start", {0.5, 1.6}}, {"dynamics", "sgd"}, {"lr", 0.01},
                  {"t_end", 5.0}, {"t_out", 0.05}};
  const auto s = flow_run(c, tr).to_json();  // the summary.json the command writes
  EXPECT_GT(tr.t.size(), 50u);
  EXPECT_LT(s["final_grad_norm"].get<double>(), 1e-4);
  EXPECT_NEAR(s["final_theta"][1].get<double>(), 2.0028, 1e-3);  // gradient flow from (0.5, 1.6) falls into a+
  EXPECT_THROW(flow_run(json{{"landscape", {{"type", "yang"}}}, {"start", {0.5}}}, tr), common::InputError);
  EXPECT_THROW(flow_run(json{{"dynamics", "lion"}}, tr), common::InputError);
  EXPECT_THROW(flow_run(json{{"t_endd", 3}}, tr), common::InputError);
}

}  // namespace
}  // namespace flatmin::theory
