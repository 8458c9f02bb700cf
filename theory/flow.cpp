#include "theory/flow.h"

#include <cmath>
#include <sstream>

#include <boost/numeric/odeint.hpp>

#include "common/error.h"
#include "common/status.h"

namespace flatmin::theory {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;

FlowTrajectory integrate_flow(const GradFn& grad, const Eigen::VectorXd& theta0, double t_end, double t_out,
                              const FlowOptions& o) {
  FLATMIN_CHECK(o.dynamics == "sgd" || o.dynamics == "momentum" || o.dynamics == "adam" || o.dynamics == "miadam",
                "flow dynamics '" << o.dynamics << "' is not one of sgd, momentum, adam, miadam");
  FLATMIN_CHECK(o.lr > 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 > 0 && o.beta2 < 1 && o.eps >= 0,
                "flow options out of range (lr > 0, 0 <= beta1 < 1, 0 < beta2 < 1, eps >= 0)");
  FLATMIN_CHECK(o.kappa > 0 && o.kappa <= 1 && o.order >= 1 && o.order <= 3, "flow: need 0 < kappa <= 1 and order 1..3");
  FLATMIN_CHECK(t_end > o.lr && t_out > 0, "flow: need t_end > lr and t_out > 0");
  const int d = static_cast<int>(theta0.size());
  const bool has_m = o.dynamics != "sgd", has_v = o.dynamics == "adam" || o.dynamics == "miadam";
  const int n = o.dynamics == "miadam" ? o.order : 0;
  const int blocks = 1 + (has_m ? 1 : 0) + (has_v ? 1 : 0) + n;  // θ, m, v, x_1..x_n
  const double dt = o.lr, alpha_pow = std::pow(o.lr, n + 1);
  // state after the first discrete step (t0 = Δt)
  State x(static_cast<std::size_t>(blocks * d), 0.0);
  const Eigen::VectorXd g0 = grad(theta0);
  for (int i = 0; i < d; ++i) {
    x[static_cast<std::size_t>(i)] = theta0[i];
    int b = 1;
    if (has_m) x[static_cast<std::size_t>(b++ * d + i)] = (1 - o.beta1) * g0[i];
    if (has_v) x[static_cast<std::size_t>(b++ * d + i)] = (1 - o.beta2) * g0[i] * g0[i];
    for (int j = 0; j < n; ++j) x[static_cast<std::size_t>((b + j) * d + i)] = (1 - o.beta1) * g0[i];
  }
  // theory.md §6 continuous-time forms
  auto rhs = [&](const State& s, State& ds, double t) {
    Eigen::VectorXd th(d);
    for (int i = 0; i < d; ++i) th[i] = s[static_cast<std::size_t>(i)];
    const Eigen::VectorXd g = grad(th);
    const double steps = t / dt;
    const double b1 = 1 - std::pow(o.beta1, steps), b2 = 1 - std::pow(o.beta2, steps);
    for (int i = 0; i < d; ++i) {
      const auto at = [&](int block) { return static_cast<std::size_t>(block * d + i); };
      if (!has_m) {
        ds[at(0)] = -g[i];
        continue;
      }
      const double m = s[at(1)];
      ds[at(1)] = (1 - o.beta1) / dt * (g[i] - m);
      if (!has_v) {
        ds[at(0)] = -m;
        continue;
      }
      const double v = s[at(2)];
      ds[at(2)] = (1 - o.beta2) / dt * (g[i] * g[i] - v);
      const double denom = std::sqrt(std::max(v, 0.0) / b2) + o.eps;
      double input = m;
      for (int j = 0; j < n; ++j) {
        ds[at(3 + j)] = (input - (1 - o.kappa) * s[at(3 + j)]) / dt;
        input = s[at(3 + j)];
      }
      const double num = n == 0 ? m : s[at(3 + n - 1)];
      ds[at(0)] = -(n == 0 ? o.lr : alpha_pow) / dt * (num / b1) / denom;
    }
  };
  FlowTrajectory out;
  auto observer = [&](const State& s, double t) {
    Eigen::VectorXd th(d);
    for (int i = 0; i < d; ++i) th[i] = s[static_cast<std::size_t>(i)];
    if (!th.allFinite()) {
      std::ostringstream where;
      where << "flow: iterate non-finite at t = " << t << " (step " << t / dt << ")";
      throw common::DivergedError(where.str());
    }
    out.t.push_back(t);
    out.theta.push_back(th);
  };
  auto stepper = odeint::make_dense_output(o.abs_tol, o.rel_tol, odeint::runge_kutta_dopri5<State>());
  odeint::integrate_const(stepper, rhs, x, dt, t_end, t_out, observer);
  if (out.t.empty() || out.t.back() < t_end - 1e-12 * t_end) {
    // integrate_const stops at the last multiple of t_out: finish exactly at t_end
    const double t_last = out.t.empty() ? dt : out.t.back();
    odeint::integrate_adaptive(odeint::make_controlled(o.abs_tol, o.rel_tol, odeint::runge_kutta_dopri5<State>()), rhs, x,
                               t_last, t_end, t_out / 10);
    observer(x, t_end);
  }
  return out;
}

}  // namespace flatmin::theory
