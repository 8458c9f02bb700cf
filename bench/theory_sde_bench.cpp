// flatmin-bench-theory: particle-steps per second of the 1-D escape-time SDE (theory/escape.h)
// against an anchor measured in the same run: the bare loop "draw N(0,1) from the same per-path
// RNG, do one linear Euler–Maruyama update, test the exit" on the same threads. The ratio
// library/anchor is the figure of merit (machine-independent); the absolute rate is printed too.
// It asserts nothing (speed goals are read from its output; docs/theory.md "Benchmark").
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/cli_parse.h"
#include "common/error.h"
#include "theory/escape.h"
#include "theory/escape_nd.h"
#include "theory/rng.h"

namespace {

using flatmin::theory::EscapeProblem;
using flatmin::theory::EscapeRun;

/// Anchor: per path, x ← x − a·x·dt + s·sqrt(dt)·ξ until x ≥ 1 or n steps; same RNG and threads.
/// Process CPU seconds (all threads): with other jobs on the machine the wall-clock rate understates
/// what the code does per core, so the per-CPU-second rate is printed too.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double anchor_rate(std::int64_t paths, std::int64_t steps, int threads, double& checksum, double& per_cpu_s) {
  std::vector<double> out(static_cast<std::size_t>(paths));
  std::atomic<double> total{0};
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  flatmin::theory::parallel_for_paths(paths, threads, [&](std::int64_t p) {
    flatmin::theory::Xoshiro256pp rng(99, static_cast<std::uint64_t>(p));
    flatmin::theory::StdNormal z(rng);
    double x = 0;
    const double dt = 2e-3, a = 8.0, s = std::sqrt(dt) * 0.5;
    std::int64_t k = 0;
    for (; k < steps; ++k) {
      x += -a * x * dt + s * z();
      if (x >= 1e9) break;
    }
    out[static_cast<std::size_t>(p)] = x;
    double cur = total.load();
    while (!total.compare_exchange_weak(cur, cur + static_cast<double>(k))) {
    }
  });
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  per_cpu_s = total.load() / (cpu_seconds() - c0);
  checksum = 0;
  for (double v : out) checksum += v;
  return total.load() / wall;
}

double library_rate(const nlohmann::json& cfg, std::int64_t paths, int threads, double& mean, double& per_cpu_s) {
  EscapeRun run;
  run.paths = paths;
  run.seed = 7;
  run.threads = threads;
  const bool nd = flatmin::theory::is_nd_config(cfg);
  const double c0 = cpu_seconds();
  const auto r = nd ? flatmin::theory::run_escape_mc_nd(flatmin::theory::parse_escape_problem_nd(cfg), run)
                    : flatmin::theory::run_escape_mc(flatmin::theory::parse_escape_problem(cfg), run);
  per_cpu_s = r.particle_steps / (cpu_seconds() - c0);
  mean = r.mean;
  return r.particle_steps / r.wall_s;
}

}  // namespace

int main(int argc, char** argv) {
  return flatmin::common::run_main("flatmin-bench-theory", [&]() -> int {
    CLI::App app{"flatmin-bench-theory: 1-D and d-dim SDE particle-steps/s vs a bare RNG+update anchor"};
    int threads = 0, repeats = 3;
    std::int64_t paths = 2000;
    app.add_option("--threads", threads, "threads (0 = all cores)")->capture_default_str();
    app.add_option("--paths", paths, "paths per measurement")->capture_default_str();
    app.add_option("--repeats", repeats, "repeats (best is reported)")->capture_default_str();
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    FLATMIN_CHECK(paths >= 16 && repeats >= 1 && threads >= 0, "need --paths >= 16, --repeats >= 1, --threads >= 0");
    const int nt = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    struct Case {
      const char* name;
      nlohmann::json cfg;
    };
    // SGD, SGD-shaped noise, eta = 0.1 (tau ≈ 44, ≈ 22,000 steps per path): the 1-D SDE.
    const std::vector<Case> cases = {
        {"sgd   (1-D overdamped, SGD-shaped)", {{"dynamics", "sgd"}, {"lr", 0.1}}},
        {"adam  (1-D overdamped, P=C^-1/2)", {{"dynamics", "adam"}, {"lr", 0.15}, {"landscape", {{"type", "double_well"}, {"k", 2}}}}},
        {"sgd   (white noise)", {{"dynamics", "sgd"}, {"noise", "white"}, {"T", 0.2}, {"lr", 0.1}}},
        {"momentum (2-D state)", {{"dynamics", "momentum"}, {"lr", 0.1}, {"beta1", 0.5}}},
        {"miadam1 kappa=0.98 (2-D state)", {{"dynamics", "miadam"}, {"lr", 0.15}, {"kappa", 0.98}, {"landscape", {{"type", "double_well"}, {"k", 2}}}}},
        // d-dimensional engine (escape_nd.h): d = 1 (same steps as "sgd (white noise)"), 3-D well, Yang 2020.
        {"nd: sgd white, d=1 double well", {{"dynamics", "sgd"}, {"noise", "white"}, {"T", 0.2}, {"lr", 0.1},
                                              {"landscape", {{"type", "quadratic_double_well"}, {"d", 1}}}}},
        {"nd: sgd white, 3-D double well", {{"dynamics", "sgd"}, {"noise", "white"}, {"T", 0.2}, {"lr", 0.1},
                                              {"landscape", {{"type", "quadratic_double_well"}, {"d", 3}, {"lambda", {2, 5}}}}}},
        {"nd: sgd white T=2, Yang 2020", {{"dynamics", "sgd"}, {"noise", "white"}, {"T", 2.0}, {"lr", 0.1}, {"dt", 0.001},
                                            {"landscape", {{"type", "yang"}}}}},
    };
    std::cout << "threads " << nt << ", paths " << paths << ", best of " << repeats << "\n";
    double best_anchor = 0, anchor_cpu = 0, checksum = 0;
    const std::int64_t anchor_steps = 22000;
    for (int r = 0; r < repeats; ++r) {
      double cpu = 0;
      const double rate = anchor_rate(paths, anchor_steps, nt, checksum, cpu);
      if (rate > best_anchor) { best_anchor = rate; anchor_cpu = cpu; }
    }
    std::cout << "anchor (RNG + linear EM update + exit test): " << best_anchor << " particle-steps/s wall, " << anchor_cpu
              << " per CPU-second (checksum " << checksum << ")\n";
    for (const auto& c : cases) {
      double best = 0, best_cpu = 0, mean = 0;
      for (int r = 0; r < repeats; ++r) {
        double cpu = 0;
        const double rate = library_rate(c.cfg, paths, nt, mean, cpu);
        if (rate > best) { best = rate; best_cpu = cpu; }
      }
      std::cout << c.name << ": " << best << " particle-steps/s wall (ratio to anchor " << best / best_anchor << "), "
                << best_cpu << " per CPU-second (x" << nt << " threads = " << best_cpu * nt << "), mean escape time " << mean
                << "\n";
    }
    return 0;
  });
}
