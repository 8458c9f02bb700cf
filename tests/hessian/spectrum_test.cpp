// LibTorch-free core (hessian/spectrum.h) against analytic oracles (spec §7.2 items 1, 6, 7, 8).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include "common/error.h"
#include "hessian/analyze.h"
#include "hessian/spectrum.h"

namespace fh = flatmin::hessian;
using fh::Mat;
using fh::Vec;

namespace {

// Q diag(evals) Qᵀ with a seeded random orthogonal Q.
Mat rotated(const Vec& evals, unsigned seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> nd;
  const auto n = evals.size();
  Mat a(n, n);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = nd(g);
  const Mat q = Eigen::HouseholderQR<Mat>(a).householderQ();
  return q * evals.asDiagonal() * q.transpose();
}

Vec linspace(double a, double b, int n) { return Vec::LinSpaced(n, a, b); }

std::function<void(double*)> gaussian_sampler(Eigen::Index n, std::uint64_t seed) {
  auto k = std::make_shared<std::uint64_t>(0);
  return [n, seed, k](double* out) { fh::gaussian_probe(seed, (*k)++, out, n); };
}

}  // namespace

TEST(Quadratic, IndefiniteSelectionRules) {
  // L = ½θᵀAθ: H = A = diag(−5,1,2,3,4) (spec §7.2.1).
  Mat a = Vec((Vec(5) << -5, 1, 2, 3, 4).finished()).asDiagonal();
  const auto op = fh::dense_operator(a);
  fh::TopKOptions o;
  o.which = fh::Which::LargestAlge;
  auto r = fh::top_k(op, o);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_NEAR(r.pairs[0].value, 4.0, 1e-10);
  o.which = fh::Which::SmallestAlge;
  EXPECT_NEAR(fh::top_k(op, o).pairs[0].value, -5.0, 1e-10);
  o.which = fh::Which::LargestMagn;
  EXPECT_NEAR(fh::top_k(op, o).pairs[0].value, -5.0, 1e-10);
  o.which = fh::Which::BothEnds;
  o.k = 2;
  r = fh::top_k(op, o);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_NEAR(r.pairs[0].value, 4.0, 1e-10);
  EXPECT_NEAR(r.pairs[1].value, -5.0, 1e-10);
  for (const auto& p : r.pairs) EXPECT_LT(p.residual, 1e-10);
}

TEST(Quadratic, PyHessianPowerIterationIsLargestMagnitudeInDiscoveryOrder) {
  Mat a = Vec((Vec(5) << -5, 1, 2, 3, 4).finished()).asDiagonal();
  auto op = fh::dense_operator(a);
  fh::PowerIterationOptions po;
  po.top_n = 2;
  auto r = fh::pyhessian_power_iteration(op, po, gaussian_sampler(5, 3));
  ASSERT_EQ(r.pairs.size(), 2u);
  // PyHessian returns [-4.987, 3.988] here (spec §2.2): magnitude first, ~1% from the weak rule.
  EXPECT_NEAR(r.pairs[0].value, -5.0, 0.05);
  EXPECT_NEAR(r.pairs[1].value, 4.0, 0.05);
  for (int it : r.iterations) EXPECT_LE(it, 100);
  EXPECT_EQ(r.products, r.iterations[0] + r.iterations[1]);
}

TEST(Quadratic, DiagonalHessianMakesEveryRademacherSampleExact) {
  Mat a = Vec((Vec(5) << -5, 1, 2, 3, 4).finished()).asDiagonal();
  auto op = fh::dense_operator(a);
  op.rademacher = [](double* out) {
    static std::uint64_t k = 0;
    fh::rademacher_probe(11, k++, out, 5);
  };
  auto r = fh::pyhessian_trace(op);
  ASSERT_EQ(r.samples.size(), 2u);  // the first check compares with 0, the second is exact
  for (double s : r.samples) EXPECT_DOUBLE_EQ(s, 5.0);
  fh::HutchinsonOptions ho;
  auto h = fh::hutchinson(op, ho);
  EXPECT_DOUBLE_EQ(h.estimate, 5.0);
  EXPECT_EQ(h.n, ho.min_samples);  // zero variance: CI half-width 0 at the first check
  EXPECT_TRUE(h.converged);
}

TEST(SpectraVsEigen, RandomSymmetricBothEndsAndTop3) {
  for (int n : {50, 200, 500}) {
    std::mt19937_64 g(n);
    std::normal_distribution<double> nd;
    Mat b(n, n);
    for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = nd(g);
    const Mat a = 0.5 * (b + b.transpose());
    Eigen::SelfAdjointEigenSolver<Mat> es(a);
    const Vec ev = es.eigenvalues();
    const auto op = fh::dense_operator(a);
    fh::TopKOptions o;
    o.k = 3;
    o.tol = 1e-10;
    auto r = fh::top_k(op, o);
    ASSERT_EQ(r.status, flatmin::common::RunStatus::ok) << n << r.message;
    EXPECT_TRUE(r.message.empty());
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(r.pairs[i].value, ev(n - 1 - i), 1e-8 * std::abs(ev(n - 1))) << n;
    for (const auto& p : r.pairs) EXPECT_LT(p.residual, 1e-8);
    EXPECT_EQ(r.products, r.num_operations + 3);
    o.k = 2;
    o.which = fh::Which::BothEnds;
    r = fh::top_k(op, o);
    EXPECT_NEAR(r.pairs[0].value, ev(n - 1), 1e-8 * std::abs(ev(n - 1)));
    EXPECT_NEAR(r.pairs[1].value, ev(0), 1e-8 * std::abs(ev(0)));
  }
}

TEST(SpectraVsPower, FewerProductsAtEqualResidual) {
  // Closely spaced top of the spectrum (relative gap 1%): Krylov beats power iteration by far.
  Vec ev = linspace(0.0, 3.0, 300);
  ev(299) = 4.0;
  ev(298) = 3.96;
  const Mat a = rotated(ev, 5);
  const auto op = fh::dense_operator(a);
  fh::TopKOptions o;
  auto r = fh::top_k(op, o);
  EXPECT_NEAR(r.pairs[0].value, 4.0, 1e-9);
  const double res = r.pairs[0].residual;
  EXPECT_LT(res, 1e-8);
  fh::PowerIterationOptions po;
  po.max_iter = 100000;
  po.residual_tol = 1e-8;
  po.normalization_eps = 0;  // PyHessian's ‖v‖+1e-6 floors the residual at ≈2e-6
  auto p = fh::pyhessian_power_iteration(op, po, gaussian_sampler(300, 1));
  EXPECT_LE(p.pairs[0].residual, 1e-8);
  EXPECT_TRUE(p.pairs[0].converged);
  EXPECT_LT(2 * r.products, p.products) << "spectra " << r.products << " power " << p.products;
}

TEST(Lanczos, ExactAtMEqualsN) {
  const Vec ev = linspace(-2.0, 7.0, 50);
  const Mat a = rotated(ev, 9);
  const auto op = fh::dense_operator(a);
  Vec v0(50);
  fh::rademacher_probe(1, 2, v0.data(), 50);
  const auto t = fh::lanczos(op, v0, 50, fh::LanczosVariant::Accurate, gaussian_sampler(50, 4));
  const auto q = fh::gauss_quadrature(t);
  ASSERT_EQ(q.nodes.size(), 50u);
  double err = 0, wsum = 0;
  for (int i = 0; i < 50; ++i) {
    err = std::max(err, std::abs(q.nodes[i] - ev(i)));
    wsum += q.weights[i];
  }
  EXPECT_LT(err, 1e-10);
  EXPECT_NEAR(wsum, 1.0, 1e-12);
  // PyHessian's variant (one GS pass, β before reorth) normalises by ‖·‖+1e-6: its basis is not
  // unit-norm, so T is similar to H only up to O(1e-6) relative perturbations.
  const auto tp = fh::lanczos(op, v0, 50, fh::LanczosVariant::PyHessian, gaussian_sampler(50, 4));
  const auto qp = fh::gauss_quadrature(tp);
  double errp = 0;
  for (int i = 0; i < 50; ++i) errp = std::max(errp, std::abs(qp.nodes[i] - ev(i)) / 7.0);
  EXPECT_LT(errp, 1e-5);
  EXPECT_GT(errp, 1e-9);  // the bias is real (not round-off)
}

TEST(Lanczos, BreakdownRestartsOnRepeatedEigenvalues) {
  // 3 distinct eigenvalues: the Krylov space of any start is 3-dimensional, so step 4 breaks down.
  Vec ev(12);
  ev << 1, 1, 1, 1, 2, 2, 2, 2, 5, 5, 5, 5;
  const Mat a = rotated(ev, 2);
  const auto op = fh::dense_operator(a);
  Vec v0(12);
  fh::rademacher_probe(3, 0, v0.data(), 12);
  const auto t = fh::lanczos(op, v0, 12, fh::LanczosVariant::Accurate, gaussian_sampler(12, 8));
  EXPECT_GE(t.restarts, 1);
  const auto q = fh::gauss_quadrature(t);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(q.nodes[i], ev(i), 1e-9);
  double w = 0;
  for (double x : q.weights) w += x;
  EXPECT_NEAR(w, 1.0, 1e-12);
}

TEST(Slq, WeightSumsAndUnitArea) {
  const Mat a = rotated(linspace(1.0, 5.0, 50), 1);
  const auto op = fh::dense_operator(a);
  fh::SlqOptions so;
  so.runs = 8;
  so.steps = 40;
  const auto s = fh::slq(op, so);
  ASSERT_EQ(s.runs.size(), 8u);
  for (const auto& q : s.runs) {
    double w = 0;
    for (double x : q.weights) w += x;
    EXPECT_NEAR(w, 1.0, 1e-10);
  }
  fh::DensityOptions d;  // PyHessian kernel: unit Riemann sum by construction, σ² = 1e-5·max(1, range)
  auto den = fh::smooth_density(s.runs, d);
  double area = 0;
  for (std::size_t j = 0; j < den.grid.size(); ++j) area += den.density[j];
  area *= den.grid[1] - den.grid[0];
  EXPECT_NEAR(area, 1.0, 1e-12);
  EXPECT_NEAR(den.sigma2, 1e-5 * (den.grid.back() - den.grid.front()), 1e-15);
  d.kernel = fh::Kernel::Std;  // not renormalised: the area is ≈ 1 only through the Gaussians' mass
  den = fh::smooth_density(s.runs, d);
  area = 0;
  for (std::size_t j = 0; j < den.grid.size(); ++j) area += den.density[j];
  area *= den.grid[1] - den.grid[0];
  EXPECT_NEAR(area, 1.0, 0.05);
}

TEST(Slq, TwoClusterMassesAndPeaks) {
  Vec ev(60);
  ev.head(30).setConstant(1.0);
  ev.tail(30).setConstant(5.0);
  const Mat a = rotated(ev, 7);
  const auto op = fh::dense_operator(a);
  fh::SlqOptions so;
  so.runs = 20;
  so.steps = 50;
  const auto s = fh::slq(op, so);
  fh::DensityOptions d;
  d.kernel = fh::Kernel::Std;
  d.sigma = 0.1;
  const auto den = fh::smooth_density(s.runs, d);
  double lo = 0, hi = 0, peak_lo = 0, peak_hi = 0, best_lo = -1, best_hi = -1;
  for (std::size_t j = 0; j < den.grid.size(); ++j) {
    const double x = den.grid[j], y = den.density[j];
    if (x < 3) {
      lo += y;
      if (y > best_lo) best_lo = y, peak_lo = x;
    } else {
      hi += y;
      if (y > best_hi) best_hi = y, peak_hi = x;
    }
  }
  const double dx = den.grid[1] - den.grid[0];
  EXPECT_NEAR(lo * dx, 0.5, 0.15);
  EXPECT_NEAR(hi * dx, 0.5, 0.15);
  EXPECT_NEAR(peak_lo, 1.0, 0.3);
  EXPECT_NEAR(peak_hi, 5.0, 0.3);
  // Ubaru–Chen–Saad: an unbiased trace estimate; Var ≤ 2‖A−tr/n·I‖²… loosely: within 5%.
  EXPECT_NEAR(s.trace_estimate, 180.0, 0.05 * 180.0);
}

TEST(Slq, UniformSpectrumInteriorIsFlat) {
  const Mat a = rotated(linspace(0.0, 10.0, 200), 3);
  const auto op = fh::dense_operator(a);
  fh::SlqOptions so;
  so.runs = 10;
  so.steps = 80;
  const auto s = fh::slq(op, so);
  fh::DensityOptions d;
  d.kernel = fh::Kernel::Std;
  d.sigma = 0.3;
  const auto den = fh::smooth_density(s.runs, d);
  double mx = 0, mn_interior = 1e300;
  for (std::size_t j = 0; j < den.grid.size(); ++j) {
    mx = std::max(mx, den.density[j]);
    if (den.grid[j] > 1.5 && den.grid[j] < 8.5) mn_interior = std::min(mn_interior, den.density[j]);
  }
  EXPECT_GT(mn_interior, 0.5 * mx);
}

TEST(Hutchinson, WithinThreeStderrBothProbes) {
  Vec ev(80);
  for (int i = 0; i < 80; ++i) ev(i) = 1.0 / (i + 1);
  const Mat a = rotated(ev, 12);
  const auto op = fh::dense_operator(a);
  const double tr = ev.sum();
  for (auto probe : {fh::Probe::Rademacher, fh::Probe::Gaussian}) {
    fh::HutchinsonOptions ho;
    ho.probe = probe;
    ho.min_samples = ho.max_samples = 400;
    ho.rtol = 0;
    ho.block = 16;
    const auto r = fh::hutchinson(op, ho);
    EXPECT_EQ(r.n, 400);
    EXPECT_LT(std::abs(r.estimate - tr), 3 * r.stderr_);
    EXPECT_NEAR(r.ci95, fh::t_quantile_975(399) * r.stderr_, 1e-15);
  }
}

TEST(Hutchinson, ProbeVarianceMatchesFormula) {
  // Var[vᵀAv] = 2(‖A‖_F² − Σ A_ii²) (Rademacher), 2‖A‖_F² (Gaussian) [standard].
  const Mat a = rotated(linspace(-1.0, 3.0, 30), 4);
  const auto op = fh::dense_operator(a);
  const double fro2 = a.squaredNorm(), diag2 = a.diagonal().squaredNorm();
  for (auto probe : {fh::Probe::Rademacher, fh::Probe::Gaussian}) {
    fh::HutchinsonOptions ho;
    ho.probe = probe;
    ho.min_samples = ho.max_samples = 4000;
    ho.rtol = 0;
    ho.block = 64;
    const auto r = fh::hutchinson(op, ho);
    const double var = r.stderr_ * r.stderr_ * r.n;
    const double expect = probe == fh::Probe::Rademacher ? 2 * (fro2 - diag2) : 2 * fro2;
    EXPECT_NEAR(var / expect, 1.0, 0.15) << (probe == fh::Probe::Rademacher ? "rademacher" : "gaussian");
  }
}

TEST(Hutchinson, CiHalfWidthStoppingRule) {
  const Mat a = rotated(linspace(1.0, 2.0, 40), 6);
  const auto op = fh::dense_operator(a);
  fh::HutchinsonOptions ho;
  ho.rtol = 1e-2;
  ho.max_samples = 5000;
  const auto r = fh::hutchinson(op, ho);
  EXPECT_TRUE(r.converged);
  EXPECT_GE(r.n, ho.min_samples);
  EXPECT_LT(r.n, 5000);
  EXPECT_LE(r.ci95, 1e-2 * std::abs(r.estimate));
  EXPECT_LT(std::abs(r.estimate - 60.0), 3 * r.stderr_);
}

TEST(HutchPlusPlus, BeatsHutchinsonOnDecayingSpectrumAtEqualBudget) {
  Vec ev(100);
  for (int i = 0; i < 100; ++i) ev(i) = 1.0 / ((i + 1.0) * (i + 1.0));
  const Mat a = rotated(ev, 21);
  const auto op = fh::dense_operator(a);
  const double tr = ev.sum();
  double mse_h = 0, mse_pp = 0;
  for (std::uint64_t s = 0; s < 30; ++s) {
    fh::HutchinsonOptions ho;
    ho.seed = s;
    ho.min_samples = ho.max_samples = 30;
    ho.rtol = 0;
    const auto h = fh::hutchinson(op, ho);
    const auto p = fh::hutch_plus_plus(op, 30, fh::Probe::Rademacher, s);
    EXPECT_EQ(p.products, 30);
    mse_h += std::pow(h.estimate - tr, 2);
    mse_pp += std::pow(p.estimate - tr, 2);
  }
  EXPECT_LT(mse_pp, 0.1 * mse_h);
}

TEST(HutchPlusPlus, StderrIsCalibrated) {
  // The reported stderr (from the deflated-residual probes, given the sketch) must describe the real
  // error: over 200 seeds z = (estimate - trace) / stderr has E[z^2] = (g-1)/(g-3) ~ 1.06 for t with
  // g - 1 = 39 dof, and |z| > 3 is rare.
  Vec ev(120);
  for (int i = 0; i < 120; ++i) ev(i) = 1.0 / (i + 1.0) + (i % 7 == 0 ? 0.3 : 0.0);
  const Mat a = rotated(ev, 33);
  const auto op = fh::dense_operator(a);
  const double tr = ev.sum();
  double z2 = 0;
  int outside = 0;
  const int seeds = 200;
  for (std::uint64_t s = 0; s < seeds; ++s) {
    const auto p = fh::hutch_plus_plus(op, 60, fh::Probe::Rademacher, s);
    ASSERT_GT(p.stderr_, 0);
    const double z = (p.estimate - tr) / p.stderr_;
    z2 += z * z;
    outside += std::abs(z) > 3;
  }
  z2 /= seeds;
  EXPECT_GT(z2, 0.7);
  EXPECT_LT(z2, 1.5);
  EXPECT_LE(outside, 6);  // t_39 gives P(|z| > 3) ~ 0.5%: ~1 of 200
}

TEST(ExactTrace, MatchesDenseTrace) {
  const Mat a = rotated(linspace(-3.0, 4.0, 25), 8);
  const auto r = fh::exact_trace(fh::dense_operator(a));
  EXPECT_NEAR(r.estimate, a.trace(), 1e-12);
  EXPECT_EQ(r.products, 25);
}

TEST(TQuantile, KnownValues) {
  EXPECT_NEAR(fh::t_quantile_975(1), 12.7062047362, 1e-8);
  EXPECT_NEAR(fh::t_quantile_975(9), 2.2621571628, 1e-8);
  EXPECT_NEAR(fh::t_quantile_975(100000), 1.95997, 1e-4);
}

TEST(Probes, DeterministicAndBalanced) {
  Vec a(1000), b(1000), c(1000);
  fh::rademacher_probe(5, 1, a.data(), 1000);
  fh::rademacher_probe(5, 1, b.data(), 1000);
  fh::rademacher_probe(5, 2, c.data(), 1000);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(std::abs(a.sum()), 4 * std::sqrt(1000.0));  // ±1 balanced within 4σ
  Vec g(10000);
  fh::gaussian_probe(1, 1, g.data(), 10000);
  EXPECT_NEAR(g.mean(), 0.0, 4.0 / 100);                 // 4σ of the mean
  EXPECT_NEAR(g.squaredNorm() / 10000, 1.0, 4 * std::sqrt(2.0 / 10000));
}

TEST(TopK, ExhaustedRestartsAreNotConvergedWithAMessage) {
  Vec ev = linspace(1.0, 1.0 + 1e-6, 300);  // a tight cluster: one restart cannot resolve it
  const Mat a = rotated(ev, 5);
  fh::TopKOptions o;
  o.k = 4;
  o.ncv = 9;
  o.tol = 1e-15;
  o.maxit = 1;
  const auto r = fh::top_k(fh::dense_operator(a), o);
  EXPECT_EQ(r.status, flatmin::common::RunStatus::not_converged);
  EXPECT_NE(r.message.find("NotConverging"), std::string::npos) << r.message;
  fh::AnalyzeOptions ao;
  ao.top_k = o;
  const auto s = fh::analyze(fh::dense_operator(a), ao);
  EXPECT_EQ(s.to_json(ao)["status"], "not_converged");
  EXPECT_EQ(s.to_json(ao)["solver"]["status"], "not_converged");
}

TEST(Analyze, AccurateDefaultsOnDenseOperator) {
  Vec ev = linspace(-1.0, 2.0, 120);
  ev(119) = 10.0;
  const Mat a = rotated(ev, 13);
  fh::AnalyzeOptions o;
  o.top_k.k = 2;
  o.trace = true;
  o.density = true;
  o.slq.runs = 3;
  o.smoothing.num_bins = 500;
  const auto s = fh::analyze(fh::dense_operator(a), o);
  ASSERT_EQ(s.eigenpairs.size(), 2u);
  EXPECT_NEAR(s.eigenpairs[0].value, 10.0, 1e-8);
  EXPECT_NEAR(s.eigenpairs[1].value, ev(118), 1e-8);
  EXPECT_LT(std::abs(s.trace.estimate - a.trace()), 3 * s.trace.stderr_ + 1e-12);
  EXPECT_EQ(s.slq.runs.size(), 3u);
  EXPECT_EQ(s.hvp_count, s.solver["products"].get<std::int64_t>() + s.trace.products + s.slq.products);
  const auto j = s.to_json(o);
  EXPECT_EQ(j["top_eigenvalues"].size(), 2u);
  EXPECT_TRUE(j["trace"].contains("stderr"));
  fh::AnalyzeOptions bad = o;
  bad.top_k.k = 500;
  EXPECT_THROW(fh::analyze(fh::dense_operator(a), bad), flatmin::common::InputError);
  // the manifest config keeps the CLI's option names; enums round-trip through their names
  const auto c = o.to_json();
  EXPECT_EQ(c["top_k"], 2);
  EXPECT_EQ(c["compat"], "accurate");
  EXPECT_EQ(c["trace_method"], "hutchinson");
  EXPECT_EQ(c["kernel"], "pyhessian");
  EXPECT_EQ(c["slq_runs"], 3);
  EXPECT_EQ(c["num_bins"], 500);
  for (auto m : {fh::TraceMethod::Hutchinson, fh::TraceMethod::HutchPlusPlus, fh::TraceMethod::Exact})
    EXPECT_EQ(fh::parse_trace_method(fh::to_string(m)), m);
  EXPECT_EQ(fh::parse_compat("pyhessian"), fh::CompatMode::PyHessian);
  EXPECT_THROW(fh::parse_compat("pyhesian"), flatmin::common::InputError);
  EXPECT_THROW(fh::parse_trace_method("hutch+"), flatmin::common::InputError);
}
