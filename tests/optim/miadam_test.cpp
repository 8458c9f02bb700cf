// MIAdam: reference trajectories (official and paper-literal), closed-form steady-state ratio,
// the switch boundary, param groups, checkpoint round trip, fused-vs-tensor path, validation.
#include "optim/miadam.h"

#include <sstream>
#include <tuple>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "tests/support/reference_optim.h"
#include "tests/support/tolerances.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/torch_helpers.h"
#include "theory/miadam_gain.h"

namespace flatmin::test {
namespace {

using optim::MIAdam;
using optim::MIAdamOptions;


MIAdamOptions to_options(const RefMIAdam& c) {
  MIAdamOptions o(c.lr);
  o.betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.wd).kappa(c.kappa).order(c.order).amsgrad(c.amsgrad);
  o.switch_epoch(c.switch_epoch).switch_step(c.switch_step).eps_inside_sqrt(c.eps_inside);
  o.alpha_power(c.alpha_algorithm1 ? optim::AlphaPower::kAlgorithm1 : optim::AlphaPower::kOfficial);
  return o;
}

using Case = RefCase<RefMIAdam>;

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
  std::tie(c.order, c.lr, c.kappa, c.switch_epoch) = std::tie(order, lr, kappa, switch_epoch);
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
      step_fused_and_tensor(a, b, 8, [&](int64_t t) {
        auto g = torch::randn({n}, dtype);
        optim::set_epoch(a, 1 + (t - 1) / 3);
        optim::set_epoch(b, 1 + (t - 1) / 3);
        p1.mutable_grad() = g.clone();
        p2.mutable_grad() = g.clone();
      });
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatSameMath : kRelTolDoubleSameMath;
      const double err = max_rel_diff(p1, p2);
      EXPECT_LE(err, tol) << "order " << order << " dtype " << dtype;
      EXPECT_GT((p1 - init).abs().max().item<double>(), 0.0);
    }
  }
}

// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption. Here NaN, which no range admits.
TEST(MIAdam, RejectsNaNLr) {
  auto p = scalars({1.0});
  expect_rejected<MIAdam>(p, MIAdamOptions(std::nan("")), "lr");
}

}  // namespace
}  // namespace flatmin::test
