#include "theory/yang_escape.h"

#include "rules/miadam_rule.h"

#include <cmath>
#include <vector>

#include <Eigen/Dense>

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "theory/escape.h"
#include "theory/landscape.h"
#include "theory/rng.h"

namespace flatmin::theory {

YangEscapeConfig parse_yang_escape(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "yang escape");
  YangEscapeConfig c;
  c.optimizer = r.choice("optimizer", c.optimizer, {"adam", "miadam1"});
  c.noise = r.choice("noise", c.noise, {"fixed", "local"});
  c.lr = r.number("lr", c.lr);
  c.beta1 = r.number("beta1", c.beta1);
  c.beta2 = r.number("beta2", c.beta2);
  c.eps = r.number("eps", c.eps);
  c.kappa = r.number("kappa", c.kappa);
  c.delta = r.number("delta", c.delta);
  const std::int64_t paths = r.count("paths", c.paths), ms = r.count("max_steps", c.max_steps),
                     seed = r.integer("seed", static_cast<std::int64_t>(c.seed)), th = r.count("threads", c.threads);
  r.finish();
  FLATMIN_CHECK(c.lr > 0 && c.delta > 0, "yang: need lr > 0 and delta > 0");
  FLATMIN_CHECK(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 > 0 && c.beta2 < 1 && c.eps > 0, "yang: betas/eps out of range");
  FLATMIN_CHECK(c.kappa > 0 && c.kappa <= 1, "yang: kappa = " << c.kappa << " violates 0 < kappa <= 1");
  FLATMIN_CHECK(paths >= 2 && ms >= 1 && seed >= 0 && th >= 0, "yang: paths >= 2, max_steps >= 1, seed >= 0, threads >= 0 (integers)");
  namespace lim = common::limits;
  r.require(paths <= lim::kPaths, "paths", paths, "<= " + common::format_count(lim::kPaths));
  r.require(ms <= lim::kSteps, "max_steps", ms, "<= " + common::format_count(lim::kSteps));
  r.require(th <= lim::kThreads, "threads", th, "<= " + std::to_string(lim::kThreads));
  c.paths = paths;
  c.max_steps = ms;
  c.seed = static_cast<std::uint64_t>(seed);
  c.threads = static_cast<int>(th);
  return c;
}

YangEscapeResult run_yang_escape(const YangEscapeConfig& c) {
  // geometry from the located critical points (never hard-coded)
  const auto named = Yang2020::named_points();
  const Eigen::Vector2d xa = named.a.x, xu = named.u.x;
  Eigen::Vector2d e = named.u.eigenvectors.col(0);
  if (e.dot(named.b.x - xu) < 0) e = -e;
  const Eigen::Matrix2d La = (Yang2020::hess(xa) / c.delta).llt().matrixL();
  std::vector<double> steps(static_cast<std::size_t>(c.paths));
  std::vector<char> cens(static_cast<std::size_t>(c.paths), 0);
  parallel_for_paths(c.paths, c.threads, [&](std::int64_t p) {
    Xoshiro256pp rng(c.seed, static_cast<std::uint64_t>(p));
    StdNormal z(rng);
    Eigen::Vector2d th = xa, m = Eigen::Vector2d::Zero(), v = Eigen::Vector2d::Zero(), buf = Eigen::Vector2d::Zero();
    double b1p = 1, b2p = 1;
    std::int64_t t = 0;
    bool out = false;
    while (t < c.max_steps) {
      ++t;
      Eigen::Vector2d xi(z(), z());
      if (c.noise == "fixed") {
        xi = La * xi;
      } else {  // |H(θ)|/δ
        Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> es(Yang2020::hess(th));
        xi = es.eigenvectors() * (es.eigenvalues().cwiseAbs() / c.delta).cwiseSqrt().cwiseProduct(xi);
      }
      const Eigen::Vector2d g = Yang2020::grad(th) + xi;
      b1p *= c.beta1;
      b2p *= c.beta2;
      // Adam / MIAdam1's step per coordinate: the rule of rules/miadam_rule.h (official lr^{K+1}, K = 1).
      rules::MIAdamCoeffs<double> k{};
      k.beta1 = c.beta1;
      k.one_minus_beta1 = 1 - c.beta1;
      k.beta2 = c.beta2;
      k.one_minus_beta2 = 1 - c.beta2;
      k.eps = c.eps;
      k.kappa = c.kappa;
      k.mi_phase = c.optimizer != "adam";
      k.step_size = (k.mi_phase ? c.lr * c.lr : c.lr) / (1 - b1p);
      k.sqrt_bc2 = std::sqrt(1 - b2p);
      for (int i = 0; i < 2; ++i) rules::miadam_update<1, double>(th[i], g[i], m[i], v[i], nullptr, &buf[i], 1, k);
      if ((th - xu).dot(e) > 0) {
        out = true;
        break;
      }
      if (!th.allFinite()) break;
    }
    steps[static_cast<std::size_t>(p)] = static_cast<double>(t);
    cens[static_cast<std::size_t>(p)] = out ? 0 : 1;
  });
  YangEscapeResult r;
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    s += steps[i];
    s2 += steps[i] * steps[i];
    r.censored += cens[i];
  }
  const double n = static_cast<double>(c.paths);
  r.mean_steps = s / n;
  r.stderr_steps = std::sqrt(std::max(0.0, (s2 - s * s / n) / (n - 1)) / n);
  r.mean_time = c.lr * r.mean_steps;
  r.stderr_time = c.lr * r.stderr_steps;
  return r;
}

}  // namespace flatmin::theory
