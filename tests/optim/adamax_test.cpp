// Adamax: independent float64 reference, the infinity-norm invariants (u ≥ |g|+ε, u shrinks by at
// most β2 per step), checkpoint, groups, fused vs tensor path, validation, replay.
#include "optim/adamax.h"

#include <cmath>
#include <sstream>

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

using optim::Adamax;
using optim::AdamaxOptions;

// Independent reference: plain float64 loops from spec optimizers.md §6.
struct RefAdamax {
  double lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
};

std::vector<std::vector<double>> ref_adamax(const RefAdamax& c, std::vector<double> theta, int64_t steps,
                                            const GradFn& grad) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), u(P, 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (c.wd != 0) g += c.wd * theta[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      u[i] = std::max(c.beta2 * u[i], std::abs(g) + c.eps);
      theta[i] -= c.lr / (1 - std::pow(c.beta1, double(t))) * m[i] / u[i];
    }
    out.push_back(theta);
  }
  return out;
}


TEST(Adamax, ProducesReferenceTrajectory) {
  RefAdamax plain;
  plain.lr = 0.05;
  RefAdamax wd = plain;
  wd.wd = 0.1;
  wd.eps = 1e-3;
  wd.beta2 = 0.9;
  // gradients that shrink in the second half, so u decays by β2 (the β2·u branch is taken)
  const GradFn grad = [](int64_t t, size_t i, double th) { return wiggly_grad(t, i, th) * (t > 20 ? 0.01 : 1.0); };
  for (const auto& c : {plain, wd}) {
    for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
      optim::set_kernel_path(path);
      const std::vector<double> theta0 = {0.5, -1.0, 2.0};
      auto ps = scalars(theta0);
      Adamax opt(ps, AdamaxOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.wd));
      const auto ours = drive(opt, ps, 40, 1000, grad);
      expect_close(ours, ref_adamax(c, theta0, 40, grad), kRelTolDouble);
      EXPECT_NE(ours[40][0], ours[39][0]);
    }
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

// Property (exact, in the parameter's dtype): u_t ≥ |g_t| + ε and u_t ≥ β2·u_{t−1} every step, with
// equality to one of the two; gradients drop by 1e4 mid-run so the decay branch is exercised.
TEST(Adamax, InfinityNormBoundsHoldEveryStep) {
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
      optim::set_kernel_path(path);
      torch::manual_seed(4);
      const int64_t n = 40000;
      const double beta2 = 0.9, eps = 1e-6;
      auto p = torch::randn({n}, dtype);
      Adamax opt(std::vector<torch::Tensor>{p}, AdamaxOptions(0.01).betas({0.9, beta2}).eps(eps));
      torch::Tensor prev = torch::zeros({n}, dtype);
      int64_t decayed = 0, fresh = 0;
      for (int t = 1; t <= 25; ++t) {
        const auto g = torch::randn({n}, dtype) * (t > 10 ? 1e-4 : 1.0);
        p.mutable_grad() = g.clone();
        opt.step();
        const auto& u = static_cast<const optim::Adamax::State&>(*opt.state().begin()->second).tensor("exp_inf");
        const auto floor_g = g.abs() + eps;  // computed in dtype, as the kernel does
        const auto floor_u = prev * beta2;
        EXPECT_TRUE((u >= floor_g).all().item<bool>()) << "step " << t;
        EXPECT_TRUE((u >= floor_u).all().item<bool>()) << "step " << t;
        EXPECT_TRUE(((u == floor_g) | (u == floor_u)).all().item<bool>()) << "step " << t;
        decayed += ((u == floor_u) & (u > floor_g)).sum().item<int64_t>();
        fresh += ((u == floor_g) & (u > floor_u)).sum().item<int64_t>();
        prev = u.clone();
      }
      EXPECT_GT(decayed, 0);
      EXPECT_GT(fresh, 0);
    }
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

TEST(Adamax, FirstStepIsSignDescentOfSizeLr) {
  // t = 1: m = (1−β1) g, u = |g| + ε, θ −= lr/(1−β1) · (1−β1) g/(|g|+ε) ≈ lr·sign(g).
  auto p = torch::tensor({1.0, 1.0, 1.0}, torch::kFloat64);
  Adamax opt(std::vector<torch::Tensor>{p}, AdamaxOptions(0.1));
  p.mutable_grad() = torch::tensor({1e3, -2.0, 1e-2}, torch::kFloat64);
  opt.step();
  EXPECT_NEAR(p[0].item<double>(), 1.0 - 0.1 * 1e3 / (1e3 + 1e-8), 1e-15);
  EXPECT_NEAR(p[1].item<double>(), 1.0 + 0.1 * 2.0 / (2.0 + 1e-8), 1e-15);
  EXPECT_NEAR(p[2].item<double>(), 1.0 - 0.1 * 1e-2 / (1e-2 + 1e-8), 1e-15);
  EXPECT_GT(std::abs(p[2].item<double>() - 0.9), 5e-8);  // ε inside the max matters for small |g|
}

// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption.
TEST(Adamax, DefaultsAreTorchs) {
  std::vector<torch::Tensor> ps{torch::ones({1}, torch::kFloat64)};
  const auto r = optim::resolved_options("adamax", *optim::make_optimizer("adamax", nlohmann::json::object(), ps))[0];
  EXPECT_EQ(r["lr"].get<double>(), 2e-3);
  EXPECT_EQ(r["eps"].get<double>(), 1e-8);
}

TEST(Adamax, ReplayMatchesReference) {
  auto spec = nlohmann::json::parse(R"({"optimizer": "adamax", "options": {"lr": 0.01, "weight_decay": 0.001},
    "params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
    "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
    "steps": 40, "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}})");
  const auto r = optim::replay(spec);
  ASSERT_EQ(r.rows.size(), 41u);
  const std::vector<double> a0 = {1.0, 2.0, 3.0}, a1 = {0.5, 0.5};
  RefAdamax c;
  c.lr = 0.01;
  c.wd = 0.001;
  const auto ref0 = ref_adamax(c, {1.0, -2.0, 0.5}, 40, [&](int64_t, size_t i, double th) { return a0[i] * th; });
  c.lr = 0.02;
  const auto ref1 = ref_adamax(c, {0.3, 0.2}, 40, [&](int64_t, size_t i, double th) { return a1[i] * (th - 1); });
  for (size_t t = 0; t <= 40; ++t) {
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][1 + i], ref0[t][i], kRelTolDouble) << t;
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(r.rows[t][4 + i], ref1[t][i], kRelTolDouble) << t;
  }
}

}  // namespace
}  // namespace flatmin::test
