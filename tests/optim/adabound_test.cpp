// AdaBound / AMSBound / AdaBoundW: independent float64 reference (with an lr schedule that moves
// final_lr), the bound property (both bounds bind; the bounds converge to final_lr), base_lr in
// checkpoints, param groups, fused vs tensor path, validation, registry names and optim-replay.
#include "optim/adabound.h"

#include <cmath>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/ndadam.h"
#include "optim/registry.h"
#include "optim/replay.h"
#include "tests/support/tolerances.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

using optim::AdaBound;
using optim::AdaBoundOptions;
using LrFn = std::function<double(int64_t)>;

// ---- independent reference: a plain scalar loop written from spec §8 ------------------------

struct RefAdaBound {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, final_lr = 0.1, gamma = 1e-3, eps = 1e-8, wd = 0;
  bool ams = false, decoupled = false;
};

/// lr_at(t) = the group's lr at step t (a schedule); base_lr = c.lr. Row 0 = θ0.
std::vector<std::vector<double>> ref_adabound(const RefAdaBound& c, std::vector<double> theta, int64_t steps,
                                              const GradFn& grad, const LrFn& lr_at = nullptr) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), v(P, 0), vmax(P, 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    const double lr = lr_at ? lr_at(t) : c.lr;
    const double fin = c.final_lr * lr / c.lr;
    const double lower = fin * (1 - 1 / (c.gamma * double(t) + 1)), upper = fin * (1 + 1 / (c.gamma * double(t)));
    const double step = lr * std::sqrt(1 - std::pow(c.beta2, double(t))) / (1 - std::pow(c.beta1, double(t)));
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (!c.decoupled) g += c.wd * theta[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      vmax[i] = std::max(vmax[i], v[i]);
      const double denom = std::sqrt(c.ams ? vmax[i] : v[i]) + c.eps;
      const double eta = std::min(std::max(step / denom, lower), upper);
      const double old = theta[i];
      theta[i] -= eta * m[i];
      if (c.decoupled) theta[i] -= c.wd * old;
    }
    out.push_back(theta);
  }
  return out;
}

AdaBoundOptions to_options(const RefAdaBound& c) {
  return AdaBoundOptions(c.lr)
      .betas({c.beta1, c.beta2})
      .final_lr(c.final_lr)
      .gamma(c.gamma)
      .eps(c.eps)
      .weight_decay(c.wd)
      .amsbound(c.ams)
      .weight_decouple(c.decoupled);
}

/// drive() with an lr schedule applied (as a scheduler would: set_lr before the step).
std::vector<std::vector<double>> drive_lr(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& ps, int64_t steps,
                                          const GradFn& grad, const LrFn& lr_at, int64_t t0 = 0) {
  std::vector<std::vector<double>> out{values(ps)};
  for (int64_t t = t0 + 1; t <= t0 + steps; ++t) {
    for (auto& g : opt.param_groups()) g.options().set_lr(lr_at(t));
    auto rows = drive(opt, ps, 1, 1, grad, t - 1);
    out.push_back(rows.back());
  }
  return out;
}




// ---- reference trajectories -------------------------------------------------------------------

using Case = RefCase<RefAdaBound>;

class AdaBoundReference : public ::testing::TestWithParam<Case> {};

TEST_P(AdaBoundReference, ProducesReferenceTrajectory) {
  const auto& c = GetParam().c;
  const std::vector<double> theta0 = {0.5, -1.0, 2.0, 0.01};
  auto ps = scalars(theta0);
  AdaBound opt(ps, to_options(c));
  // The gradient scales differ by 10^4, so that with these settings some coordinates are
  // clipped at the lower and some at the upper bound during the run.
  const GradFn grad = [](int64_t t, size_t i, double th) { return std::pow(10.0, double(i) - 2.0) * wiggly_grad(t, i, th); };
  const auto ours = drive(opt, ps, 40, 1000, grad);
  const auto ref = ref_adabound(c, theta0, 40, grad);
  expect_close(ours, ref, kRelTolDouble);
  EXPECT_NE(ours[40][0], ours[39][0]);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  RefAdaBound a;
  a.lr = 0.05;
  a.gamma = 0.05;
  out.push_back({"AdaBound", a});
  RefAdaBound wd = a;
  wd.wd = 0.01;
  out.push_back({"AdaBoundCoupledL2", wd});
  RefAdaBound ams = wd;
  ams.ams = true;
  out.push_back({"AmsBound", ams});
  RefAdaBound w = a;
  w.wd = 0.01;
  w.decoupled = true;
  out.push_back({"AdaBoundW", w});
  RefAdaBound ws = w;
  ws.ams = true;
  ws.eps = 1e-3;
  ws.final_lr = 0.02;
  out.push_back({"AmsBoundWLargeEps", ws});
  RefAdaBound defaults;  // official defaults: the bounds are loose (γ = 1e-3)
  defaults.lr = 0.01;
  out.push_back({"OfficialDefaults", defaults});
  return out;
}

INSTANTIATE_TEST_SUITE_P(All, AdaBoundReference, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

// final_lr follows lr/base_lr: an lr schedule (set_lr, as LibTorch's schedulers do) scales the bounds.
TEST(AdaBound, LrScheduleScalesFinalLr) {
  RefAdaBound c;
  c.lr = 0.05;
  c.gamma = 0.2;
  c.final_lr = 0.3;
  const LrFn lr_at = [](int64_t t) { return t <= 10 ? 0.05 : (t <= 20 ? 0.02 : 0.005); };
  const std::vector<double> theta0 = {0.5, -1.0, 2.0};
  auto ps = scalars(theta0);
  AdaBound opt(ps, to_options(c));
  const auto ours = drive_lr(opt, ps, 30, wiggly_grad, lr_at);
  expect_close(ours, ref_adabound(c, theta0, 30, wiggly_grad, lr_at), kRelTolDouble);
  // Had final_lr not been scaled (base_lr = current lr), the trajectory would differ.
  RefAdaBound unscaled = c;
  const auto other = ref_adabound(unscaled, theta0, 30, wiggly_grad, [](int64_t) { return 0.05; });
  EXPECT_GT(std::abs(other[30][0] - ours[30][0]), 1e-4);
  const auto& o = static_cast<const AdaBoundOptions&>(opt.param_groups()[0].options());
  EXPECT_EQ(o.base_lr(), 0.05);
  const auto [lo, hi] = optim::adabound_bounds(o, 30);
  const double fin = 0.3 * 0.005 / 0.05;
  EXPECT_DOUBLE_EQ(lo, fin * (1 - 1 / (0.2 * 30 + 1)));
  EXPECT_DOUBLE_EQ(hi, fin * (1 + 1 / (0.2 * 30)));
}

// Property: the per-coordinate step size η̂ = −Δθ/m lies in [η_l(t), η_u(t)] at every step, both
// bounds bind (tiny gradients hit the upper one, huge gradients the lower one), and the bounds
// converge to final_lr.
TEST(AdaBound, EffectiveStepSizeStaysWithinTheBoundsAndTheBoundsConvergeToFinalLr) {
  for (double gamma : {0.01, 0.5}) {
    const int64_t n = 64, steps = gamma < 0.1 ? 300 : 2000;
    auto mag = torch::pow(10.0, torch::linspace(-6.0, 3.0, n, torch::kFloat64));  // |g| from 1e-6 to 1e3
    auto sign = torch::where(torch::arange(n) % 3 == 0, -1.0, 1.0).to(torch::kFloat64);
    auto p = torch::zeros({n}, torch::kFloat64);
    const auto opts = AdaBoundOptions(1e-3).final_lr(0.1).gamma(gamma);
    AdaBound opt(std::vector<torch::Tensor>{p}, opts);
    int64_t steps_with_lower = 0, steps_with_upper = 0;
    for (int64_t t = 1; t <= steps; ++t) {
      const auto wiggle = 1.0 + 0.5 * torch::sin(double(t) + torch::arange(n, torch::kFloat64));  // > 0: m keeps its sign
      p.mutable_grad() = sign * mag * wiggle;
      const auto before = p.clone();
      opt.step();
      const auto& st = static_cast<const optim::AdaBoundParamState&>(*opt.state().begin()->second);
      const auto eta = (before - p) / st.tensor("exp_avg");
      const auto [lo, hi] = optim::adabound_bounds(static_cast<const AdaBoundOptions&>(opt.param_groups()[0].options()), t);
      const double tol = 1e-9;
      ASSERT_GE(eta.min().item<double>(), lo * (1 - tol)) << "step " << t;
      ASSERT_LE(eta.max().item<double>(), hi * (1 + tol)) << "step " << t;
      steps_with_lower += ((eta - lo).abs() <= tol * lo).any().item<bool>() ? 1 : 0;
      steps_with_upper += ((eta - hi).abs() <= tol * hi).any().item<bool>() ? 1 : 0;
      if (t == steps) {  // after many steps every coordinate's step size is final_lr ± 1/(γt)
        EXPECT_LE(((eta / 0.1) - 1.0).abs().max().item<double>(), 1.0 / (gamma * double(t)) * (1 + tol));
      }
    }
    EXPECT_EQ(steps_with_lower, steps) << "gamma " << gamma;
    EXPECT_EQ(steps_with_upper, steps) << "gamma " << gamma;
  }
  // The bound functions: lower ↑ final_lr, upper ↓ final_lr.
  const auto o = AdaBoundOptions(1e-3).final_lr(0.1).gamma(1e-3).base_lr(1e-3);
  double prev_lo = 0, prev_hi = INFINITY;
  for (int64_t t : {1, 10, 100, 1000, 10000, 100000, 1000000, 1000000000}) {
    const auto [lo, hi] = optim::adabound_bounds(o, t);
    EXPECT_GT(lo, prev_lo);
    EXPECT_LT(hi, prev_hi);
    EXPECT_LT(lo, 0.1);
    EXPECT_GT(hi, 0.1);
    prev_lo = lo;
    prev_hi = hi;
  }
  EXPECT_NEAR(prev_lo, 0.1, 0.1 * 2e-6);  // 1/(γt) = 1e-6 at t = 1e9
  EXPECT_NEAR(prev_hi, 0.1, 0.1 * 2e-6);
  // γ = 0: no clipping.
  const auto [lo0, hi0] = optim::adabound_bounds(AdaBoundOptions(1e-3).gamma(0.0).base_lr(1e-3), 5);
  EXPECT_EQ(lo0, 0.0);
  EXPECT_TRUE(std::isinf(hi0));
}

// γ = 0 removes the clipping: AdaBound is then Adam with the efficient-form ε, i.e. ND-Adam
// without vec_axes (a different family, a different rule text, the same mathematics).
TEST(AdaBound, GammaZeroIsEfficientEpsAdam) {
  auto a_p = scalars({0.5, -1.0}), b_p = scalars({0.5, -1.0});
  AdaBound ab(a_p, AdaBoundOptions(0.02).gamma(0.0).weight_decay(0.1).eps(1e-3));
  optim::NDAdam nd(b_p, optim::NDAdamOptions(0.02).weight_decay(0.1).eps(1e-3));
  expect_close(drive(ab, a_p, 50, 1000, wiggly_grad), drive(nd, b_p, 50, 1000, wiggly_grad), kRelTolDoubleSameMath);
}

// save → load → continue is bit-identical; base_lr (and every option) comes from the checkpoint.
TEST(AdaBound, SaveLoadContinueIsBitIdenticalAndRestoresBaseLr) {
  const auto opts = AdaBoundOptions(0.05).final_lr(0.2).gamma(0.1).weight_decay(0.01).amsbound(true);
  const LrFn lr_at = [](int64_t t) { return 0.05 * std::pow(0.8, double((t - 1) / 4)); };
  auto full_p = scalars({1.0, -2.0});
  AdaBound full(full_p, opts);
  const auto uninterrupted = drive_lr(full, full_p, 20, wiggly_grad, lr_at);

  auto p = scalars({1.0, -2.0});
  AdaBound first(p, opts);
  drive_lr(first, p, 9, wiggly_grad, lr_at);
  const auto bytes = save_to_string(first);
  auto resumed_p = scalars(values(p));
  AdaBound resumed(resumed_p, AdaBoundOptions(0.001));  // base_lr 0.001 here: the checkpoint must override it
  load_from_string(resumed, bytes);
  const auto& o = static_cast<const AdaBoundOptions&>(resumed.param_groups()[0].options());
  EXPECT_EQ(o.base_lr(), 0.05);
  EXPECT_EQ(o.final_lr(), 0.2);
  EXPECT_TRUE(o.amsbound());
  const auto rest = drive_lr(resumed, resumed_p, 11, wiggly_grad, lr_at, 9);
  for (size_t k = 0; k < rest.size(); ++k) EXPECT_EQ(rest[k], uninterrupted[9 + k]) << "step " << 9 + k;
}

// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption. Here the cross-option check.
TEST(AdaBound, RejectsZeroLrAtConstruction) {
  auto p = scalars({1.0});
  expect_rejected<AdaBound>(p, AdaBoundOptions(0.0), "base_lr");  // lr = 0 at construction: final_lr·lr/base_lr undefined
}

TEST(AdaBound, RegistryNamesAndOptions) {
  auto p = torch::ones({1}, torch::kFloat64);
  std::vector<torch::Tensor> ps{p};
  auto get = [](const torch::optim::Optimizer& o, size_t g = 0) {
    return static_cast<const AdaBoundOptions&>(o.param_groups()[g].options());
  };
  auto ab = optim::make_optimizer("adabound", nlohmann::json::object(), ps);
  EXPECT_FALSE(get(*ab).amsbound());
  EXPECT_FALSE(get(*ab).weight_decouple());
  EXPECT_EQ(get(*ab).final_lr(), 0.1);
  EXPECT_EQ(get(*ab).gamma(), 1e-3);
  EXPECT_EQ(get(*ab).base_lr(), 1e-3);
  EXPECT_TRUE(get(*optim::make_optimizer("amsbound", nlohmann::json::object(), ps)).amsbound());
  const auto w = get(*optim::make_optimizer("adaboundw", {{"amsbound", true}}, ps));
  EXPECT_TRUE(w.weight_decouple());
  EXPECT_TRUE(w.amsbound());
  // Per-group lr → per-group base_lr.
  std::vector<optim::GroupSpec> groups(2);
  groups[0].params = {torch::ones({1}, torch::kFloat64)};
  groups[1].params = {torch::ones({1}, torch::kFloat64)};
  groups[1].options = {{"lr", 0.5}};
  auto two = optim::make_optimizer("adabound", {{"lr", 0.1}}, groups);
  EXPECT_EQ(get(*two, 0).base_lr(), 0.1);
  EXPECT_EQ(get(*two, 1).base_lr(), 0.5);
  EXPECT_EQ(optim::resolved_options("adaboundw", *two)[1]["lr"].get<double>(), 0.5);
  auto expect_input_error = [&](const std::string& name, const nlohmann::json& o, const std::string& needle) {
    try {
      optim::make_optimizer(name, o, ps);
      ADD_FAILURE() << name << " " << o.dump();
    } catch (const common::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input_error("amsbound", {{"amsbound", false}}, "contradicts");
  expect_input_error("adaboundw", {{"weight_decouple", false}}, "contradicts");
  expect_input_error("adabound", {{"gamma", 1.0}}, "gamma");
  expect_input_error("adabound", {{"final_lr", -1.0}}, "final_lr");
  expect_input_error("adabound", {{"base_lr", 0.1}}, "unknown option 'base_lr'");
}

// optim-replay runs the three names; each equals the independent reference per group.
TEST(AdaBound, ReplayMatchesReference) {
  for (const std::string name : {"adabound", "amsbound", "adaboundw"}) {
    const nlohmann::json spec = {
        {"optimizer", name},
        {"options", {{"lr", 0.05}, {"final_lr", 0.2}, {"gamma", 0.05}, {"weight_decay", 0.01}}},
        {"params", {{1.0, -2.0, 0.5}, {0.3, 0.2}}},
        {"groups", {{{"params", {0}}, {"options", nlohmann::json::object()}}, {{"params", {1}}, {"options", {{"lr", 0.02}}}}}},
        {"steps", 30},
        {"quadratic", {{"a", {{1.0, 20.0, 300.0}, {0.01, 0.5}}}, {"c", {{0, 0, 0}, {1, 1}}}}}};
    const auto r = optim::replay(spec);
    ASSERT_EQ(r.rows.size(), 31u);
    RefAdaBound c;
    c.final_lr = 0.2;
    c.gamma = 0.05;
    c.wd = 0.01;
    c.ams = name == "amsbound";
    c.decoupled = name == "adaboundw";
    const std::vector<double> a0 = {1.0, 20.0, 300.0}, a1 = {0.01, 0.5}, c1 = {1, 1};
    c.lr = 0.05;
    const auto ref0 = ref_adabound(c, {1.0, -2.0, 0.5}, 30, [&](int64_t, size_t i, double th) { return a0[i] * th; });
    c.lr = 0.02;
    const auto ref1 = ref_adabound(c, {0.3, 0.2}, 30, [&](int64_t, size_t i, double th) { return a1[i] * (th - c1[i]); });
    for (size_t t = 0; t <= 30; ++t) {
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][1 + i], ref0[t][i], kRelTolDouble) << name << " " << t;
      for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(r.rows[t][4 + i], ref1[t][i], kRelTolDouble) << name << " " << t;
    }
    EXPECT_NE(r.rows[30][1], r.rows[29][1]);
  }
}

}  // namespace
}  // namespace flatmin::test
