// DualAdam / InvAdam: r_t rounding as the official code, t = 1 / mid-blend / after the cut-off
// against an independent reference, InvAdam = DualAdam with r ≡ 1, fixed_r = 0 = AdamW,
// counters, port options, checkpoint round trip.
#include "optim/dualadam.h"

#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "tests/support/reference_optim.h"
#include "tests/support/tolerances.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

using optim::DualAdam;
using optim::DualAdamOptions;

TEST(DualAdam, BlendWeightIsComputedInDoubleAsTheOfficialCode) {
  // s = 0.2: 1 − 4·0.2 = 0.19999999999999996 < 0.2, so the last blended step is 3, not 4.
  EXPECT_EQ(optim::dualadam_r(4, 0.2), 1.0 - 4 * 0.2);
  EXPECT_LT(optim::dualadam_r(4, 0.2), 0.2);
  EXPECT_GE(optim::dualadam_r(3, 0.2), 0.2);
  EXPECT_EQ(optim::dualadam_r(1, 0.01), 0.99);
  EXPECT_EQ(optim::dualadam_r(200, 0.01), 0.0);  // max(0, ·)
}

TEST(DualAdam, StepAtT1MidBlendAndAfterCutoffMatchReference) {
  RefDualAdam c;
  c.lr = 0.05;
  c.s = 0.2;  // blend at t = 1..3 (r = .8, .6, .4), Adam from t = 4 (r_4 rounds below s)
  const std::vector<double> theta0 = {0.4, -1.5, 3.0};
  auto ps = scalars(theta0);
  DualAdam opt(ps, DualAdamOptions(c.lr).switch_rate(c.s));
  const auto ours = drive(opt, ps, 8, 100, wiggly_grad);
  const auto ref = ref_dualadam(c, theta0, 8, wiggly_grad);
  for (size_t t = 0; t < ref.size(); ++t) {
    for (size_t i = 0; i < theta0.size(); ++i) EXPECT_NEAR(ours[t][i], ref[t][i], kRelTolDouble) << t << "," << i;
  }
  // t = 1 by hand: m̂ = g, v̂ = g², d = |g|+ε, r = 0.8: Δθ = −lr[(0.2)·g/d + 0.8·g·d].
  const double g = wiggly_grad(1, 0, theta0[0]), d = std::abs(g) + 1e-8;
  EXPECT_NEAR(ours[1][0] - theta0[0], -c.lr * (0.2 * g / d + 0.8 * g * d), 1e-15);
  // Step 4 is plain Adam although nominally r_4 = s (rounding): had it blended with r = 0.2,
  // the move would differ from the reference's Adam move.
  const double m_hat_ratio = (ours[4][0] - ours[3][0]) / (ref[4][0] - ref[3][0]);
  EXPECT_NEAR(m_hat_ratio, 1.0, 1e-12);
}

TEST(DualAdam, InvAdamIsDualAdamWithRIdenticallyOne) {
  RefDualAdam c;
  c.lr = 0.01;
  c.fixed_r = 1.0;
  const std::vector<double> theta0 = {0.4, -1.5};
  auto ps = scalars(theta0);
  auto inv = optim::make_optimizer("invadam", {{"lr", c.lr}}, ps);
  const auto ours = drive(*inv, ps, 300, 1000, wiggly_grad);  // far past any cut-off
  const auto ref = ref_dualadam(c, theta0, 300, wiggly_grad);
  for (size_t t = 0; t < ref.size(); ++t) EXPECT_NEAR(ours[t][1], ref[t][1], kRelTolDouble) << t;
  // and literally the same as dualadam with fixed_r = 1
  auto qs = scalars(theta0);
  auto dual = optim::make_optimizer("dualadam", {{"lr", c.lr}, {"fixed_r", 1.0}}, qs);
  const auto same = drive(*dual, qs, 300, 1000, wiggly_grad);
  EXPECT_EQ(same, ours);
}

TEST(DualAdam, FixedRZeroIsAdamW) {
  auto a_p = scalars({0.4, -1.5}), b_p = scalars({0.4, -1.5});
  DualAdam dual(a_p, DualAdamOptions(0.01).fixed_r(0.0).weight_decay(0.1));
  torch::optim::AdamW adamw(b_p, torch::optim::AdamWOptions(0.01).weight_decay(0.1));
  const auto a = drive(dual, a_p, 50, 1000, wiggly_grad), b = drive(adamw, b_p, 50, 1000, wiggly_grad);
  for (size_t t = 0; t < a.size(); ++t) EXPECT_NEAR(a[t][0], b[t][0], kRelTolDouble) << t;
}

TEST(DualAdam, CoupledWeightDecayOptionMatchesReference) {
  RefDualAdam c;
  c.lr = 0.02;
  c.s = 0.05;
  c.wd = 0.3;
  c.decoupled = false;
  auto ps = scalars({1.0, -2.0});
  DualAdam opt(ps, DualAdamOptions(c.lr).switch_rate(c.s).weight_decay(c.wd).weight_decouple(false));
  const auto ours = drive(opt, ps, 30, 1000, wiggly_grad);
  const auto ref = ref_dualadam(c, {1.0, -2.0}, 30, wiggly_grad);
  for (size_t t = 0; t < ref.size(); ++t) EXPECT_NEAR(ours[t][0], ref[t][0], kRelTolDouble) << t;
  c.decoupled = true;
  const auto ref_dec = ref_dualadam(c, {1.0, -2.0}, 30, wiggly_grad);
  EXPECT_GT(std::abs(ref_dec[30][0] - ours[30][0]), 1e-6);  // the option changes the result
}

// One global counter (official) vs per-group counters (port): they differ once a group joins late.
TEST(DualAdam, GlobalAndPerGroupCountersDifferForALateGroup) {
  auto run = [](optim::StepCounter counter) {
    auto a = scalars({1.0}), b = scalars({1.0});
    DualAdam opt(a, DualAdamOptions(0.05).switch_rate(0.1).step_counter(counter));
    drive(opt, a, 3, 100, wiggly_grad);
    opt.add_param_group(torch::optim::OptimizerParamGroup(
        b, std::make_unique<DualAdamOptions>(DualAdamOptions(0.05).switch_rate(0.1).step_counter(counter))));
    b[0].mutable_grad() = torch::ones({1}, torch::kFloat64);
    a[0].mutable_grad() = torch::ones({1}, torch::kFloat64);
    opt.step();
    return values(b)[0];
  };
  const double global = run(optim::StepCounter::kGlobal), per_group = run(optim::StepCounter::kPerGroup);
  // per-group: the new group is at t = 1 (r = 0.9, bc = first step); global: t = 4 (r = 0.6).
  const double d = 1.0 + 1e-8;
  EXPECT_NEAR(per_group - 1.0, -0.05 * (0.1 / d + 0.9 * d), 1e-15);
  const double mh = 0.1 / (1 - std::pow(0.9, 4)), dg = std::sqrt(0.001 / (1 - std::pow(0.999, 4))) + 1e-8;
  EXPECT_NEAR(global - 1.0, -0.05 * (0.4 * mh / dg + 0.6 * mh * dg), 1e-14);
}

}  // namespace
}  // namespace flatmin::test
