// Noise-free continuous-time flows (theory/flow.h) against closed forms and the discrete optimizers.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "common/error.h"
#include "theory/flow.h"
#include "theory/landscape.h"

namespace flatmin::theory {
namespace {

// Discrete Adam / MIAdam1 (official form, optimizers.md §12.2) on a separable problem.
double discrete(const std::string& name, double lr, int steps, double kappa, double theta0, double lambda) {
  double th = theta0, m = 0, v = 0, b = 0;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (int t = 1; t <= steps; ++t) {
    const double g = lambda * (th - 1.0);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double bc1 = 1 - std::pow(b1, t), denom = std::sqrt(v) / std::sqrt(1 - std::pow(b2, t)) + eps;
    if (name == "adam") {
      th -= lr / bc1 * m / denom;
    } else {
      b = kappa * b + m;
      th -= lr * lr / bc1 * b / denom;
    }
  }
  return th;
}

TEST(Flow, GradientFlowOnQuadraticIsExponential) {
  const double lambda = 3.0;
  auto grad = [&](const Eigen::VectorXd& x) { return Eigen::VectorXd(lambda * x); };
  FlowOptions o;
  o.dynamics = "sgd";
  o.lr = 0.01;
  const auto tr = integrate_flow(grad, Eigen::VectorXd::Constant(1, 2.0), 2.0, 0.25, o);
  ASSERT_GE(tr.t.size(), 8u);
  for (std::size_t i = 0; i < tr.t.size(); ++i)
    EXPECT_NEAR(tr.theta[i][0], 2.0 * std::exp(-lambda * (tr.t[i] - o.lr)), 1e-7) << tr.t[i];
  EXPECT_NEAR(tr.t.back(), 2.0, 1e-12);
}

TEST(Flow, AdamAndMIAdamOdeTrackDiscreteIteratesAtSmallLr) {
  auto grad = [](const Eigen::VectorXd& x) { return Eigen::VectorXd(2.0 * (x.array() - 1.0)); };
  for (const std::string name : {"adam", "miadam"}) {
    double prev_err = 0;
    for (double lr : {4e-3, 2e-3, 1e-3}) {
      const int steps = static_cast<int>(std::lround((name == "adam" ? 0.5 : 0.02) / (lr * (name == "adam" ? 1.0 : lr)) ));
      FlowOptions o;
      o.dynamics = name;
      o.lr = lr;
      o.kappa = 0.9;
      const double t_end = steps * lr;
      const auto tr = integrate_flow(grad, Eigen::VectorXd::Zero(1), t_end, t_end / 4, o);
      const double d = discrete(name, lr, steps, 0.9, 0.0, 2.0);
      const double err = std::abs(tr.theta.back()[0] - d);
      std::cout << "  " << name << " lr " << lr << " steps " << steps << ": ode " << tr.theta.back()[0] << " discrete " << d
                << " |diff| " << err << "\n";
      EXPECT_GT(std::abs(d), 0.05);  // it moved
      if (prev_err > 0) {
        EXPECT_LT(err, 0.75 * prev_err) << name << " lr " << lr;  // first-order convergence in lr
      }
      prev_err = err;
    }
  }
}

TEST(Flow, GradientFlowOnYangEndsAtAMinimum) {
  auto grad = [](const Eigen::VectorXd& x) { return Eigen::VectorXd(Yang2020::grad(Eigen::Vector2d(x[0], x[1]))); };
  FlowOptions o;
  o.dynamics = "sgd";
  o.lr = 0.01;
  const auto tr = integrate_flow(grad, Eigen::Vector2d(5.0, 5.0), 20.0, 1.0, o);
  const Eigen::Vector2d end(tr.theta.back()[0], tr.theta.back()[1]);
  // it ends (to the ODE tolerance) at one of the minima found independently by critical_points()
  double best = 1e300;
  int index = -1;
  for (const auto& c : Yang2020::critical_points(6.0)) {
    const double dist = (c.x - Eigen::VectorXd(end)).norm();
    if (dist < best) { best = dist; index = c.index; }
  }
  EXPECT_LT(best, 1e-6);
  EXPECT_EQ(index, 0);
  EXPECT_NEAR(end[0], 0.5, 1e-6);  // a sharp minimum on the x = 0.5 branch (theory.md §11.3)
}

TEST(Flow, BadOptions) {
  auto grad = [](const Eigen::VectorXd& x) { return x; };
  FlowOptions o;
  o.dynamics = "lion";
  EXPECT_THROW(integrate_flow(grad, Eigen::VectorXd::Zero(1), 1.0, 0.1, o), common::InputError);
}

}  // namespace
}  // namespace flatmin::theory

#include "theory/yang_escape.h"

namespace flatmin::theory {
namespace {

// Theorem 1's qualitative claim on the paper's landscape (theory.md §9): discrete MIAdam1 (κ = 1, no
// switch) leaves the sharp minimum a+ of Yang 2020 towards the flat minimum faster than Adam.
TEST(YangEscape, MIAdam1EscapesFasterThanAdam) {
  auto cfg = parse_yang_escape({{"optimizer", "adam"}, {"lr", 0.05}, {"delta", 0.02}, {"paths", 100}, {"seed", 4}});
  const auto adam = run_yang_escape(cfg);
  cfg.optimizer = "miadam1";
  const auto mi = run_yang_escape(cfg);
  EXPECT_EQ(adam.censored, 0);
  EXPECT_EQ(mi.censored, 0);
  EXPECT_LT(mi.mean_time + 3 * mi.stderr_time, adam.mean_time - 3 * adam.stderr_time);
  EXPECT_THROW(parse_yang_escape({{"kappa", 0.0}}), common::InputError);
}

}  // namespace
}  // namespace flatmin::theory
