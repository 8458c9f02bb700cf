#include "theory/escape.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/progress.h"
#include "theory/rng.h"
#include "theory/lane_engine.h"
#include "theory/sde_stepper.h"

namespace flatmin::theory {

namespace {

/// Precomputed constants of the problem, shared by the two functors of the odeint system.
struct Coeffs {
  const EscapeProblem* p;
  bool has_m;
  int n;
  double eta, inv_eta, leak, eta_n, r_const, vbar;
};

Coeffs make_coeffs(const EscapeProblem& p) {
  Coeffs c{&p, p.has_momentum(), p.chain(), p.lr, 1.0 / p.lr, 1.0 - p.kappa, std::pow(p.lr, p.chain()),
           (1.0 - p.beta1) / p.lr, p.adai_vbar()};
  return c;
}

inline double momentum_rate(const Coeffs& c, double C) {
  if (c.p->dynamics != DynamicsType::Adai) return c.r_const;
  // Adai (optimizers.md §10): 1 − β1 = clamp(β0·v̂/v̄, ε, 1) with v̂ ≈ C(θ).
  const double one_minus_b1 = std::clamp(c.p->beta0 * C / c.vbar, c.p->adai_eps, 1.0);
  return one_minus_b1 * c.inv_eta;
}

// theory.md §6 (continuous-time forms). One path's state has N components [θ, m?, x_1..x_n]; a
// batch of W paths is stored component-major (component j of lane l at j·W + l), so a lane is read
// with stride W. The same per-lane code serves the single-path (W = 1) and batched systems.
template <std::size_t N>
inline void drift_at(const Coeffs& c, const double* x, double* d, std::size_t w) {
  const EscapeProblem& p = *c.p;
  const double th = x[0];
  const double F = p.landscape.grad(th);
  if constexpr (N == 1) {
    d[0] = -p.precond(th) * F;
  } else {
    const double C = p.noise_var(th);
    const double P = p.precond(th);
    std::size_t j = 1;
    double input = F;  // x_0 for the chain: m, or the mean gradient when β1 = 0
    if (c.has_m) {
      d[w] = momentum_rate(c, C) * (F - x[w]);
      input = x[w];
      j = 2;
    }
    if (c.n == 0) {
      d[0] = -P * x[w];
    } else {
      for (std::size_t i = j; i < N; ++i) {
        d[i * w] = (input - c.leak * x[i * w]) * c.inv_eta;
        input = x[i * w];
      }
      d[0] = -c.eta_n * P * x[(N - 1) * w];
    }
  }
}

template <std::size_t N>
inline void noise_at(const Coeffs& c, const double* x, double* s, std::size_t w, double xi) {
  const EscapeProblem& p = *c.p;
  const double th = x[0];
  const double C = p.noise_var(th);
  if constexpr (N == 1) {
    s[0] = p.precond(th) * std::sqrt(c.eta * C) * xi;
  } else {
    for (std::size_t i = 0; i < N; ++i) s[i * w] = 0.0;
    if (c.has_m) s[w] = momentum_rate(c, C) * std::sqrt(c.eta * C) * xi;
    else s[w] = std::sqrt(C * c.inv_eta) * xi;  // raw minibatch noise entering x_1 (β1 = 0 chain)
  }
}

/// The 1-D problem as a lane-engine model (lane_engine.h): N state components, one normal per step.
template <std::size_t S>
struct Model1D {
  static constexpr std::size_t N = S;
  static constexpr std::size_t K = 1;
  const EscapeProblem* p;
  const Coeffs* c;
  double dt, t_max, absorb, absorb_below, start, m0;
  Model1D(const EscapeProblem& prob, const Coeffs& co)
      : p(&prob), c(&co), dt(prob.dt), t_max(prob.t_max), absorb(prob.absorb), absorb_below(prob.absorb_below), start(prob.start),
        m0(prob.landscape.grad(prob.start)) {}
  void init(double* x, std::size_t w) const {
    for (std::size_t j = 0; j < S; ++j) x[j * w] = 0.0;
    x[0] = start;
    if constexpr (S > 1) if (c->has_m) x[w] = m0;  // m starts at the mean gradient (0 at a minimum)
  }
  void idle(double* x, std::size_t /*w*/) const { x[0] = start; }
  void drift(const double* x, double* d, std::size_t w) const { drift_at<S>(*c, x, d, w); }
  void noise(const double* x, double* s, std::size_t w, const double* xi) const { noise_at<S>(*c, x, s, w, xi[0]); }
  bool exited(const double* x, std::size_t /*w*/) const { return x[0] >= absorb || x[0] <= absorb_below; }
  bool finite(const double* x, std::size_t /*w*/) const { return std::isfinite(x[0]); }
};

}  // namespace

double simulate_escape_path(const EscapeProblem& p, std::uint64_t seed, std::uint64_t path, std::int64_t* steps) {
  const Coeffs c = make_coeffs(p);
  switch (p.state_dim()) {
    case 1: return detail::run_single(Model1D<1>(p, c), seed, path, steps);
    case 2: return detail::run_single(Model1D<2>(p, c), seed, path, steps);
    case 3: return detail::run_single(Model1D<3>(p, c), seed, path, steps);
    case 4: return detail::run_single(Model1D<4>(p, c), seed, path, steps);
    case 5: return detail::run_single(Model1D<5>(p, c), seed, path, steps);
    default: throw std::logic_error("state dimension out of range");
  }
}

void parallel_for_paths(std::int64_t n, int threads, const std::function<void(std::int64_t)>& work,
                        const std::function<void(std::int64_t)>& tick) {
  const int nt = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<std::int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mu;
  const std::int64_t chunk = std::max<std::int64_t>(1, std::min<std::int64_t>(16, n / (8 * nt) + 1));
  auto worker = [&]() {
    try {
      for (;;) {
        const std::int64_t b = next.fetch_add(chunk);
        if (b >= n || failed.load()) break;
        const std::int64_t e = std::min(n, b + chunk);
        for (std::int64_t i = b; i < e; ++i) work(i);
        done.fetch_add(e - b);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < nt; ++i) pool.emplace_back(worker);
  if (tick) {
    // The calling thread reports progress and also works when there is only one thread.
    if (nt == 1) {
      worker();
    } else {
      while (done.load() < n && !failed.load()) {
        tick(done.load());
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    tick(done.load());
  } else {
    worker();
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

EscapeRun parse_escape_run(const nlohmann::json& cfg) {
  common::ConfigReader c(cfg, "escape-time");
  EscapeRun r;
  const std::int64_t paths = c.count("paths", r.paths), seed = c.integer("seed", static_cast<std::int64_t>(r.seed)),
                     threads = c.count("threads", r.threads), sp = c.count("survival_points", r.survival_points);
  c.require(paths >= 2 && paths <= common::limits::kPaths, "paths", paths, "in [2, " + common::format_count(common::limits::kPaths) + "]");
  c.require(seed >= 0, "seed", seed, "a non-negative integer");
  c.require(threads >= 0 && threads <= common::limits::kThreads, "threads", threads,
            "in [0, " + std::to_string(common::limits::kThreads) + "] (0 = all cores)");
  c.require(sp >= 2 && sp <= 1000000, "survival_points", sp, "in [2, 1e6]");
  r.paths = paths;
  r.seed = static_cast<std::uint64_t>(seed);
  r.threads = static_cast<int>(threads);
  r.survival_points = static_cast<int>(sp);
  return r;
}

EscapeResult run_escape_mc(const EscapeProblem& p, const EscapeRun& run) {
  const Coeffs c = make_coeffs(p);
  return detail::run_mc(run, [&](std::atomic<std::int64_t>& next, std::atomic<std::int64_t>& done, std::vector<double>& times,
                                 std::vector<std::int64_t>& steps) {
    switch (p.state_dim()) {
      case 1: detail::run_lanes(Model1D<1>(p, c), run.seed, run.paths, next, done, times, steps); break;
      case 2: detail::run_lanes(Model1D<2>(p, c), run.seed, run.paths, next, done, times, steps); break;
      case 3: detail::run_lanes(Model1D<3>(p, c), run.seed, run.paths, next, done, times, steps); break;
      case 4: detail::run_lanes(Model1D<4>(p, c), run.seed, run.paths, next, done, times, steps); break;
      case 5: detail::run_lanes(Model1D<5>(p, c), run.seed, run.paths, next, done, times, steps); break;
      default: throw std::logic_error("state dimension out of range");
    }
  });
}

}  // namespace flatmin::theory
