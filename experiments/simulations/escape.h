#pragma once
/// \file
/// Discrete-time escape from the sharp well of the 1-D double well and online-regret runs, with the real
/// optim/ optimizers, one tensor element per Monte Carlo path; and the exact 1-D first-passage quadrature
/// (spec theory.md §5) as the oracle for SGD.
///
/// Double well (theory.md §5 worked example), sharpness family L_k(θ) = L(√k θ) — L_k' and h_k are
/// theory::DoubleWell1D's (theory/landscape.h):
///   L(θ) = ΔL (θ² − 1)²,  per-sample gradient noise of variance h_k(θ)/B with h(θ) = 4ΔL(1 + θ²),
///   h_k(θ) = k h(√k θ): each step the optimizer sees g = L_k'(θ) + sqrt(h_k(θ)/B)·z, z ~ N(0, 1)
///   (or ±1). Paths start at a/√k and are absorbed at the first θ ≥ c/√k.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/simulations/trajectories.h"

namespace flatmin::simulations {

/// The exact mean first-passage time of dθ = −F dt + sqrt(2D) dW from θ0 to c, reflecting at `left`
/// (theory.md §5): delegates to theory::first_passage_time (the one implementation of that equation).
double first_passage_time(const std::function<double(double)>& F, const std::function<double(double)>& D,
                          double theta0, double c, double left, int64_t intervals);

struct DoubleWell {
  double delta_L = 1, k = 1, B = 1;
  double start = -1, absorb = 0.5;  ///< in the unscaled coordinate (divided by √k)
  double loss_grad(double theta) const;  ///< L_k'(θ)
  double noise_var(double theta) const;  ///< h_k(θ)/B
};

/// Exact mean escape time of the SGD SDE (D = η h_k/(2B)), in iterations (time / η).
double sgd_oracle_iterations(const DoubleWell& w, double eta);
/// Exact mean escape time of the Adam-like preconditioned SDE dθ = −sqrt(B/h_k) L_k' dt + sqrt(η) dW
/// (theory.md §8(e)), in iterations. Discrete Adam matches it only approximately (β1, β2 > 0).
double adam_like_oracle_iterations(const DoubleWell& w, double eta);

struct EscapeSpec {
  DoubleWell well;
  int64_t paths = 1000;
  int64_t max_steps = 1000000;
  int64_t steps_per_epoch = 100;
  bool rademacher = false;  ///< ±1 noise instead of Gaussian
  uint64_t seed = 0;
  std::string device = "cpu";
};

struct EscapeResult {
  std::vector<int64_t> steps;  ///< escape iteration per path (−1: not escaped within max_steps)
  int64_t escaped = 0;
  double mean = 0, stderr_ = 0;  ///< over escaped paths, in iterations
  nlohmann::json options;
};

/// Vectorised Monte Carlo of the escape time (progress on stderr labelled `label`).
EscapeResult run_escape(const OptimizerSpec& optimizer, const EscapeSpec& spec, const std::string& label);

struct RegretSpec {
  int64_t T = 1000;
  std::vector<int64_t> checkpoints;  ///< report R(t)/t at these t (each ≤ T)
  double alpha0 = 0.1, power = 0.5;  ///< α_t = α0 / t^power (Theorem 2)
  double theta0 = 0, target = 1;     ///< f_t(θ) = ½(θ − target)², θ_1 = θ0
};

struct RegretResult {
  std::vector<int64_t> t;
  std::vector<double> regret_over_t;
  nlohmann::json options;
};

/// R(T) = Σ_{t=1..T} f_t(θ_t) − min_θ Σ f_t(θ) (MIAdam Eq. 16) for the online quadratic of theory.md §10.
RegretResult run_regret(const OptimizerSpec& optimizer, const RegretSpec& spec);

}  // namespace flatmin::simulations
