#pragma once
/// \file
/// Regret Monte Carlo for Theorem 2 (MIAdam Eqs. 16–17; theory.md §10): online convex problems
/// f_t(θ) = ½ a_t (θ − z_t)², α_t = α/t^h, β1,t = β1 λ^{t−1}; Adam versus MIAdam1 before the
/// switch in the official-code form θ ← θ − α_t²·b1/(bc1·denom), b1 ← κ b1 + m.
/// R(T) = Σ_{t≤T} f_t(θ_t) − min_θ Σ_{t≤T} f_t(θ) (Eq. 16).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::theory {

struct RegretOptimizer {
  std::string name;  ///< "adam" or "miadam1"
  double kappa = 1;  ///< miadam1 only
  std::string label() const;
};

struct RegretConfig {
  std::string problem = "quadratic";  ///< "quadratic": a_t = 1, z_t = target; "noisy_quadratic": z_t ~ N(target, σ²), a_t ~ U[1−w, 1+w]
  double target = 1.0, sigma = 0.5, a_width = 0.5, theta0 = 0.0;
  double alpha = 0.1, h = 0.5, beta1 = 0.9, lambda = 1.0, beta2 = 0.999, eps = 1e-8;
  std::int64_t T = 100000;
  int checkpoints_per_decade = 4;
  int reps = 1;  ///< independent f_t sequences (noisy problem); bands = mean ± 1.96 se
  std::uint64_t seed = 1;
  int threads = 0;
  std::vector<RegretOptimizer> optimizers;
};

struct RegretCurve {
  RegretOptimizer opt;
  std::vector<std::int64_t> t;
  std::vector<double> mean, lo, hi;  ///< R(t)/t: mean over reps and its 95% band
};

RegretConfig parse_regret_config(const nlohmann::json& cfg);
nlohmann::json to_json(const RegretConfig& c);
/// Every optimizer's curve; throws common::DivergedError when an iterate leaves the finite numbers.
std::vector<RegretCurve> run_regret(const RegretConfig& c);
/// One repetition, R(t)/t at the given checkpoints (exposed for tests). A non-finite iterate or R(t)/t
/// throws common::DivergedError naming the optimizer, the step t and the repetition.
std::vector<double> regret_path(const RegretConfig& c, const RegretOptimizer& o, std::uint64_t rep,
                                const std::vector<std::int64_t>& checkpoints);
std::vector<std::int64_t> regret_checkpoints(std::int64_t T, int per_decade);
/// Writes `file` (t, optimizer, kappa, R_over_T, lo95, hi95) atomically.
void write_regret_csv(const std::vector<RegretCurve>& curves, const std::filesystem::path& file);

}  // namespace flatmin::theory
