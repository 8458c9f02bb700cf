// NAdam (torch ≥ 2.0 form and the MIAdam repo's Keras form): independent float64 reference, the
// momentum schedule and Π, closed forms at ψ = 0 and β1 = 0, the torch 1.13 product bug option,
// Keras form = torch form, checkpoint, groups, fused vs tensor path, validation, replay.
#include "optim/nadam.h"

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

using optim::NAdam;
using optim::NAdamOptions;

// Independent reference: plain float64 loops from spec optimizers.md §5.1 / §5.2.
struct RefNAdam {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0, psi = 4e-3;
  bool decoupled = false, bug113 = false;
};

std::vector<std::vector<double>> ref_nadam(const RefNAdam& c, std::vector<double> theta, int64_t steps,
                                           const GradFn& grad) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), v(P, 0), prod(P, 1);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    const double mu = c.beta1 * (1 - 0.5 * std::pow(0.96, double(t) * c.psi));
    const double mu_next = c.beta1 * (1 - 0.5 * std::pow(0.96, double(t + 1) * c.psi));
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (c.wd != 0 && !c.decoupled) g += c.wd * theta[i];
      if (c.wd != 0 && c.decoupled) theta[i] *= 1 - c.lr * c.wd;
      prod[i] *= mu;
      const double prod_next = c.bug113 ? prod[i] * mu * mu_next : prod[i] * mu_next;
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      const double d = std::sqrt(v[i] / (1 - std::pow(c.beta2, double(t)))) + c.eps;
      theta[i] -= c.lr * ((1 - mu) / (1 - prod[i]) * g + mu_next / (1 - prod_next) * m[i]) / d;
    }
    out.push_back(theta);
  }
  return out;
}

NAdamOptions to_options(const RefNAdam& c) {
  return NAdamOptions(c.lr)
      .betas({c.beta1, c.beta2})
      .eps(c.eps)
      .weight_decay(c.wd)
      .momentum_decay(c.psi)
      .decoupled_weight_decay(c.decoupled)
      .torch113_mu_product_bug(c.bug113);
}


struct Case {
  const char* name;
  RefNAdam c;
  bool keras;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NAdamReference : public ::testing::TestWithParam<Case> {};

TEST_P(NAdamReference, ProducesReferenceTrajectory) {
  const auto& cs = GetParam();
  const std::vector<double> theta0 = {0.5, -1.0, 2.0};
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto ps = scalars(theta0);
    auto o = to_options(cs.c);
    if (cs.keras) o.form(optim::NAdamVariant::kKeras);
    NAdam opt(ps, o);
    const auto ours = drive(opt, ps, 40, 1000, wiggly_grad);
    expect_close(ours, ref_nadam(cs.c, theta0, 40, wiggly_grad), kRelTolDouble);
    EXPECT_NE(ours[40][0], ours[39][0]);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

RefNAdam make(double lr, double wd, bool decoupled, double psi = 4e-3, double beta1 = 0.9, bool bug = false) {
  RefNAdam c;
  std::tie(c.lr, c.wd, c.decoupled, c.psi, c.beta1, c.bug113) = std::tie(lr, wd, decoupled, psi, beta1, bug);
  return c;
}

INSTANTIATE_TEST_SUITE_P(All, NAdamReference,
                         ::testing::Values(Case{"TorchDefault", make(0.05, 0, false), false},
                                           Case{"TorchCoupledWeightDecay", make(0.05, 0.1, false), false},
                                           Case{"TorchDecoupledWeightDecay", make(0.05, 0.1, true), false},
                                           Case{"TorchLargeMomentumDecay", make(0.05, 0, false, 0.5), false},
                                           Case{"TorchSmallBeta1LerpLarge", make(0.05, 0.01, false, 4e-3, 0.3), false},
                                           Case{"Torch113ProductBug", make(0.05, 0.0, false, 4e-3, 0.9, true), false},
                                           Case{"Keras", make(0.05, 0, false), true},
                                           Case{"KerasLargeScheduleDecay", make(0.05, 0, false, 0.2, 0.8), true}),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

// Property: μ_t ∈ (β1/2, β1), increasing in t; the state's Π_t = Π_{t−1}·μ_t exactly, decreasing.
TEST(NAdam, MomentumScheduleAndProductAreMonotone) {
  const double beta1 = 0.9, psi = 4e-3;
  double prev_mu = 0.0;
  for (int64_t t = 1; t <= 5000; t += 7) {
    const double mu = optim::nadam_mu(beta1, psi, t);
    EXPECT_GT(mu, beta1 / 2) << t;
    EXPECT_LT(mu, beta1) << t;
    EXPECT_GT(mu, prev_mu) << t;
    prev_mu = mu;
  }
  EXPECT_NEAR(optim::nadam_mu(beta1, psi, 1), 0.9 * (1 - 0.5 * std::pow(0.96, 0.004)), 1e-16);
  auto p = scalars({1.0});
  NAdam opt(p, NAdamOptions(0.01));
  double prev = 1.0;
  for (int64_t t = 1; t <= 50; ++t) {
    p[0].mutable_grad() = torch::full({1}, std::cos(double(t)), torch::kFloat64);
    opt.step();
    const auto& st = static_cast<const optim::NAdamParamState&>(*opt.state().begin()->second);
    EXPECT_EQ(st.scalars[0], prev * optim::nadam_mu(beta1, psi, t)) << t;
    EXPECT_LT(st.scalars[0], prev);
    EXPECT_GT(st.scalars[0], 0.0);
    prev = st.scalars[0];
  }
}

// ψ = 0: μ ≡ β1/2 and Π_t = (β1/2)^t. The first step has a closed form:
//   Δθ_1 = −lr·g/d·(1 + μ(1−β1)/(1−μ²)),  d = |g|·√((1−β2)/(1−β2)) + ε = |g| + ε.
TEST(NAdam, ZeroMomentumDecayHasConstantMuAndClosedFormFirstStep) {
  const double lr = 0.1, beta1 = 0.9, g = -0.7;
  auto p = scalars({1.0});
  NAdam opt(p, NAdamOptions(lr).momentum_decay(0.0));
  p[0].mutable_grad() = torch::full({1}, g, torch::kFloat64);
  opt.step();
  const double mu = beta1 / 2, d = std::abs(g) + 1e-8;
  EXPECT_NEAR(values(p)[0] - 1.0, -lr * g / d * (1 + mu * (1 - beta1) / (1 - mu * mu)), 1e-15);
  for (int t = 2; t <= 20; ++t) {
    p[0].mutable_grad() = torch::full({1}, std::sin(double(t)), torch::kFloat64);
    opt.step();
  }
  const auto& st = static_cast<const optim::NAdamParamState&>(*opt.state().begin()->second);
  EXPECT_NEAR(st.scalars[0], std::pow(mu, 20), 1e-15 * std::pow(mu, 20));
}

// β1 = 0: μ = 0, Π = 0 and m = g: NAdam is Adam with β1 = 0 (lr·g/(√v̂+ε)), in both forms;
// with β1 = 0 the torch form takes the large-weight lerp branch.
TEST(NAdam, ZeroBeta1IsAdamWithZeroBeta1) {
  for (const char* name : {"nadam", "nadam_keras"}) {
    auto a = scalars({0.3, -0.7}), b = scalars({0.3, -0.7});
    auto nadam = optim::make_optimizer(name, {{"lr", 0.01}, {"betas", {0.0, 0.99}}}, a);
    torch::optim::Adam adam(b, torch::optim::AdamOptions(0.01).betas({0.0, 0.99}));
    expect_close(drive(*nadam, a, 30, 1000, wiggly_grad), drive(adam, b, 30, 1000, wiggly_grad), kRelTolDoubleSameMath);
  }
}

// torch 1.13's single-tensor path used Π_1·μ_1·μ_2 in the second coefficient of step 1.
TEST(NAdam, Torch113ProductBugChangesOnlyTheMomentumCoefficient) {
  const double lr = 0.1, g = 0.5;
  auto run1 = [&](bool bug) {
    auto p = scalars({0.0});
    NAdam opt(p, NAdamOptions(lr).torch113_mu_product_bug(bug));
    p[0].mutable_grad() = torch::full({1}, g, torch::kFloat64);
    opt.step();
    return values(p)[0];
  };
  const double mu1 = optim::nadam_mu(0.9, 4e-3, 1), mu2 = optim::nadam_mu(0.9, 4e-3, 2);
  const double d = g + 1e-8, m = 0.1 * g;
  const double first = -lr * (1 - mu1) / (1 - mu1) * g / d;
  EXPECT_NEAR(run1(false), first - lr * mu2 / (1 - mu1 * mu2) * m / d, 1e-15);
  EXPECT_NEAR(run1(true), first - lr * mu2 / (1 - mu1 * mu1 * mu2) * m / d, 1e-15);
  EXPECT_GT(std::abs(run1(true) - run1(false)), 1e-4);
}

// The Keras form and the torch form are the same method (wd = 0): equal up to rounding.
TEST(NAdam, KerasFormEqualsTorchFormWithoutWeightDecay) {
  auto a = scalars({0.3, -0.7, 2.0}), b = scalars({0.3, -0.7, 2.0});
  auto keras = optim::make_optimizer("nadam_keras", {{"lr", 0.02}, {"schedule_decay", 0.01}}, a);
  auto torch_form = optim::make_optimizer("nadam", {{"lr", 0.02}, {"momentum_decay", 0.01}}, b);
  const auto ka = drive(*keras, a, 200, 1000, wiggly_grad), tb = drive(*torch_form, b, 200, 1000, wiggly_grad);
  expect_close(ka, tb, kRelTolDouble);
  EXPECT_NE(ka, tb);  // but not the same arithmetic
}




// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption. Here the Keras form's own checks.
TEST(NAdam, KerasFormChecks) {
  auto p = scalars({1.0});
  expect_input_error([&] { NAdam(p, NAdamOptions().form(optim::NAdamVariant::kKeras).weight_decay(1e-4)); },
                     "weight_decay");
  std::vector<torch::Tensor> ps{torch::ones({1}, torch::kFloat64)};
  expect_input_error([&] { optim::make_optimizer("nadam_keras", {{"weight_decay", 5e-5}}, ps); }, "no weight decay");
  expect_input_error([&] { optim::make_optimizer("nadam_keras", {{"momentum_decay", 1e-3}}, ps); },
                     "unknown option 'momentum_decay'");
  expect_input_error([&] { optim::make_optimizer("nadam_keras", {{"schedule_decay", -1.0}}, ps); }, "schedule_decay");
  expect_input_error([&] { optim::make_optimizer("nadam", {{"schedule_decay", 1e-3}}, ps); },
                     "unknown option 'schedule_decay'");
}

TEST(NAdam, RegistryDefaults) {
  std::vector<torch::Tensor> ps{torch::ones({1}, torch::kFloat64)};
  const auto n = optim::resolved_options("nadam", *optim::make_optimizer("nadam", nlohmann::json::object(), ps))[0];
  EXPECT_EQ(n["lr"].get<double>(), 2e-3);
  EXPECT_EQ(n["momentum_decay"].get<double>(), 4e-3);
  EXPECT_EQ(n["eps"].get<double>(), 1e-8);
  EXPECT_FALSE(n["torch113_mu_product_bug"].get<bool>());
  EXPECT_FALSE(n["decoupled_weight_decay"].get<bool>());
  const auto k = optim::resolved_options("nadam_keras", *optim::make_optimizer("nadam_keras", {{"weight_decay", 0}}, ps))[0];
  EXPECT_EQ(k["schedule_decay"].get<double>(), 4e-3);
  EXPECT_EQ(k["lr"].get<double>(), 2e-3);
  EXPECT_EQ(k["weight_decay"].get<double>(), 0.0);
}

TEST(NAdam, ReplayMatchesReferenceForEveryName) {
  for (const char* name : {"nadam", "nadam_keras"}) {
    auto spec = nlohmann::json::parse(R"({"params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
      "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
      "steps": 40, "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}})");
    spec["optimizer"] = name;
    spec["options"] = {{"lr", 0.01}};
    const auto r = optim::replay(spec);
    ASSERT_EQ(r.rows.size(), 41u);
    const std::vector<double> a0 = {1.0, 2.0, 3.0}, a1 = {0.5, 0.5};
    RefNAdam c = make(0.01, 0, false);
    const auto ref0 = ref_nadam(c, {1.0, -2.0, 0.5}, 40, [&](int64_t, size_t i, double th) { return a0[i] * th; });
    c.lr = 0.02;
    const auto ref1 = ref_nadam(c, {0.3, 0.2}, 40, [&](int64_t, size_t i, double th) { return a1[i] * (th - 1); });
    for (size_t t = 0; t <= 40; ++t) {
      for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][1 + i], ref0[t][i], kRelTolDouble) << name << " " << t;
      for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(r.rows[t][4 + i], ref1[t][i], kRelTolDouble) << name << " " << t;
    }
  }
}

}  // namespace
}  // namespace flatmin::test
