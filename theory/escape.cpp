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

// theory.md §6 (continuous-time forms); layout x = [θ, m?, x_1..x_n].
template <std::size_t N>
struct DriftFn {
  const Coeffs* c;
  void operator()(const std::array<double, N>& x, std::array<double, N>& d, double /*t*/) const {
    const EscapeProblem& p = *c->p;
    const double th = x[0];
    const double F = p.landscape.grad(th);
    if constexpr (N == 1) {
      d[0] = -p.precond(th) * F;
    } else {
      const double C = p.noise_var(th);
      const double P = p.precond(th);
      std::size_t j = 1;
      double input = F;  // x_0 for the chain: m, or the mean gradient when β1 = 0
      if (c->has_m) {
        d[1] = momentum_rate(*c, C) * (F - x[1]);
        input = x[1];
        j = 2;
      }
      if (c->n == 0) {
        d[0] = -P * x[1];
      } else {
        for (std::size_t i = j; i < N; ++i) {
          d[i] = (input - c->leak * x[i]) * c->inv_eta;
          input = x[i];
        }
        d[0] = -c->eta_n * P * x[N - 1];
      }
    }
  }
};

template <std::size_t N>
struct NoiseFn {
  const Coeffs* c;
  StdNormal* normal;  // by pointer: copies of the system share the stream
  void operator()(const std::array<double, N>& x, std::array<double, N>& s, double /*t*/) const {
    const EscapeProblem& p = *c->p;
    const double th = x[0];
    const double C = p.noise_var(th);
    const double xi = (*normal)();  // ΔW/sqrt(dt): one draw per step
    if constexpr (N == 1) {
      s[0] = p.precond(th) * std::sqrt(c->eta * C) * xi;
    } else {
      s.fill(0.0);
      if (c->has_m) s[1] = momentum_rate(*c, C) * std::sqrt(c->eta * C) * xi;
      else s[1] = std::sqrt(C * c->inv_eta) * xi;  // raw minibatch noise entering x_1 (β1 = 0 chain)
    }
  }
};

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
  parallel_for_paths(
      run.paths, run.threads,
      [&](std::int64_t i) {
        r.times[static_cast<std::size_t>(i)] = simulate_escape_path(p, run.seed, static_cast<std::uint64_t>(i),
                                                                    &steps[static_cast<std::size_t>(i)]);
      },
      prog ? std::function<void(std::int64_t)>([&](std::int64_t d) { prog->update(d); }) : std::function<void(std::int64_t)>());
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
