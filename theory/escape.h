#pragma once
/// \file
/// Escape-time Monte Carlo for the 1-D problem of model1d.h: many independent Euler–Maruyama paths
/// (StochasticEuler driven by a do_step loop with first-passage detection θ ≥ c), spread over
/// std::threads. Path i always uses the stream Xoshiro256pp(seed, i), so results are bit-identical
/// for any thread count.

#include <cstdint>
#include <functional>
#include <vector>

#include "theory/model1d.h"

namespace flatmin::theory {

struct EscapeRun {
  std::int64_t paths = 400;
  std::uint64_t seed = 1;
  int threads = 0;          ///< 0 = all cores
  int survival_points = 101;
  bool progress = false;    ///< progress line with ETA on stderr
};

struct EscapeResult {
  std::vector<double> times;  ///< first-passage time per path (t_max if censored)
  std::int64_t escaped = 0, censored = 0;
  double mean = 0;    ///< mean of `times` (a lower bound when censored > 0)
  double stderr_ = 0; ///< sample standard deviation / sqrt(paths)
  double median = 0;
  std::vector<double> survival_t, survival_s;  ///< S(t) = fraction not yet escaped at t
  double particle_steps = 0;
  double wall_s = 0;
};

/// Runs the Monte Carlo. Throws common::InputError for paths < 2 or survival_points < 2.
EscapeResult run_escape_mc(const EscapeProblem& p, const EscapeRun& run);

/// Parses the run keys (paths, seed, threads, survival_points) of an escape-time config.
EscapeRun parse_escape_run(const nlohmann::json& cfg);

/// One path (exposed for tests): first-passage time of path `path`; `*steps` = number of steps
/// taken, negated when the path was censored at t_max.
double simulate_escape_path(const EscapeProblem& p, std::uint64_t seed, std::uint64_t path, std::int64_t* steps = nullptr);

/// Runs `work(i)` for i in [0, n) on `threads` threads (0 = all cores), dynamic chunks; calls
/// `tick(done)` from the calling thread about every 0.2 s. Rethrows the first worker exception.
void parallel_for_paths(std::int64_t n, int threads, const std::function<void(std::int64_t)>& work,
                        const std::function<void(std::int64_t)>& tick = {});

}  // namespace flatmin::theory
