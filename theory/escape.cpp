#include "theory/escape.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/progress.h"
#include "theory/rng.h"
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

/// Drift functor of the odeint system (`.first`): W paths of N components.
template <std::size_t N, std::size_t W = 1>
struct DriftFn {
  const Coeffs* c;
  void operator()(const std::array<double, N * W>& x, std::array<double, N * W>& d, double /*t*/) const {
    for (std::size_t l = 0; l < W; ++l) drift_at<N>(*c, x.data() + l, d.data() + l, W);
  }
};

/// Noise functor (`.second`): draws ξ ~ N(0,1) once per step for each lane from that lane's own
/// stream (held by pointer, so odeint's copies of the system share the streams).
template <std::size_t N, std::size_t W = 1>
struct NoiseFn {
  const Coeffs* c;
  StdNormal* normal;  // W normals, one per lane
  void operator()(const std::array<double, N * W>& x, std::array<double, N * W>& s, double /*t*/) const {
    for (std::size_t l = 0; l < W; ++l) noise_at<N>(*c, x.data() + l, s.data() + l, W, normal[l]());
  }
};

/// Lanes per batch: independent paths stepped together so their latency chains overlap.
constexpr std::size_t kLanes = 8;

/// A worker: runs paths taken one by one from `next` in kLanes lanes until none are left.
/// Each path i uses Xoshiro256pp(seed, i), so its result does not depend on lane, batch or thread.
template <std::size_t N>
void run_batch(const EscapeProblem& p, const Coeffs& c, std::uint64_t seed, std::int64_t paths, std::atomic<std::int64_t>& next,
               std::atomic<std::int64_t>& done, std::vector<double>& times, std::vector<std::int64_t>& steps) {
  constexpr std::size_t W = kLanes;
  std::array<Xoshiro256pp, W> rngs{Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0),
                                   Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0)};
  std::vector<StdNormal> normals;
  for (auto& r : rngs) normals.emplace_back(r);
  std::array<double, N * W> x{};
  std::array<std::int64_t, W> path{}, k{};
  const double m0 = p.landscape.grad(p.start);
  auto start_lane = [&](std::size_t l) {
    const std::int64_t i = next.fetch_add(1);
    path[l] = i < paths ? i : -1;
    k[l] = 0;
    rngs[l] = Xoshiro256pp(seed, static_cast<std::uint64_t>(path[l] < 0 ? 0 : path[l]));
    for (std::size_t j = 0; j < N; ++j) x[j * W + l] = 0.0;
    x[l] = p.start;
    if constexpr (N > 1) if (c.has_m) x[W + l] = m0;  // m starts at the mean gradient (0 at a minimum)
  };
  std::size_t active = 0;
  for (std::size_t l = 0; l < W; ++l) {
    start_lane(l);
    active += path[l] >= 0;
  }
  auto system = std::make_pair(DriftFn<N, W>{&c}, NoiseFn<N, W>{&c, normals.data()});
  const StochasticEuler<N * W> stepper;
  const double dt = p.dt, absorb = p.absorb;
  const auto max_steps = static_cast<std::int64_t>(std::ceil(p.t_max / dt));
  while (active > 0) {
    stepper.do_step(system, x, 0.0, dt);
    for (std::size_t l = 0; l < W; ++l) {
      if (path[l] < 0) {
        x[l] = p.start;  // idle lane: keep it harmless
        continue;
      }
      ++k[l];
      const bool exited = x[l] >= absorb;
      if (!std::isfinite(x[l])) throw std::runtime_error("escape path diverged (non-finite state); reduce dt");
      if (exited || k[l] >= max_steps) {
        const auto i = static_cast<std::size_t>(path[l]);
        times[i] = static_cast<double>(k[l]) * dt;
        steps[i] = exited ? k[l] : -k[l];  // negative: censored at t_max
        done.fetch_add(1);
        start_lane(l);
        if (path[l] < 0) --active;
      }
    }
  }
}

template <std::size_t N>
double run_path(const EscapeProblem& p, const Coeffs& c, std::uint64_t seed, std::uint64_t path, std::int64_t* steps_out) {
  Xoshiro256pp rng(seed, path);
  StdNormal normal(rng);
  std::array<double, N> x{};
  x[0] = p.start;
  if constexpr (N > 1) if (c.has_m) x[1] = p.landscape.grad(p.start);  // m starts at the mean gradient (0 at a minimum)
  auto system = std::make_pair(DriftFn<N>{&c}, NoiseFn<N>{&c, &normal});
  const StochasticEuler<N> stepper;
  const double dt = p.dt, absorb = p.absorb;
  const auto max_steps = static_cast<std::int64_t>(std::ceil(p.t_max / dt));
  std::int64_t k = 0;
  while (k < max_steps) {
    stepper.do_step(system, x, static_cast<double>(k) * dt, dt);
    ++k;
    if (x[0] >= absorb) break;
    if (!std::isfinite(x[0])) throw std::runtime_error("escape path diverged (non-finite state); reduce dt");
  }
  // Convention: *steps_out = k for an escaped path, −k for a censored one (no exit by t_max).
  if (steps_out) *steps_out = x[0] >= absorb ? k : -k;
  return static_cast<double>(k) * dt;
}

}  // namespace

double simulate_escape_path(const EscapeProblem& p, std::uint64_t seed, std::uint64_t path, std::int64_t* steps) {
  const Coeffs c = make_coeffs(p);
  switch (p.state_dim()) {
    case 1: return run_path<1>(p, c, seed, path, steps);
    case 2: return run_path<2>(p, c, seed, path, steps);
    case 3: return run_path<3>(p, c, seed, path, steps);
    case 4: return run_path<4>(p, c, seed, path, steps);
    case 5: return run_path<5>(p, c, seed, path, steps);
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
  EscapeRun r;
  auto num = [&](const char* key, double def) {
    if (!cfg.contains(key)) return def;
    FLATMIN_CHECK(cfg.at(key).is_number(), "config key '" << key << "' must be a number");
    const double v = cfg.at(key).get<double>();
    FLATMIN_CHECK(std::isfinite(v) && v == std::floor(v), "config key '" << key << "' must be an integer, got " << v);
    return v;
  };
  const double paths = num("paths", 400), seed = num("seed", 1), threads = num("threads", 0), sp = num("survival_points", 101);
  FLATMIN_CHECK(paths >= 2 && paths <= 1e9, "paths = " << paths << " must be in [2, 1e9]");
  FLATMIN_CHECK(seed >= 0 && seed < 1.8e19, "seed = " << seed << " must be a non-negative integer");
  FLATMIN_CHECK(threads >= 0 && threads <= 1024, "threads = " << threads << " must be in [0, 1024] (0 = all cores)");
  FLATMIN_CHECK(sp >= 2 && sp <= 1e6, "survival_points = " << sp << " must be in [2, 1e6]");
  r.paths = static_cast<std::int64_t>(paths);
  r.seed = static_cast<std::uint64_t>(seed);
  r.threads = static_cast<int>(threads);
  r.survival_points = static_cast<int>(sp);
  return r;
}

EscapeResult run_escape_mc(const EscapeProblem& p, const EscapeRun& run) {
  FLATMIN_CHECK(run.paths >= 2, "paths = " << run.paths << " must be >= 2");
  FLATMIN_CHECK(run.survival_points >= 2, "survival_points must be >= 2");
  EscapeResult r;
  r.times.assign(static_cast<std::size_t>(run.paths), 0.0);
  std::vector<std::int64_t> steps(static_cast<std::size_t>(run.paths), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<common::Progress> prog;
  if (run.progress) prog = std::make_unique<common::Progress>("escape-time paths", run.paths, 10.0);
  const Coeffs c = make_coeffs(p);
  std::atomic<std::int64_t> next{0}, done{0};
  auto worker = [&]() {
    switch (p.state_dim()) {
      case 1: run_batch<1>(p, c, run.seed, run.paths, next, done, r.times, steps); break;
      case 2: run_batch<2>(p, c, run.seed, run.paths, next, done, r.times, steps); break;
      case 3: run_batch<3>(p, c, run.seed, run.paths, next, done, r.times, steps); break;
      case 4: run_batch<4>(p, c, run.seed, run.paths, next, done, r.times, steps); break;
      case 5: run_batch<5>(p, c, run.seed, run.paths, next, done, r.times, steps); break;
      default: throw std::logic_error("state dimension out of range");
    }
  };
  const int nt = run.threads > 0 ? run.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::exception_ptr error;
  std::mutex mu;
  std::atomic<bool> failed{false};
  auto guarded = [&]() {
    try {
      worker();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      failed = true;
      next.store(run.paths);  // let the other workers stop taking paths
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < nt; ++i) pool.emplace_back(guarded);
  while (prog && done.load() < run.paths && !failed.load()) {
    prog->update(done.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  if (prog) prog->finish();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double sum = 0, sum2 = 0;
  for (std::size_t i = 0; i < r.times.size(); ++i) {
    sum += r.times[i];
    sum2 += r.times[i] * r.times[i];
    r.particle_steps += static_cast<double>(std::abs(steps[i]));
    (steps[i] < 0 ? r.censored : r.escaped)++;
  }
  const double n = static_cast<double>(run.paths);
  r.mean = sum / n;
  const double var = std::max(0.0, (sum2 - sum * sum / n) / (n - 1));
  r.stderr_ = std::sqrt(var / n);
  std::vector<double> sorted = r.times;
  std::sort(sorted.begin(), sorted.end());
  r.median = sorted[sorted.size() / 2];
  const double tmax = sorted.back();
  for (int i = 0; i < run.survival_points; ++i) {
    const double t = i == run.survival_points - 1 ? tmax : tmax * i / (run.survival_points - 1);
    const auto escaped_by_t = std::upper_bound(sorted.begin(), sorted.end(), t) - sorted.begin();
    r.survival_t.push_back(t);
    r.survival_s.push_back(1.0 - static_cast<double>(escaped_by_t) / n);
  }
  return r;
}

}  // namespace flatmin::theory
