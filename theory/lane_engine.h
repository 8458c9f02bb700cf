#pragma once
/// \file
/// The batched first-passage engine shared by the 1-D (escape.cpp) and the d-dimensional
/// (escape_nd.cpp) Monte Carlo: kLanes independent paths are stepped together by the odeint custom
/// stepper StochasticEuler (so their latency chains overlap), each lane taking paths one by one
/// from a shared counter; path i always uses the stream Xoshiro256pp(seed, i), so its result
/// depends neither on lane, batch nor thread count. Internal header (theory/ only).
///
/// A Model provides
///   static constexpr std::size_t N;   state components of one path
///   static constexpr std::size_t K;   N(0,1) draws per path per step
///   void init(double* x, std::size_t w) const;     start state of a lane (component j at x[j·w])
///   void idle(double* x, std::size_t w) const;     keep an idle lane harmless
///   void drift(const double* x, double* d, std::size_t w) const;
///   void noise(const double* x, double* s, std::size_t w, const double* xi) const;  s = g(x)·ξ
///   bool exited(const double* x, std::size_t w) const;   absorbing criterion
///   bool finite(const double* x, std::size_t w) const;
///   double dt, t_max;

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/format.h"
#include "common/status.h"
#include "common/progress.h"
#include "theory/escape.h"
#include "theory/rng.h"
#include "theory/sde_stepper.h"

namespace flatmin::theory::detail {

/// Lanes per batch: independent paths stepped together so their latency chains overlap.
constexpr std::size_t kLanes = 8;

/// Drift functor of the odeint system (`.first`): W paths of Model::N components.
template <class Model, std::size_t W>
struct LaneDrift {
  const Model* m;
  void operator()(const std::array<double, Model::N * W>& x, std::array<double, Model::N * W>& d, double /*t*/) const {
    for (std::size_t l = 0; l < W; ++l) m->drift(x.data() + l, d.data() + l, W);
  }
};

/// Noise functor (`.second`): draws K normals ξ ~ N(0,1) once per step for each lane from that
/// lane's own stream (held by pointer, so odeint's copies of the system share the streams).
template <class Model, std::size_t W>
struct LaneNoise {
  const Model* m;
  StdNormal* normal;  // W normals, one per lane
  void operator()(const std::array<double, Model::N * W>& x, std::array<double, Model::N * W>& s, double /*t*/) const {
    for (std::size_t l = 0; l < W; ++l) {
      std::array<double, Model::K> xi;
      for (std::size_t q = 0; q < Model::K; ++q) xi[q] = normal[l]();
      m->noise(x.data() + l, s.data() + l, W, xi.data());
    }
  }
};

/// A path left the finite numbers: the run diverged (common::DivergedError, exit 1, manifest status
/// "diverged"), e.g. "path 17 at t = 2.5: non-finite state (reduce dt)".
[[noreturn]] inline void throw_diverged(std::int64_t path, double t) {
  throw common::DivergedError("path " + std::to_string(path) + " at t = " + common::format_double(t) +
                              ": non-finite state (reduce dt, or start nearer the minimum)");
}

/// A worker: runs paths taken from `next` in kLanes lanes until none are left.
template <class Model>
void run_lanes(const Model& m, std::uint64_t seed, std::int64_t paths, std::atomic<std::int64_t>& next,
               std::atomic<std::int64_t>& done, std::vector<double>& times, std::vector<std::int64_t>& steps) {
  constexpr std::size_t W = kLanes;
  constexpr std::size_t N = Model::N;
  std::array<Xoshiro256pp, W> rngs{Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0),
                                   Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0), Xoshiro256pp(seed, 0)};
  std::vector<StdNormal> normals;
  for (auto& r : rngs) normals.emplace_back(r);
  std::array<double, N * W> x{};
  std::array<std::int64_t, W> path{}, k{};
  auto start_lane = [&](std::size_t l) {
    const std::int64_t i = next.fetch_add(1);
    path[l] = i < paths ? i : -1;
    k[l] = 0;
    rngs[l] = Xoshiro256pp(seed, static_cast<std::uint64_t>(path[l] < 0 ? 0 : path[l]));
    m.init(x.data() + l, W);
  };
  std::size_t active = 0;
  for (std::size_t l = 0; l < W; ++l) {
    start_lane(l);
    active += path[l] >= 0;
  }
  auto system = std::make_pair(LaneDrift<Model, W>{&m}, LaneNoise<Model, W>{&m, normals.data()});
  const StochasticEuler<N * W> stepper;
  const double dt = m.dt;
  const auto max_steps = static_cast<std::int64_t>(std::ceil(m.t_max / dt));
  while (active > 0) {
    stepper.do_step(system, x, 0.0, dt);
    for (std::size_t l = 0; l < W; ++l) {
      if (path[l] < 0) {
        m.idle(x.data() + l, W);
        continue;
      }
      ++k[l];
      const bool exited = m.exited(x.data() + l, W);
      if (!m.finite(x.data() + l, W)) throw_diverged(path[l], static_cast<double>(k[l]) * dt);
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

/// One path with the single-path system (W = 1), for tests: first-passage time; *steps_out = k
/// for an escaped path, −k for a censored one.
template <class Model>
double run_single(const Model& m, std::uint64_t seed, std::uint64_t path, std::int64_t* steps_out) {
  constexpr std::size_t N = Model::N;
  Xoshiro256pp rng(seed, path);
  StdNormal normal(rng);
  std::array<double, N> x{};
  m.init(x.data(), 1);
  auto system = std::make_pair(LaneDrift<Model, 1>{&m}, LaneNoise<Model, 1>{&m, &normal});
  const StochasticEuler<N> stepper;
  const double dt = m.dt;
  const auto max_steps = static_cast<std::int64_t>(std::ceil(m.t_max / dt));
  std::int64_t k = 0;
  bool exited = false;
  while (k < max_steps) {
    stepper.do_step(system, x, static_cast<double>(k) * dt, dt);
    ++k;
    exited = m.exited(x.data(), 1);
    if (exited) break;
    if (!m.finite(x.data(), 1)) throw_diverged(static_cast<std::int64_t>(path), static_cast<double>(k) * dt);
  }
  if (steps_out) *steps_out = exited ? k : -k;
  return static_cast<double>(k) * dt;
}

/// Runs `worker(next, done, times, steps)` on all threads with progress, then the statistics:
/// mean, standard error, median, survival curve, particle steps.
template <class Worker>
EscapeResult run_mc(const EscapeRun& run, Worker&& worker) {
  FLATMIN_CHECK(run.paths >= 2, "paths = " << run.paths << " must be >= 2");
  FLATMIN_CHECK(run.survival_points >= 2, "survival_points must be >= 2");
  EscapeResult r;
  r.times.assign(static_cast<std::size_t>(run.paths), 0.0);
  std::vector<std::int64_t> steps(static_cast<std::size_t>(run.paths), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<common::Progress> prog;
  if (run.progress) prog = std::make_unique<common::Progress>("escape-time paths", run.paths, 10.0);
  std::atomic<std::int64_t> next{0}, done{0};
  const int nt = run.threads > 0 ? run.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::exception_ptr error;
  std::mutex mu;
  std::atomic<bool> failed{false};
  auto guarded = [&]() {
    try {
      worker(next, done, r.times, steps);
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

}  // namespace flatmin::theory::detail
