// MIAdam: reference trajectories (official and paper-literal), closed-form steady-state ratio,
// the switch boundary, param groups, checkpoint round trip, fused-vs-tensor path, validation.
#include "optim/miadam.h"

#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "tests/support/reference_optim.h"
#include "tests/support/tolerances.h"
#include "tests/support/torch_helpers.h"
#include "theory/miadam_gain.h"

namespace flatmin::test {
namespace {

using optim::MIAdam;
using optim::MIAdamOptions;

void expect_close(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b, double rtol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t t = 0; t < a.size(); ++t) {
    ASSERT_EQ(a[t].size(), b[t].size());
    for (size_t i = 0; i < a[t].size(); ++i) {
      EXPECT_NEAR(a[t][i], b[t][i], rtol * std::max(1.0, std::abs(b[t][i]))) << "step " << t << " element " << i;
    }
  }
}

MIAdamOptions to_options(const RefMIAdam& c) {
  MIAdamOptions o(c.lr);
  o.betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.wd).kappa(c.kappa).order(c.order).amsgrad(c.amsgrad);
  o.switch_epoch(c.switch_epoch).switch_step(c.switch_step).eps_inside_sqrt(c.eps_inside);
  o.alpha_power(c.alpha_algorithm1 ? optim::AlphaPower::kAlgorithm1 : optim::AlphaPower::kOfficial);
  return o;
}

struct Case {
  const char* name;
  RefMIAdam c;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class MIAdamReference : public ::testing::TestWithParam<Case> {};

TEST_P(MIAdamReference, ProducesReferenceTrajectory) {
  const auto& c = GetParam().c;
  const std::vector<double> theta0 = {0.5, -1.0, 2.0};
  const int64_t steps = 30, spe = 4;
  auto ps = scalars(theta0);
  MIAdam opt(ps, to_options(c));
  const auto ours = drive(opt, ps, steps, spe, wiggly_grad);
  const auto ref = ref_miadam(c, theta0, steps, spe, wiggly_grad);
  expect_close(ours, ref, kRelTolDouble);
  // The trajectory must actually move in both phases (a frozen optimizer would pass trivially otherwise).
  EXPECT_NE(ours[5][0], ours[4][0]);
  EXPECT_NE(ours[30][0], ours[29][0]);
}

RefMIAdam make(int order, double lr, double kappa, int64_t switch_epoch) {
  RefMIAdam c;
  c.order = order;
  c.lr = lr;
  c.kappa = kappa;
  c.switch_epoch = switch_epoch;
  return c;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"Order1Official", make(1, 0.05, 0.9, 5)});
  out.push_back({"Order2Official", make(2, 0.3, 0.95, 5)});
  out.push_back({"Order3Official", make(3, 0.5, 0.98, 5)});
  auto wd = make(2, 0.2, 0.9, 4);
  wd.wd = 0.01;
  wd.amsgrad = true;
  out.push_back({"Order2WeightDecayAmsgrad", wd});
  auto lit = make(1, 0.05, 0.9, 99);
  lit.switch_step = 17;
  lit.alpha_algorithm1 = true;
  lit.eps_inside = true;
  lit.eps = 1e-3;  // large enough that √(v̂+ε) and √v̂+ε differ visibly
  out.push_back({"Order1PaperLiteral", lit});
  auto lit3 = make(3, 0.5, 1.0, 99);  // κ = 1: the pure multiple integral of Theorem 1
  lit3.switch_step = 12;
  lit3.alpha_algorithm1 = true;
  lit3.eps_inside = true;
  out.push_back({"Order3PaperLiteralKappa1", lit3});
  out.push_back({"Order5Dynamic", make(5, 0.6, 0.7, 6)});
  return out;
}

INSTANTIATE_TEST_SUITE_P(All, MIAdamReference, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

TEST(MIAdam, EpsPlacementMatters) {
  // Guards the paper-literal option: the two ε placements must give different trajectories.
  auto c = make(1, 0.05, 0.9, 99);
  c.eps = 1e-2;
  auto ps1 = scalars({1.0}), ps2 = scalars({1.0});
  MIAdam a(ps1, to_options(c));
  c.eps_inside = true;
  MIAdam b(ps2, to_options(c));
  const auto ta = drive(a, ps1, 5, 10, wiggly_grad), tb = drive(b, ps2, 5, 10, wiggly_grad);
  EXPECT_GT(std::abs(ta[5][0] - tb[5][0]), 1e-6);
}

// Steady state on a constant gradient: MI step / Adam step → (lr/(1−κ))^n (spec §12.3).
TEST(MIAdam, SteadyStateStepRatioMatchesClosedForm) {
  for (int n = 1; n <= 3; ++n) {
    const double lr = 0.05, kappa = 0.9;
    const int64_t steps = 600;
    const nlohmann::json opts = {{"lr", lr}, {"kappa", kappa}, {"order", n}, {"switch_epoch", 2}};
    auto mi_p = scalars({0.0}), adam_p = scalars({0.0});
    auto mi = optim::make_optimizer("miadam", opts, mi_p);
    auto adam = optim::make_optimizer("adam", {{"lr", lr}}, adam_p);
    const GradFn one = [](int64_t, size_t, double) { return 1.0; };
    const auto a = drive(*mi, mi_p, steps, steps, one);
    const auto b = drive(*adam, adam_p, steps, steps, one);
    const double ratio = (a[steps][0] - a[steps - 1][0]) / (b[steps][0] - b[steps - 1][0]);
    const double closed = theory::miadam_steady_step_ratio(lr, kappa, n);
    EXPECT_NEAR(ratio, closed, 1e-9 * closed) << "order " << n;
    EXPECT_NEAR(closed, std::pow(lr / (1 - kappa), n), 1e-15);
    // Mid-transient the exact ratio is lr^n · gain_t when m is constant; after β1's transient
    // (t=300, 0.9^300 ≈ 2e-14) the finite-t gain is the oracle.
    const double ratio_300 = (a[300][0] - a[299][0]) / (b[300][0] - b[299][0]);
    EXPECT_NEAR(ratio_300, std::pow(lr, n) * theory::miadam_buffer_gain(kappa, n, 300), 1e-9 * closed);
  }
}

// Last MI step and first Adam step: with given gradients m and v do not depend on θ, so the
// first post-switch displacement equals torch::optim::Adam's at the same step; buffers freeze.
TEST(MIAdam, SwitchBoundaryLastMIStepFirstAdamStep) {
  const int64_t spe = 4, switch_epoch = 3, last_mi = (switch_epoch - 1) * spe;  // t = 8
  const GradFn g = [](int64_t t, size_t, double) { return std::cos(0.9 * double(t)) + 0.2; };
  auto mi_p = scalars({1.0}), adam_p = scalars({1.0});
  MIAdam mi(mi_p, MIAdamOptions(0.1).kappa(0.9).order(2).switch_epoch(switch_epoch));
  torch::optim::Adam adam(adam_p, torch::optim::AdamOptions(0.1));
  const auto a = drive(mi, mi_p, last_mi, spe, g);
  const auto b = drive(adam, adam_p, last_mi, spe, g);
  const auto& st = static_cast<const optim::MIAdamParamState&>(*mi.state().begin()->second);
  std::vector<torch::Tensor> frozen;
  for (const auto& buf : st.bufs()) frozen.push_back(buf.clone());
  const auto a2 = drive(mi, mi_p, 3, spe, g, last_mi);
  const auto b2 = drive(adam, adam_p, 3, spe, g, last_mi);
  // Steps 1..8 (MI) and 9..11 (Adam) follow the independent reference.
  RefMIAdam c = make(2, 0.1, 0.9, switch_epoch);
  const auto ref = ref_miadam(c, {1.0}, last_mi + 3, spe, [&](int64_t t, size_t i, double th) { return g(t, i, th); });
  for (int64_t t = 1; t <= last_mi; ++t) EXPECT_NEAR(a[t][0], ref[t][0], kRelTolDouble) << "MI step " << t;
  for (int64_t k = 1; k <= 3; ++k) EXPECT_NEAR(a2[k][0], ref[last_mi + k][0], kRelTolDouble) << "Adam step " << last_mi + k;
  // The last MI step is not an Adam step; the first post-switch steps are exactly Adam's.
  EXPECT_GT(std::abs((a[last_mi][0] - a[last_mi - 1][0]) - (b[last_mi][0] - b[last_mi - 1][0])), 1e-3);
  for (int k = 1; k <= 3; ++k) {
    const double da = a2[k][0] - a2[k - 1][0], db = b2[k][0] - b2[k - 1][0];
    EXPECT_NEAR(da, db, kRelTolDoubleSameMath * std::abs(db)) << "post-switch step " << last_mi + k;
  }
  ASSERT_EQ(st.bufs().size(), 2u);
  for (size_t j = 0; j < 2; ++j) EXPECT_TRUE(torch::equal(frozen[j], st.bufs()[j])) << "buffer " << j << " moved after the switch";
}

// switch_epoch = 0 (or any epoch ≥ it): MIAdam is torch's Adam, on both kernel paths.
TEST(MIAdam, NoMIPhaseEqualsTorchAdam) {
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto a_p = scalars({0.3, -0.7}), b_p = scalars({0.3, -0.7});
    MIAdam mi(a_p, MIAdamOptions(0.01).switch_epoch(0).weight_decay(0.1).amsgrad(true));
    torch::optim::Adam adam(b_p, torch::optim::AdamOptions(0.01).weight_decay(0.1).amsgrad(true));
    expect_close(drive(mi, a_p, 25, 5, wiggly_grad), drive(adam, b_p, 25, 5, wiggly_grad), kRelTolDoubleSameMath);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

// Two groups with different options = each group run alone (the official shared buffer list
// corrupts every group when shapes match: spec §12.4 defect 1).
TEST(MIAdam, TwoParamGroupsWithDifferentOptionsMatchSeparateRuns) {
  auto p = scalars({1.0, 2.0, -1.0, 0.5});  // same shapes in both groups: the case the official code corrupts
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p[0], p[1]}, std::make_unique<MIAdamOptions>(MIAdamOptions(0.1).order(2).kappa(0.9).switch_epoch(3)));
  groups.emplace_back(std::vector<torch::Tensor>{p[2], p[3]}, std::make_unique<MIAdamOptions>(MIAdamOptions(0.3).order(1).kappa(0.5).switch_epoch(2)));
  MIAdam both(std::move(groups));
  const auto joint = drive(both, p, 20, 3, wiggly_grad);

  auto q1 = scalars({1.0, 2.0}), q2 = scalars({-1.0, 0.5});
  MIAdam one(q1, MIAdamOptions(0.1).order(2).kappa(0.9).switch_epoch(3));
  MIAdam two(q2, MIAdamOptions(0.3).order(1).kappa(0.5).switch_epoch(2));
  const GradFn g2 = [](int64_t t, size_t i, double th) { return wiggly_grad(t, i + 2, th); };
  const auto s1 = drive(one, q1, 20, 3, wiggly_grad), s2 = drive(two, q2, 20, 3, g2);
  for (size_t t = 0; t < joint.size(); ++t) {
    EXPECT_EQ(joint[t][0], s1[t][0]);
    EXPECT_EQ(joint[t][1], s1[t][1]);
    EXPECT_EQ(joint[t][2], s2[t][0]);
    EXPECT_EQ(joint[t][3], s2[t][1]);
  }
}

std::string save_to_string(const torch::optim::Optimizer& opt) {
  torch::serialize::OutputArchive archive;
  opt.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void load_from_string(torch::optim::Optimizer& opt, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  std::istringstream is(bytes);
  archive.load_from(is);
  opt.load(archive);
}

// save → load → continue equals an uninterrupted run bit for bit, with κ, order and the
// switch restored from the checkpoint (the new optimizer is built with different options).
TEST(MIAdam, SaveLoadContinueIsBitIdentical) {
  const auto opts = MIAdamOptions(0.2).order(3).kappa(0.85).switch_epoch(4).weight_decay(0.01).amsgrad(true);
  const int64_t spe = 3;
  auto full_p = scalars({1.0, -2.0});
  MIAdam full(full_p, opts);
  const auto uninterrupted = drive(full, full_p, 20, spe, wiggly_grad);

  auto p = scalars({1.0, -2.0});
  MIAdam first(p, opts);
  drive(first, p, 7, spe, wiggly_grad);  // stop inside the MI phase (switch after step 9)
  const auto bytes = save_to_string(first);
  auto resumed_p = scalars(values(p));
  MIAdam resumed(resumed_p, MIAdamOptions(0.001));  // wrong options on purpose: the checkpoint must restore them
  load_from_string(resumed, bytes);
  const auto& o = static_cast<const MIAdamOptions&>(resumed.param_groups()[0].options());
  EXPECT_EQ(o.kappa(), 0.85);
  EXPECT_EQ(o.order(), 3);
  EXPECT_EQ(o.switch_epoch(), 4);
  EXPECT_EQ(o.lr(), 0.2);
  const auto rest = drive(resumed, resumed_p, 13, spe, wiggly_grad, 7);
  for (size_t k = 0; k < rest.size(); ++k) {
    EXPECT_EQ(rest[k][0], uninterrupted[7 + k][0]) << "step " << 7 + k;
    EXPECT_EQ(rest[k][1], uninterrupted[7 + k][1]) << "step " << 7 + k;
  }
}

TEST(MIAdam, LoadRejectsMismatchedCheckpoint) {
  auto p = scalars({1.0, -2.0});
  MIAdam a(p, MIAdamOptions(0.1));
  drive(a, p, 2, 1, wiggly_grad);
  const auto bytes = save_to_string(a);
  auto q = scalars({1.0});
  MIAdam fewer(q, MIAdamOptions(0.1));
  EXPECT_THROW(load_from_string(fewer, bytes), common::InputError);
  std::vector<torch::Tensor> bigger = {torch::zeros({3}, torch::kFloat64), torch::zeros({1}, torch::kFloat64)};
  MIAdam shape(bigger, MIAdamOptions(0.1));
  try {
    load_from_string(shape, bytes);
    ADD_FAILURE() << "a checkpoint of a different model must not load";
  } catch (const common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("elements"), std::string::npos) << e.what();
  }
  auto d = scalars({1.0, -2.0});
  torch::optim::Adam other(d, torch::optim::AdamOptions(0.1));
  EXPECT_THROW(load_from_string(other, bytes), c10::Error);  // LibTorch's own format check
}

// The fused CPU kernel and the device-generic tensor path compute the same rule.
TEST(MIAdam, FusedKernelMatchesTensorPath) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (int order : {1, 2, 3, 4}) {
      torch::manual_seed(7);
      const int64_t n = 100003;  // > GRAIN_SIZE: exercises the parallel split
      auto init = torch::randn({n}, dtype);
      auto p1 = init.clone(), p2 = init.clone();
      const auto opts = MIAdamOptions(0.3).order(order).kappa(0.9).switch_epoch(3).weight_decay(1e-3).amsgrad(order == 2);
      MIAdam a(std::vector<torch::Tensor>{p1}, opts), b(std::vector<torch::Tensor>{p2}, opts);
      for (int t = 1; t <= 8; ++t) {
        auto g = torch::randn({n}, dtype);
        optim::set_epoch(a, 1 + (t - 1) / 3);
        optim::set_epoch(b, 1 + (t - 1) / 3);
        p1.mutable_grad() = g.clone();
        p2.mutable_grad() = g.clone();
        optim::set_kernel_path(optim::KernelPath::kAuto);
        a.step();
        optim::set_kernel_path(optim::KernelPath::kTensor);
        b.step();
      }
      optim::set_kernel_path(optim::KernelPath::kAuto);
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatSameMath : kRelTolDoubleSameMath;
      const double err = ((p1 - p2).abs() / (p2.abs() + 1)).max().item<double>();
      EXPECT_LE(err, tol) << "order " << order << " dtype " << dtype;
      EXPECT_GT((p1 - init).abs().max().item<double>(), 0.0);
    }
  }
}

TEST(MIAdam, ResultDoesNotDependOnThreadCount) {
  const int saved = at::get_num_threads();
  std::vector<torch::Tensor> results;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    torch::manual_seed(3);
    auto p = torch::randn({200000}, torch::kFloat32);
    MIAdam opt(std::vector<torch::Tensor>{p}, MIAdamOptions(0.1).order(3).kappa(0.9));
    for (int t = 0; t < 5; ++t) {
      p.mutable_grad() = torch::randn({200000}, torch::kFloat32);
      opt.step();
    }
    results.push_back(p.clone());
  }
  at::set_num_threads(saved);
  EXPECT_TRUE(torch::equal(results[0], results[1]));
}

TEST(MIAdam, RejectsOutOfRangeOptionsNamingTheOption) {
  auto p = scalars({1.0});
  auto expect_msg = [&](const MIAdamOptions& o, const std::string& needle) {
    try {
      MIAdam opt(p, o);
      ADD_FAILURE() << "expected InputError mentioning " << needle;
    } catch (const common::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_msg(MIAdamOptions().kappa(0.0), "kappa");
  expect_msg(MIAdamOptions().kappa(1.01), "kappa");
  expect_msg(MIAdamOptions().order(0), "order");
  expect_msg(MIAdamOptions().betas({1.0, 0.999}), "betas[0]");
  expect_msg(MIAdamOptions().betas({0.9, -0.1}), "betas[1]");
  expect_msg(MIAdamOptions(-1.0), "lr");
  expect_msg(MIAdamOptions(std::nan("")), "lr");
  expect_msg(MIAdamOptions().eps(-1), "eps");
  expect_msg(MIAdamOptions().switch_step(-2), "switch_step");
  expect_msg(MIAdamOptions().switch_epoch(-1), "switch_epoch");
}

TEST(MIAdam, SkipsParametersWithoutGradient) {
  auto p = scalars({1.0, 2.0});
  MIAdam opt(p, MIAdamOptions(0.1));
  p[0].mutable_grad() = torch::ones({1}, torch::kFloat64);
  opt.step();
  EXPECT_NE(values(p)[0], 1.0);
  EXPECT_EQ(values(p)[1], 2.0);
  EXPECT_EQ(opt.state().size(), 1u);
}

}  // namespace
}  // namespace flatmin::test
