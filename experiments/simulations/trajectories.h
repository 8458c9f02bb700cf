#pragma once
/// \file
/// Vectorised 2-D optimizer runs with the real optim/ optimizers: N independent start points are the
/// N elements of two parameter tensors x[N], y[N] (the optimizers are element-wise), so one optimizer
/// step advances every path. The gradient is the landscape's closed form, evaluated per element.
///
/// Epochs (MIAdam's MI → Adam switch is epoch based): step t (0-based) belongs to epoch
/// 1 + t / steps_per_epoch, passed by flatmin::optim::set_epoch before every step.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/simulations/landscapes.h"

namespace flatmin::simulations {

/// One optimizer of a simulation: registry name + options (lr included).
struct OptimizerSpec {
  std::string name;
  nlohmann::json options = nlohmann::json::object();
};

struct RunSpec {
  int64_t steps = 3000;
  int64_t steps_per_epoch = 100;
  double noise_std = 0;     ///< Gaussian noise N(0, noise_std²) added to each gradient component (0 = exact gradients)
  uint64_t seed = 0;        ///< noise seed
  int64_t record_every = 0; ///< > 0: keep the iterates every that many steps (and the start and the last)
  int64_t tail = 0;         ///< > 0: also average the last `tail` iterates (end point = tail mean)
  std::string device = "cpu";
};

struct RunResult {
  std::vector<double> x, y;            ///< final iterates, one per path
  std::vector<double> tail_x, tail_y;  ///< mean of the last `tail` iterates (empty if tail == 0)
  std::vector<double> tail_rms;        ///< RMS distance of the last `tail` iterates from their mean (oscillation size)
  std::vector<int64_t> record_steps;   ///< steps at which the path was recorded (0 = start)
  std::vector<std::vector<double>> path_x, path_y;  ///< [record][path]
  nlohmann::json resolved_options;     ///< the optimizer's resolved options (for manifests)
};

/// The options the simulation actually uses: `spec.options`, and for MIAdam variants without an explicit
/// switch_epoch, a switch_epoch past the end of the run (no switch: the paper's Fig. 2 / Theorem 2 setting).
nlohmann::json simulation_options(const OptimizerSpec& spec, const RunSpec& run);

/// Constructs the optimizer on a dummy parameter: InputError (from the registry) on a bad name or option.
void validate_optimizer(const OptimizerSpec& spec);

/// Runs the optimizer from every start point (x0[i], y0[i]) for run.steps steps.
/// InputError on bad options (from the registry), mismatched start vectors or non-positive counts.
RunResult run_2d(const Landscape& landscape, const OptimizerSpec& optimizer, const std::vector<double>& x0,
                 const std::vector<double>& y0, const RunSpec& run);

}  // namespace flatmin::simulations
