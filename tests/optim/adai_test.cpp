// Adai / AdaiW / AdaiV2: independent float64 reference (two passes, global v̄), β1 bounds, the global
// mean over all groups, v̄ = 0 guard, AdaiV2(d = 1) = Adai, grads untouched, checkpoint round trip,
// fused vs tensor path, thread-count independence, validation, replay.
#include "optim/adai.h"

#include <cmath>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "optim/replay.h"
#include "tests/support/tolerances.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

using optim::Adai;
using optim::AdaiOptions;

// ---------------------------------------------------------------------------------------------
// Independent reference: plain float64 loops written from spec optimizers.md §10 (official adai.py,
// adaiv2.py). Parameters are lists of scalars ("tensors") with a group each; v̄ is the mean of v̂ over
// every scalar of every tensor that has a gradient at that step.

struct RefAdaiGroup {
  double lr = 0.1, beta0 = 0.1, beta2 = 0.99, eps = 1e-3, wd = 0.0, d = 1.0;
  bool decoupled = false;
};

struct RefAdaiTensor {
  size_t group = 0;
  std::vector<double> theta;
  int64_t t = 0;
  std::vector<double> m, v, bp;
};

/// grad(t, k, θ) = gradient of flat scalar k (over all tensors in order) at step t;
/// has_grad(t, j) = whether tensor j has a gradient at step t. Returns flat θ after every step;
/// `vbars` (if given) receives v̄ per step.
std::vector<std::vector<double>> ref_adai(const std::vector<RefAdaiGroup>& groups, std::vector<RefAdaiTensor> ps,
                                          int64_t steps, const GradFn& grad,
                                          const std::function<bool(int64_t, size_t)>& has_grad,
                                          std::vector<double>* vbars = nullptr) {
  auto flat = [&] {
    std::vector<double> out;
    for (const auto& p : ps) out.insert(out.end(), p.theta.begin(), p.theta.end());
    return out;
  };
  for (auto& p : ps) {
    p.m.assign(p.theta.size(), 0.0);
    p.v.assign(p.theta.size(), 0.0);
    p.bp.assign(p.theta.size(), 1.0);
  }
  std::vector<std::vector<double>> out{flat()};
  for (int64_t t = 1; t <= steps; ++t) {
    std::vector<std::vector<double>> g(ps.size());
    double sum_vhat = 0.0;
    int64_t n = 0;
    size_t k0 = 0;
    for (size_t j = 0; j < ps.size(); ++j) {
      auto& p = ps[j];
      const auto& c = groups[p.group];
      if (has_grad(t, j)) {
        p.t += 1;
        for (size_t e = 0; e < p.theta.size(); ++e) {
          double gi = grad(t, k0 + e, p.theta[e]);
          if (c.wd != 0 && !c.decoupled) gi += c.wd * p.theta[e];
          g[j].push_back(gi);
          p.v[e] = c.beta2 * p.v[e] + (1 - c.beta2) * gi * gi;
          sum_vhat += p.v[e] / (1 - std::pow(c.beta2, double(p.t)));
          ++n;
        }
      }
      k0 += p.theta.size();
    }
    const double vbar = sum_vhat / double(n);
    if (vbars != nullptr) vbars->push_back(vbar);
    for (size_t j = 0; j < ps.size(); ++j) {
      if (g[j].empty()) continue;
      auto& p = ps[j];
      const auto& c = groups[p.group];
      for (size_t e = 0; e < p.theta.size(); ++e) {
        const double vhat = p.v[e] / (1 - std::pow(c.beta2, double(p.t)));
        const double ratio = vbar == 0.0 ? 1.0 : vhat / vbar;
        const double b1 = std::min(std::max(1 - c.beta0 * std::pow(ratio, 1 / (3 - 2 * c.d)), 0.0), 1 - c.eps);
        const double b3 = std::pow(1 - b1, c.d);
        p.bp[e] *= b1;
        p.m[e] = b1 * p.m[e] + b3 * g[j][e];
        const double mhat = p.m[e] / (1 - p.bp[e]) * std::pow(c.beta0, 1 - c.d);
        if (c.wd != 0 && c.decoupled) p.theta[e] *= 1 - c.lr * c.wd;
        p.theta[e] -= c.lr * mhat;
      }
    }
    out.push_back(flat());
  }
  return out;
}

AdaiOptions to_options(const RefAdaiGroup& c) {
  return AdaiOptions(c.lr).betas({c.beta0, c.beta2}).eps(c.eps).weight_decay(c.wd).decoupled(c.decoupled).dampening(c.d);
}

/// Gradients with scales spread over 1e-3 … 1e2 (so both clamps of β1 are reached) and sign changes.
double spread_grad(int64_t t, size_t k, double theta) {
  const double scale = std::pow(10.0, -3.0 + 5.0 * double(k % 7) / 6.0);
  return scale * (std::sin(1.1 * double(t) + 0.9 * double(k)) + 0.3) + 0.2 * theta;
}


std::vector<RefAdaiTensor> ref_tensors(const std::vector<std::vector<double>>& thetas, const std::vector<size_t>& groups) {
  std::vector<RefAdaiTensor> out;
  for (size_t j = 0; j < thetas.size(); ++j) {
    RefAdaiTensor p;
    p.group = groups[j];
    p.theta = thetas[j];
    out.push_back(p);
  }
  return out;
}

std::vector<torch::Tensor> tensors(const std::vector<std::vector<double>>& thetas) {
  std::vector<torch::Tensor> out;
  for (const auto& th : thetas) out.push_back(torch::tensor(th, torch::kFloat64));
  return out;
}

/// Runs `opt` for steps t0+1..t0+steps; tensor j gets a gradient at step t iff has_grad(t, j)
/// (else its grad is undefined). Returns flat θ after every step (row 0 = start).
std::vector<std::vector<double>> run(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& ps, int64_t steps,
                                     const GradFn& grad, const std::function<bool(int64_t, size_t)>& has_grad,
                                     int64_t t0 = 0) {
  std::vector<std::vector<double>> out{values(ps)};
  for (int64_t t = t0 + 1; t <= t0 + steps; ++t) {
    size_t k0 = 0;
    for (size_t j = 0; j < ps.size(); ++j) {
      const int64_t n = ps[j].numel();
      if (has_grad(t, j)) {
        auto g = torch::empty({n}, torch::kFloat64);
        for (int64_t e = 0; e < n; ++e) {
          g[e] = grad(t, k0 + size_t(e), ps[j].data_ptr<double>()[e]);
        }
        ps[j].mutable_grad() = g.view(ps[j].sizes());
      } else {
        ps[j].mutable_grad() = torch::Tensor();
      }
      k0 += size_t(n);
    }
    opt.step();
    out.push_back(values(ps));
  }
  return out;
}

const auto kAlways = [](int64_t, size_t) { return true; };

// ---------------------------------------------------------------------------------------------

using Case = RefCase<RefAdaiGroup>;

class AdaiReference : public ::testing::TestWithParam<Case> {};

TEST_P(AdaiReference, ProducesReferenceTrajectory) {
  const auto& c = GetParam().c;
  const std::vector<std::vector<double>> theta0 = {{0.5, -1.0, 2.0}, {0.3}, {-0.7, 1.5, 0.1, 0.9}};
  const int64_t steps = 25;
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto ps = tensors(theta0);
    Adai opt(ps, to_options(c));
    const auto ours = run(opt, ps, steps, spread_grad, kAlways);
    const auto ref = ref_adai({c}, ref_tensors(theta0, {0, 0, 0}), steps, spread_grad, kAlways);
    expect_close(ours, ref, kRelTolDouble);
    EXPECT_NE(ours[steps][0], ours[steps - 1][0]);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

RefAdaiGroup make(double lr, double wd, bool decoupled, double d, double beta0 = 0.1, double eps = 1e-3) {
  RefAdaiGroup c;
  std::tie(c.lr, c.wd, c.decoupled, c.d, c.beta0, c.eps) = std::tie(lr, wd, decoupled, d, beta0, eps);
  return c;
}

INSTANTIATE_TEST_SUITE_P(All, AdaiReference,
                         ::testing::Values(Case{"Adai", make(0.1, 0.0, false, 1.0)},
                                           Case{"AdaiCoupledWeightDecay", make(0.2, 0.05, false, 1.0)},
                                           Case{"AdaiWDecoupled", make(0.2, 0.05, true, 1.0)},
                                           Case{"AdaiLargeBeta0SmallBound", make(0.05, 0.0, false, 1.0, 0.5, 0.05)},
                                           Case{"AdaiV2Dampening0p5", make(0.1, 0.01, true, 0.5)},
                                           Case{"AdaiV2Dampening0", make(0.1, 0.0, false, 0.0)},
                                           Case{"AdaiV2Dampening0p8Coupled", make(0.1, 0.02, false, 0.8)}),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

// The first step by hand: v̂ = g², v̄ = mean g², β1 = clamp(1 − β0 g²/v̄), Π = β1, m = (1−β1) g,
// θ −= lr·m/(1−β1) = lr·g (every element moves by lr·g at t = 1, whatever β1 is, unless β1 = 0 …
// which also gives lr·g).
TEST(Adai, FirstStepMovesEveryElementByLrTimesGradient) {
  auto p = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64);
  const auto g = torch::tensor({1e-3, -0.5, 3.0, 20.0}, torch::kFloat64);
  Adai opt(std::vector<torch::Tensor>{p}, AdaiOptions(0.1));
  p.mutable_grad() = g.clone();
  opt.step();
  EXPECT_NEAR(opt.last_mean_v_hat(), (g * g).mean().item<double>(), 1e-14 * opt.last_mean_v_hat());
  const auto expected = torch::tensor({1.0, 2.0, 3.0, 4.0}, torch::kFloat64) - 0.1 * g;
  EXPECT_LE((p - expected).abs().max().item<double>(), 1e-14);
  const auto& st = static_cast<const optim::AdaiParamState&>(*opt.state().begin()->second);
  // element 0: tiny g → β1 = 1 − ε; element 3: g²/v̄ ≈ 4 → β1 = 1 − 0.4; all ≥ 0 here.
  EXPECT_EQ(st.beta1_prod()[0].item<double>(), 1.0 - 1e-3);
  const double vbar = opt.last_mean_v_hat();
  EXPECT_NEAR(st.beta1_prod()[3].item<double>(), 1.0 - 0.1 * 400.0 / vbar, 1e-15);
}

// Property: 0 ≤ β1 ≤ 1−ε element-wise, read off Π_t = Π_{t−1}·β1 (β1 = Π_t/Π_{t−1} where Π_{t−1} > 0),
// in a run whose gradient scales span 1e-4 … 1e3; both clamps must actually be reached.
TEST(Adai, Beta1StaysInZeroToOneMinusEpsForWidelyVaryingGradients) {
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    torch::manual_seed(5);
    const int64_t n = 5000;
    const double eps = 1e-2;
    auto scales = torch::pow(10.0, torch::rand({n}, torch::kFloat64) * 7.0 - 4.0);
    auto p = torch::randn({n}, torch::kFloat64);
    auto q = torch::randn({7}, torch::kFloat64);  // a second tensor (same v̄)
    Adai opt(std::vector<torch::Tensor>{p, q}, AdaiOptions(0.01).eps(eps).weight_decay(1e-3));
    torch::Tensor prev = torch::ones({n}, torch::kFloat64);
    int64_t hit_zero = 0, hit_cap = 0, inside = 0;
    for (int t = 1; t <= 30; ++t) {
      p.mutable_grad() = scales * torch::randn({n}, torch::kFloat64) * (1.0 + 0.5 * std::sin(double(t)));
      q.mutable_grad() = torch::randn({7}, torch::kFloat64);
      opt.step();
      const auto& st = static_cast<const optim::AdaiParamState&>(
          *opt.state().at(optim::detail::state_key(p)));
      const auto bp = st.beta1_prod().clone();
      // Π is non-increasing, non-negative, and shrinks at least by 1−ε per step (up to one rounding).
      EXPECT_TRUE((bp >= 0).all().item<bool>()) << "step " << t;
      EXPECT_TRUE((bp <= prev * (1 - eps) * (1 + 4e-16)).all().item<bool>()) << "step " << t;
      const auto alive = prev > 1e-250;
      const auto beta1 = torch::where(alive, bp / prev, torch::zeros_like(bp));
      EXPECT_GE(beta1.min().item<double>(), 0.0);
      EXPECT_LE(beta1.max().item<double>(), (1 - eps) * (1 + 4e-16));
      hit_zero += (alive & (bp == 0)).sum().item<int64_t>();
      hit_cap += (alive & ((beta1 - (1 - eps)).abs() < 1e-14)).sum().item<int64_t>();
      inside += (alive & (beta1 > 1e-3) & (beta1 < 1 - eps - 1e-3)).sum().item<int64_t>();
      prev = bp;
    }
    EXPECT_GT(hit_zero, 0) << "no element reached β1 = 0: the test does not exercise the lower clamp";
    EXPECT_GT(hit_cap, 0) << "no element reached β1 = 1−ε: the test does not exercise the upper clamp";
    EXPECT_GT(inside, 0);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

// v̄ is the mean of v̂ over ALL parameters of ALL groups (per-tensor step counters; tensors without a
// gradient excluded): the two-group optimizer equals the global-mean reference and differs from
// running each group alone.
TEST(Adai, MeanOfVHatIsTakenOverAllParametersOfAllGroups) {
  const std::vector<std::vector<double>> theta0 = {{1.0, 2.0}, {-1.0}, {0.5, 0.2, -0.3}, {0.8}};
  RefAdaiGroup g0 = make(0.1, 0.0, false, 1.0), g1 = make(0.3, 0.01, true, 1.0, 0.2, 1e-2);
  // tensor 3 (group 1) gets no gradient on steps 2 and 5 (its step counter lags: other bc2)
  auto has_grad = [](int64_t t, size_t j) { return !(j == 3 && (t == 2 || t == 5)); };
  auto ps = tensors(theta0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ps[0], ps[1]}, std::make_unique<AdaiOptions>(to_options(g0)));
  groups.emplace_back(std::vector<torch::Tensor>{ps[2], ps[3]}, std::make_unique<AdaiOptions>(to_options(g1)));
  Adai both(std::move(groups), AdaiOptions(0.1));
  std::vector<double> vbars;
  const int64_t steps = 12;
  const auto ref = ref_adai({g0, g1}, ref_tensors(theta0, {0, 0, 1, 1}), steps, spread_grad, has_grad, &vbars);
  std::vector<std::vector<double>> joint{values(ps)};
  for (int64_t t = 1; t <= steps; ++t) {
    auto step = run(both, ps, 1, spread_grad, has_grad, t - 1);
    joint.push_back(step[1]);
    EXPECT_NEAR(both.last_mean_v_hat(), vbars[size_t(t - 1)], 1e-13 * vbars[size_t(t - 1)]) << "step " << t;
    EXPECT_EQ(both.last_count(), has_grad(t, 3) ? 7 : 6);
    // v̄ = mean over the state: Σ_p Σ v_p/(1−β2^t_p) / N (only tensors with a gradient this step)
    double s = 0;
    int64_t n = 0;
    for (size_t j = 0; j < ps.size(); ++j) {
      if (!has_grad(t, j)) continue;
      const auto& st = static_cast<const optim::AdaiParamState&>(*both.state().at(optim::detail::state_key(ps[j])));
      const double b2 = j < 2 ? g0.beta2 : g1.beta2;
      s += (st.exp_avg_sq() / (1 - std::pow(b2, double(st.step())))).sum().item<double>();
      n += ps[j].numel();
    }
    EXPECT_NEAR(both.last_mean_v_hat(), s / double(n), 1e-14 * s / double(n));
  }
  expect_close(joint, ref, kRelTolDouble);
  // Each group alone (its own v̄) gives a different trajectory.
  auto a = tensors({theta0[0], theta0[1]}), b = tensors({theta0[2], theta0[3]});
  Adai alone0(a, to_options(g0)), alone1(b, to_options(g1));
  const auto s0 = run(alone0, a, steps, spread_grad, kAlways);
  const GradFn shifted = [](int64_t t, size_t k, double th) { return spread_grad(t, k + 3, th); };
  const auto s1 = run(alone1, b, steps, shifted, [&](int64_t t, size_t j) { return has_grad(t, j + 2); });
  double diff0 = 0, diff1 = 0;
  for (size_t i = 0; i < 3; ++i) diff0 = std::max(diff0, std::abs(s0[steps][i] - joint[steps][i]));
  for (size_t i = 0; i < 4; ++i) diff1 = std::max(diff1, std::abs(s1[steps][i] - joint[steps][3 + i]));
  EXPECT_GT(diff0, 1e-6);
  EXPECT_GT(diff1, 1e-6);
}

// Two groups with identical options = one group holding everything (bitwise): the group split
// itself changes nothing.
TEST(Adai, SplittingIntoGroupsWithEqualOptionsChangesNothing) {
  const std::vector<std::vector<double>> theta0 = {{1.0, 2.0}, {-1.0}, {0.5, 0.2, -0.3}};
  const auto o = AdaiOptions(0.2).weight_decay(0.01);
  auto a = tensors(theta0), b = tensors(theta0);
  Adai one(a, o);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{b[0]}, std::make_unique<AdaiOptions>(o));
  groups.emplace_back(std::vector<torch::Tensor>{b[1], b[2]}, std::make_unique<AdaiOptions>(o));
  Adai two(std::move(groups), o);
  EXPECT_EQ(run(one, a, 15, spread_grad, kAlways), run(two, b, 15, spread_grad, kAlways));
}

TEST(Adai, AdaiV2WithDampeningOneIsAdaiBitForBit) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    torch::manual_seed(2);
    auto init = torch::randn({3000}, dtype);
    auto p1 = init.clone(), p2 = init.clone();
    auto v2 = optim::make_optimizer("adaiv2", {{"lr", 0.1}, {"weight_decay", 1e-3}}, std::vector<torch::Tensor>{p1});
    auto w = optim::make_optimizer("adaiw", {{"lr", 0.1}, {"weight_decay", 1e-3}}, std::vector<torch::Tensor>{p2});
    for (int t = 0; t < 10; ++t) {
      auto g = torch::randn({3000}, dtype) * torch::linspace(0.01, 10, 3000, dtype);
      p1.mutable_grad() = g.clone();
      p2.mutable_grad() = g.clone();
      v2->step();
      w->step();
    }
    EXPECT_TRUE(torch::equal(p1, p2));
    EXPECT_TRUE(static_cast<const AdaiOptions&>(v2->param_groups()[0].options()).decoupled());  // official AdaiV2 default
  }
}

// v̄ = 0 (every gradient exactly zero at the first step): the official code divides 0/0 and turns
// every parameter into NaN; flatmin takes v̂/v̄ = 1, i.e. β1 = 1 − β0, and nothing moves.
TEST(Adai, AllZeroGradientsAtTheFirstStepAreGuarded) {
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto p = torch::tensor({1.0, -2.0, 3.0}, torch::kFloat64);
    auto q = torch::tensor({0.5}, torch::kFloat64);
    Adai opt(std::vector<torch::Tensor>{p, q}, AdaiOptions(0.1).weight_decay(0.1).decoupled(true));
    p.mutable_grad() = torch::zeros({3}, torch::kFloat64);
    q.mutable_grad() = torch::zeros({1}, torch::kFloat64);
    opt.step();
    EXPECT_EQ(opt.last_mean_v_hat(), 0.0);
    const auto& st = static_cast<const optim::AdaiParamState&>(*opt.state().at(optim::detail::state_key(p)));
    EXPECT_TRUE(torch::equal(st.beta1_prod(), torch::full({3}, 0.9, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(st.exp_avg(), torch::zeros({3}, torch::kFloat64)));
    // only the decoupled decay moved θ
    EXPECT_TRUE(torch::allclose(p, torch::tensor({1.0, -2.0, 3.0}, torch::kFloat64) * (1 - 0.1 * 0.1), 0, 0));
    // and the run continues like the reference with the same guard
    auto has = [](int64_t, size_t) { return true; };
    GradFn g = [](int64_t t, size_t k, double th) { return t == 1 ? 0.0 : spread_grad(t, k, th); };
    auto a = tensors({{1.0, -2.0, 3.0}, {0.5}});
    RefAdaiGroup c = make(0.1, 0.1, true, 1.0);
    Adai opt2(a, to_options(c));
    const auto ours = run(opt2, a, 8, g, has);
    const auto ref = ref_adai({c}, ref_tensors({{1.0, -2.0, 3.0}, {0.5}}, {0, 0}), 8, g, has);
    expect_close(ours, ref, kRelTolDouble);
    for (const auto& row : ours) {
      for (double x : row) EXPECT_TRUE(std::isfinite(x));
    }
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

// Gradients of 1e-21 in float32: v ~ 1e-44 is subnormal and 1/((1−β2^t)·v̄) overflows float, so
// the folded v̂/v̄ is not usable; the step must fall back to dividing twice and stay finite. At t = 1
// every element moves by exactly −lr·g (m̂ = g whatever β1 is).
TEST(Adai, TinyFloat32GradientsStayFinite) {
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto p = torch::zeros({1000}, torch::kFloat32);
    Adai opt(std::vector<torch::Tensor>{p}, AdaiOptions(0.1));
    const auto g = torch::linspace(-1, 1, 1000, torch::kFloat32) * 1e-21f;
    p.mutable_grad() = g.clone();
    opt.step();
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    EXPECT_LE(((p + 0.1f * g).abs() / (0.1f * g.abs() + 1e-45f)).max().item<double>(), 1e-6);
    for (int t = 0; t < 5; ++t) {
      p.mutable_grad() = g.flip(0).clone();
      opt.step();
    }
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
    EXPECT_GT(p.abs().max().item<double>(), 0.0);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

TEST(Adai, NeverModifiesTheGradient) {
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto p = torch::randn({100}, torch::kFloat32);
    Adai opt(std::vector<torch::Tensor>{p}, AdaiOptions(0.1).weight_decay(0.5));  // coupled L2
    const auto g = torch::randn({100}, torch::kFloat32);
    p.mutable_grad() = g.clone();
    opt.step();
    opt.step();
    EXPECT_TRUE(torch::equal(p.grad(), g));
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}



TEST(Adai, SaveLoadContinueIsBitIdentical) {
  const auto opts = AdaiOptions(0.2).betas({0.2, 0.95}).eps(1e-2).weight_decay(0.01).dampening(0.7);
  const std::vector<std::vector<double>> theta0 = {{1.0, -2.0}, {0.5, 0.25, 3.0}};
  auto full_p = tensors(theta0);
  Adai full(full_p, opts);
  const auto uninterrupted = run(full, full_p, 20, spread_grad, kAlways);
  auto p = tensors(theta0);
  Adai first(p, opts);
  run(first, p, 7, spread_grad, kAlways);
  const auto bytes = save_to_string(first);
  auto q = tensors({{values(p)[0], values(p)[1]}, {values(p)[2], values(p)[3], values(p)[4]}});
  Adai resumed(q, AdaiOptions(0.001));  // wrong options on purpose
  load_from_string(resumed, bytes);
  const auto& o = static_cast<const AdaiOptions&>(resumed.param_groups()[0].options());
  EXPECT_EQ(o.lr(), 0.2);
  EXPECT_EQ(o.dampening(), 0.7);
  EXPECT_EQ(std::get<0>(o.betas()), 0.2);
  const auto rest = run(resumed, q, 13, spread_grad, kAlways, 7);
  for (size_t k = 0; k < rest.size(); ++k) EXPECT_EQ(rest[k], uninterrupted[7 + k]) << "step " << 7 + k;
}

TEST(Adai, FusedKernelMatchesTensorPath) {
  struct Mode {
    double wd;
    bool decoupled;
    double d;
  };
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (const auto& mode : {Mode{0, false, 1}, Mode{1e-2, false, 1}, Mode{1e-2, true, 1}, Mode{1e-2, true, 0.5},
                             Mode{0, false, 0.2}}) {
      torch::manual_seed(7);
      const int64_t n = 100003;  // > GRAIN_SIZE and not a multiple of the reduction block
      auto init = torch::randn({n}, dtype), init2 = torch::randn({5, 3}, dtype);
      auto p1 = init.clone(), p2 = init.clone(), r1 = init2.clone(), r2 = init2.clone();
      const auto opts = AdaiOptions(0.1).weight_decay(mode.wd).decoupled(mode.decoupled).dampening(mode.d);
      Adai a(std::vector<torch::Tensor>{p1, r1}, opts), b(std::vector<torch::Tensor>{p2, r2}, opts);
      auto set_grads = [&](int64_t) {
        auto g = torch::randn({n}, dtype) * torch::rand({n}, dtype) * 10;
        auto h = torch::randn({5, 3}, dtype);
        p1.mutable_grad() = g.clone();
        p2.mutable_grad() = g.clone();
        r1.mutable_grad() = h.clone();
        r2.mutable_grad() = h.clone();
      };
      step_fused_and_tensor(a, b, 8, set_grads, [&](int64_t) {
        if (mode.wd == 0 || mode.decoupled) {  // v does not depend on θ: same v, same deterministic reduction
          EXPECT_EQ(a.last_mean_v_hat(), b.last_mean_v_hat());
        }
      });
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatSameMath : kRelTolDoubleSameMath;
      EXPECT_LE(max_rel_diff(p1, p2), tol) << dtype << " d " << mode.d;
      EXPECT_LE(max_rel_diff(r1, r2), tol);
      EXPECT_GT((p1 - init).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(Adai, DeterministicSumIsAccurate) {
  torch::manual_seed(1);
  for (int64_t n : {0, 1, 7, 2048, 2049, 100003}) {
    auto x = torch::rand({n}, torch::kFloat32);
    const double exact = x.to(torch::kFloat64).sum().item<double>();
    EXPECT_NEAR(optim::adai_deterministic_sum(x), exact, 1e-12 * std::max(1.0, exact)) << n;
    auto y = torch::rand({n}, torch::kFloat64);
    const double exact_y = y.sum().item<double>();
    EXPECT_NEAR(optim::adai_deterministic_sum(y), exact_y, 1e-12 * std::max(1.0, exact_y)) << n;
  }
}

TEST(Adai, SkipsParametersWithoutGradient) {
  auto p = scalars({1.0, 2.0});
  Adai opt(p, AdaiOptions(0.1));
  p[0].mutable_grad() = torch::ones({1}, torch::kFloat64);
  opt.step();
  EXPECT_NE(values(p)[0], 1.0);
  EXPECT_EQ(values(p)[1], 2.0);
  EXPECT_EQ(opt.state().size(), 1u);
  EXPECT_EQ(opt.last_count(), 1);
  // no gradient anywhere: nothing happens
  p[0].mutable_grad() = torch::Tensor();
  const auto before = values(p);
  opt.step();
  EXPECT_EQ(values(p), before);
  EXPECT_TRUE(std::isnan(opt.last_mean_v_hat()));
}

TEST(Adai, RegistryNamesAndOptions) {
  auto p = torch::ones({1}, torch::kFloat64);
  std::vector<torch::Tensor> ps{p};
  for (const char* name : {"adai", "adaiw", "adaiv2"}) {
    expect_input_error([&] { optim::make_optimizer(name, nlohmann::json::object(), ps); }, "'lr' is required");
  }
  expect_input_error([&] { optim::make_optimizer("adaiw", {{"lr", 0.1}, {"decoupled", false}}, ps); }, "decoupled");
  expect_input_error([&] { optim::make_optimizer("adai", {{"lr", 0.1}, {"dampening", 0.5}}, ps); },
                     "unknown option 'dampening'");
  expect_input_error([&] { optim::make_optimizer("adaiv2", {{"lr", 0.1}, {"dampening", 2.0}}, ps); }, "dampening");
  auto resolved = [&](const char* name, const nlohmann::json& o) {
    return optim::resolved_options(name, *optim::make_optimizer(name, o, ps))[0];
  };
  const auto a = resolved("adai", {{"lr", 0.1}});
  EXPECT_EQ(a["betas"], nlohmann::json::array({0.1, 0.99}));
  EXPECT_EQ(a["eps"].get<double>(), 1e-3);
  EXPECT_FALSE(a["decoupled"].get<bool>());
  EXPECT_FALSE(a.contains("dampening"));  // an AdaiV2 option: adai neither takes nor reports it
  EXPECT_TRUE(resolved("adaiw", {{"lr", 0.1}})["decoupled"].get<bool>());
  EXPECT_TRUE(resolved("adaiv2", {{"lr", 0.1}})["decoupled"].get<bool>());
  EXPECT_FALSE(resolved("adaiv2", {{"lr", 0.1}, {"decoupled", false}})["decoupled"].get<bool>());
  EXPECT_EQ(resolved("adaiv2", {{"lr", 0.1}, {"dampening", 0.3}})["dampening"].get<double>(), 0.3);
}

// optim-replay contract, one run per registry name against the reference (two groups).
TEST(Adai, ReplayMatchesReferenceForEveryName) {
  struct Named {
    const char* name;
    nlohmann::json extra;
    RefAdaiGroup g0, g1;
  };
  const std::vector<Named> cases = {
      {"adai", {{"weight_decay", 5e-2}}, make(0.1, 5e-2, false, 1.0), make(0.05, 5e-2, false, 1.0)},
      {"adaiw", {{"weight_decay", 5e-2}}, make(0.1, 5e-2, true, 1.0), make(0.05, 5e-2, true, 1.0)},
      {"adaiv2", {{"weight_decay", 5e-2}, {"dampening", 0.6}}, make(0.1, 5e-2, true, 0.6), make(0.05, 5e-2, true, 0.6)},
  };
  for (const auto& c : cases) {
    auto spec = nlohmann::json::parse(R"({"params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
      "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.05}}],
      "steps": 30, "quadratic": {"a": [[1.0, 5.0, 0.01], [0.5, 3.0]], "c": [[0, 0, 0], [1, 1]]}})");
    spec["optimizer"] = c.name;
    spec["options"] = c.extra;
    spec["options"]["lr"] = 0.1;
    const auto r = optim::replay(spec);
    ASSERT_EQ(r.rows.size(), 31u);
    const std::vector<double> a = {1.0, 5.0, 0.01, 0.5, 3.0}, cc = {0, 0, 0, 1, 1};
    const GradFn quad = [&](int64_t, size_t k, double th) { return a[k] * (th - cc[k]); };
    const auto ref = ref_adai({c.g0, c.g1}, ref_tensors({{1.0, -2.0, 0.5}, {0.3, 0.2}}, {0, 1}), 30, quad, kAlways);
    for (size_t t = 0; t <= 30; ++t) {
      for (size_t i = 0; i < 5; ++i) {
        EXPECT_NEAR(r.rows[t][1 + i], ref[t][i], kRelTolDouble * std::max(1.0, std::abs(ref[t][i])))
            << c.name << " step " << t << " p" << i;
      }
    }
  }
}

}  // namespace
}  // namespace flatmin::test
