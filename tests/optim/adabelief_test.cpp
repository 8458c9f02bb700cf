// AdaBelief: an independent float64 reference written from the official adabelief-pytorch 0.2.0 step
// (every option combination that changes the arithmetic), through the constructor and the registry.
// Checkpoints, groups, fused-vs-tensor path, threads and option rejection are in conformance_test.cpp.
#include "optim/adabelief.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "optim/registry.h"
#include "tests/support/tolerances.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

struct RefAdaBelief {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-16, wd = 0;
  bool amsgrad = false, decouple = true, fixed_decay = false, rectify = true, degenerated = true;
};

// Plain loops, in the official code's order of operations (not from optim/rules).
std::vector<std::vector<double>> ref_adabelief(const RefAdaBelief& c, std::vector<double> theta, int64_t steps,
                                               const GradFn& grad) {
  const size_t P = theta.size();
  std::vector<double> m(P, 0), s(P, 0), smax(P, 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < P; ++i) {
      double g = grad(t, i, theta[i]);
      if (c.decouple) {
        theta[i] *= c.fixed_decay ? 1.0 - c.wd : 1.0 - c.lr * c.wd;
      } else if (c.wd != 0) {
        g += c.wd * theta[i];
      }
      const double bc1 = 1 - std::pow(c.beta1, double(t)), bc2 = 1 - std::pow(c.beta2, double(t));
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      const double r = g - m[i];
      s[i] = c.beta2 * s[i] + (1 - c.beta2) * r * r;
      s[i] += c.eps;
      double denom;
      if (c.amsgrad) {
        smax[i] = std::max(smax[i], s[i]);
        denom = std::sqrt(smax[i]) / std::sqrt(bc2) + c.eps;
      } else {
        denom = std::sqrt(s[i]) / std::sqrt(bc2) + c.eps;
      }
      if (!c.rectify) {
        theta[i] -= c.lr / bc1 * m[i] / denom;
        continue;
      }
      const double b2t = std::pow(c.beta2, double(t));
      const double rho_max = 2 / (1 - c.beta2) - 1, rho = rho_max - 2 * double(t) * b2t / (1 - b2t);
      if (rho >= 5) {
        const double step = std::sqrt((1 - b2t) * (rho - 4) / (rho_max - 4) * (rho - 2) / rho * rho_max / (rho_max - 2)) / bc1;
        theta[i] -= step * c.lr * m[i] / (std::sqrt(s[i]) + c.eps);
      } else if (c.degenerated) {
        theta[i] -= 1.0 / bc1 * c.lr * m[i];
      }
    }
    out.push_back(theta);
  }
  return out;
}

nlohmann::json as_options(const RefAdaBelief& c) {
  return {{"lr", c.lr},           {"betas", {c.beta1, c.beta2}},       {"eps", c.eps},
          {"weight_decay", c.wd}, {"amsgrad", c.amsgrad},              {"weight_decouple", c.decouple},
          {"fixed_decay", c.fixed_decay}, {"rectify", c.rectify},     {"degenerated_to_sgd", c.degenerated}};
}

TEST(AdaBelief, ProducesReferenceTrajectoryForEveryArithmeticOption) {
  std::vector<RefAdaBelief> cases;
  RefAdaBelief base;
  base.lr = 0.05;
  base.beta2 = 0.9;  // ρ_t reaches 5 at t = 6: both rectification branches run
  base.eps = 1e-8;
  cases.push_back(base);                                       // rectified, decoupled, no decay
  auto c = base; c.wd = 0.1; cases.push_back(c);               // decoupled decay
  c.fixed_decay = true; cases.push_back(c);                    // fixed decay
  c = base; c.wd = 0.1; c.decouple = false; cases.push_back(c);  // L2
  c = base; c.rectify = false; c.amsgrad = true; cases.push_back(c);  // the paper's Alg. 2 + AMSGrad
  c = base; c.degenerated = false; cases.push_back(c);         // no step while ρ_t < 5
  c = base; c.amsgrad = true; cases.push_back(c);              // rectified + AMSGrad (max only in the plain branch)
  const GradFn grad = wiggly_grad;
  for (const auto& rc : cases) {
    for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
      optim::set_kernel_path(path);
      const std::vector<double> theta0 = {0.5, -1.0, 2.0};
      auto ps = scalars(theta0);
      auto opt = optim::make_optimizer("adabelief", as_options(rc), ps);
      const auto ours = drive(*opt, ps, 30, 1000, grad);
      const auto ref = ref_adabelief(rc, theta0, 30, grad);
      for (size_t t = 0; t < ref.size(); ++t) {
        for (size_t i = 0; i < ref[t].size(); ++i) {
          EXPECT_NEAR(ours[t][i], ref[t][i], kRelTolDouble * std::max(1.0, std::abs(ref[t][i])))
              << as_options(rc).dump() << " step " << t << " element " << i;
        }
      }
      EXPECT_NE(ours[30][0], ours[29][0]);
    }
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
}

// ρ_t < 5 without degenerated_to_sgd: the official code does not move θ (step_size = −1).
TEST(AdaBelief, RectifiedWarmupWithoutSgdFallbackDoesNotMove) {
  auto ps = scalars({0.5});
  auto opt = optim::make_optimizer("adabelief", {{"betas", {0.9, 0.9}}, {"degenerated_to_sgd", false}}, ps);
  const auto out = drive(*opt, ps, 5, 1000, wiggly_grad);  // ρ_1..ρ_5 < 5 at β2 = 0.9
  for (const auto& row : out) EXPECT_EQ(row[0], 0.5);
}

TEST(AdaBelief, DefaultsAreTheOfficialConstructorsAndListed) {
  const auto schema = optim::optimizer_schema("adabelief");
  nlohmann::json defaults;
  for (const auto& f : schema) defaults[f.name] = f.default_value;
  EXPECT_EQ(defaults["eps"].get<double>(), 1e-16);
  EXPECT_TRUE(defaults["rectify"].get<bool>());
  EXPECT_TRUE(defaults["weight_decouple"].get<bool>());
  const auto names = optim::registry_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "adabelief"), names.end());
}

}  // namespace
}  // namespace flatmin::test
