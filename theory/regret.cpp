#include "theory/regret.h"

#include "rules/miadam_rule.h"

#include <cmath>
#include <sstream>

#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/format.h"
#include "common/status.h"
#include "theory/escape.h"
#include "theory/rng.h"

namespace flatmin::theory {

std::string RegretOptimizer::label() const {
  if (name == "adam") return "adam";
  std::ostringstream s;
  s << "miadam1_kappa" << kappa;
  return s.str();
}

std::vector<std::int64_t> regret_checkpoints(std::int64_t T, int per_decade) {
  std::vector<std::int64_t> out;
  for (int i = 0;; ++i) {
    const auto t = static_cast<std::int64_t>(std::llround(std::pow(10.0, static_cast<double>(i) / per_decade)));
    if (t > T) break;
    if (out.empty() || t != out.back()) out.push_back(t);
  }
  if (out.back() != T) out.push_back(T);
  return out;
}

RegretConfig parse_regret_config(const nlohmann::json& cfg) {
  common::ConfigReader r(cfg, "regret");
  r.allow({"notes", "name"});
  RegretConfig c;
  c.problem = r.choice("problem", c.problem, {"quadratic", "noisy_quadratic"});
  c.target = r.number("target", c.target);
  c.sigma = r.number("sigma", c.sigma);
  c.a_width = r.number("a_width", c.a_width);
  c.theta0 = r.number("theta0", c.theta0);
  c.alpha = r.number("alpha", c.alpha);
  c.h = r.number("h", c.h);
  c.beta1 = r.number("beta1", c.beta1);
  c.lambda = r.number("lambda", c.lambda);
  c.beta2 = r.number("beta2", c.beta2);
  c.eps = r.number("eps", c.eps);
  const std::int64_t T = r.count("T", c.T), cpd = r.count("checkpoints_per_decade", c.checkpoints_per_decade),
                     reps = r.count("reps", c.reps), seed = r.integer("seed", static_cast<std::int64_t>(c.seed)),
                     thr = r.count("threads", c.threads);
  if (r.has("optimizers")) {
    const nlohmann::json opts = r.raw("optimizers", nlohmann::json::array());
    FLATMIN_CHECK(opts.is_array(), "regret: 'optimizers' must be an array of {name, kappa?}, got " << opts.dump());
    for (std::size_t i = 0; i < opts.size(); ++i) {
      common::ConfigReader o(opts[i], "regret: optimizers[" + std::to_string(i) + "]");
      o.allow({"name", "kappa"});
      o.finish();
      RegretOptimizer ro;
      FLATMIN_CHECK(o.has("name"), o.where() << ": each optimizer needs a name (adam or miadam1)");
      ro.name = o.choice("name", "adam", {"adam", "miadam1"});
      ro.kappa = o.number("kappa", 1.0);
      FLATMIN_CHECK(ro.kappa > 0 && ro.kappa <= 1, "kappa = " << ro.kappa << " violates 0 < kappa <= 1 (Theorem 2)");
      c.optimizers.push_back(ro);
    }
  } else {
    c.optimizers = {{"adam", 1.0}, {"miadam1", 1.0}, {"miadam1", 0.98}};
  }
  r.finish();
  FLATMIN_CHECK(c.alpha > 0, "alpha = " << c.alpha << " must be > 0");
  FLATMIN_CHECK(c.h >= 0 && c.h <= 1, "h = " << c.h << " must be in [0, 1]");
  FLATMIN_CHECK(c.beta1 >= 0 && c.beta1 < 1, "beta1 = " << c.beta1 << " must be in [0, 1)");
  FLATMIN_CHECK(c.beta2 > 0 && c.beta2 < 1, "beta2 = " << c.beta2 << " must be in (0, 1)");
  FLATMIN_CHECK(c.beta1 * c.beta1 / std::sqrt(c.beta2) < 1, "Theorem 2 needs beta1^2/sqrt(beta2) < 1");
  FLATMIN_CHECK(c.lambda > 0 && c.lambda <= 1, "lambda = " << c.lambda << " must be in (0, 1]");
  FLATMIN_CHECK(c.eps > 0, "eps must be > 0");
  FLATMIN_CHECK(c.sigma >= 0 && c.a_width >= 0 && c.a_width < 1, "need sigma >= 0 and 0 <= a_width < 1");
  FLATMIN_CHECK(T >= 10 && T <= 1000000000, "T = " << T << " must be an integer in [10, 1e9]");
  FLATMIN_CHECK(cpd >= 1 && cpd <= 100, "checkpoints_per_decade must be an integer in [1, 100]");
  FLATMIN_CHECK(reps >= 1 && reps <= 1000000, "reps = " << reps << " must be an integer in [1, 1e6]");
  FLATMIN_CHECK(seed >= 0, "seed must be a non-negative integer");
  FLATMIN_CHECK(thr >= 0 && thr <= common::limits::kThreads,
                "threads = " << thr << " must be an integer in [0, " << common::limits::kThreads << "] (0 = all cores)");
  FLATMIN_CHECK(c.problem == "noisy_quadratic" || reps == 1, "reps > 1 needs problem noisy_quadratic (quadratic is deterministic)");
  FLATMIN_CHECK(!c.optimizers.empty(), "optimizers is empty");
  c.T = T;
  c.checkpoints_per_decade = static_cast<int>(cpd);
  c.reps = static_cast<int>(reps);
  c.seed = static_cast<std::uint64_t>(seed);
  c.threads = static_cast<int>(thr);
  return c;
}

nlohmann::json to_json(const RegretConfig& c) {
  nlohmann::json opts = nlohmann::json::array();
  for (const auto& o : c.optimizers) opts.push_back(o.name == "adam" ? nlohmann::json{{"name", "adam"}} : nlohmann::json{{"name", o.name}, {"kappa", o.kappa}});
  return {{"problem", c.problem}, {"target", c.target}, {"sigma", c.sigma}, {"a_width", c.a_width}, {"theta0", c.theta0},
          {"alpha", c.alpha}, {"h", c.h}, {"beta1", c.beta1}, {"lambda", c.lambda}, {"beta2", c.beta2}, {"eps", c.eps},
          {"T", c.T}, {"checkpoints_per_decade", c.checkpoints_per_decade}, {"reps", c.reps}, {"seed", c.seed},
          {"threads", c.threads}, {"optimizers", opts}};
}

std::vector<double> regret_path(const RegretConfig& c, const RegretOptimizer& o, std::uint64_t rep,
                                const std::vector<std::int64_t>& checkpoints) {
  Xoshiro256pp rng(c.seed, rep);
  StdNormal z(rng);
  const bool noisy = c.problem == "noisy_quadratic";
  const bool mi = o.name == "miadam1";
  double th = c.theta0, m = 0, v = 0, b1 = 0, beta1_pow = 1, beta1_t = c.beta1 / c.lambda, beta2_pow = 1;
  // Σ f_t(θ_t) and the sufficient statistics of min_θ Σ ½a(θ−z)²: Σa, Σaz, Σaz² (Neumaier sums).
  long double loss = 0, Sa = 0, Saz = 0, Saz2 = 0;
  std::vector<double> out;
  std::size_t next = 0;
  for (std::int64_t t = 1; t <= c.T; ++t) {
    double zt = c.target, at = 1.0;
    if (noisy) {
      zt = c.target + c.sigma * z();
      at = 1.0 + c.a_width * (2.0 * (static_cast<double>(rng() >> 11) * 0x1.0p-53) - 1.0);
    }
    const double d = th - zt;
    loss += 0.5L * at * d * d;  // f_t(θ_t) (Eq. 16)
    Sa += at;
    Saz += static_cast<long double>(at) * zt;
    Saz2 += static_cast<long double>(at) * zt * zt;
    const double g = at * d;
    beta1_t *= c.lambda;  // β1,t = β1 λ^{t−1}
    const double alpha_t = c.alpha / std::pow(static_cast<double>(t), c.h);  // α_t = α/t^h
    beta1_pow *= c.beta1;
    beta2_pow *= c.beta2;
    // MIAdam's (or Adam's) step with Theorem 2's β1,t and α_t: the rule of rules/miadam_rule.h.
    rules::MIAdamCoeffs<double> k{};
    k.beta1 = beta1_t;
    k.one_minus_beta1 = 1 - beta1_t;
    k.beta2 = c.beta2;
    k.one_minus_beta2 = 1 - c.beta2;
    k.eps = c.eps;
    k.kappa = o.kappa;
    k.step_size = (mi ? alpha_t * alpha_t : alpha_t) / (1 - beta1_pow);  // official code: lr^{K+1} with K = 1
    k.sqrt_bc2 = std::sqrt(1 - beta2_pow);
    k.mi_phase = mi;
    rules::miadam_update<1, double>(th, g, m, v, nullptr, &b1, 1, k);
    if (next < checkpoints.size() && t == checkpoints[next]) {
      const long double minv = 0.5L * (Saz2 - Saz * Saz / Sa);
      out.push_back(static_cast<double>((loss - minv) / static_cast<long double>(t)));
      ++next;
      if (!std::isfinite(out.back())) {
        std::ostringstream where;
        where << "regret: " << o.label() << " R(t)/t = " << out.back() << " non-finite at t = " << t << " (rep " << rep << ")";
        throw common::DivergedError(where.str());
      }
    }
    if (!std::isfinite(th)) {
      std::ostringstream where;
      where << "regret: " << o.label() << " iterate theta = " << th << " non-finite at t = " << t << " (rep " << rep << ")";
      throw common::DivergedError(where.str());
    }
  }
  return out;
}

std::vector<RegretCurve> run_regret(const RegretConfig& c) {
  const auto cps = regret_checkpoints(c.T, c.checkpoints_per_decade);
  std::vector<RegretCurve> curves;
  for (const auto& o : c.optimizers) {
    std::vector<std::vector<double>> runs(static_cast<std::size_t>(c.reps));
    parallel_for_paths(c.reps, c.threads, [&](std::int64_t r) {
      runs[static_cast<std::size_t>(r)] = regret_path(c, o, static_cast<std::uint64_t>(r), cps);
    });
    RegretCurve cv;
    cv.opt = o;
    cv.t = cps;
    for (std::size_t i = 0; i < cps.size(); ++i) {
      double s = 0, s2 = 0;
      for (const auto& r : runs) {
        s += r[i];
        s2 += r[i] * r[i];
      }
      const double n = c.reps, mean = s / n;
      const double se = c.reps > 1 ? std::sqrt(std::max(0.0, (s2 - s * s / n) / (n - 1)) / n) : 0.0;
      cv.mean.push_back(mean);
      cv.lo.push_back(mean - 1.96 * se);
      cv.hi.push_back(mean + 1.96 * se);
    }
    curves.push_back(cv);
  }
  return curves;
}

void write_regret_csv(const std::vector<RegretCurve>& curves, const std::filesystem::path& file) {
  common::AtomicFile f(file);
  common::CsvWriter csv(f.stream(), {"t", "optimizer", "kappa", "R_over_T", "lo95", "hi95"});
  for (const auto& c : curves)
    for (std::size_t i = 0; i < c.t.size(); ++i)
      csv.row_strings({std::to_string(c.t[i]), c.opt.name, c.opt.name == "adam" ? "" : common::format_double(c.opt.kappa),
                       common::format_double(c.mean[i]), common::format_double(c.lo[i]), common::format_double(c.hi[i])});
  f.commit();
}

}  // namespace flatmin::theory
