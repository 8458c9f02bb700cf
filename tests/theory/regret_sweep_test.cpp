// Theorem 2 regret Monte Carlo and the slope studies.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "common/error.h"
#include "theory/regret.h"
#include "theory/sweep.h"

namespace flatmin::theory {
namespace {

using nlohmann::json;

std::vector<double> deterministic(double kappa, bool mi, std::int64_t T) {
  const auto c = parse_regret_config({{"T", T}});
  return regret_path(c, {mi ? "miadam1" : "adam", kappa}, 0, {1000, 10000, 100000});
}

// theory.md §10 numerical table (f_t = ½(θ−1)², α_t = 0.1/√t, β = (0.9, 0.999), λ = 1), 2 digits.
TEST(Regret, DeterministicQuadraticMatchesSpecTable) {
  const auto adam = deterministic(1.0, false, 100000);
  const auto mi1 = deterministic(1.0, true, 100000);
  const auto mi98 = deterministic(0.98, true, 100000);
  const double adam_ref[] = {3.9e-3, 3.9e-4, 3.9e-5}, mi1_ref[] = {1.3e-1, 1.1e-1, 1.6e+0}, mi98_ref[] = {3.4e-2, 3.4e-3, 3.4e-4};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(adam[i], adam_ref[i], 0.05 * adam_ref[i] + 1e-12) << i;
    EXPECT_NEAR(mi1[i], mi1_ref[i], 0.05 * mi1_ref[i]) << i;
    EXPECT_NEAR(mi98[i], mi98_ref[i], 0.05 * mi98_ref[i]) << i;
  }
  // The claims: Adam R/T -> 0 (decays ~1/T); MIAdam1 kappa = 1 does not (it grows); kappa = 0.98 decays
  // (contradicting a literal reading of Theorem 2's "for all kappa in (0, 1]").
  EXPECT_LT(adam[2] / adam[0], 0.02);
  EXPECT_GT(mi1[2], mi1[0]);
  EXPECT_LT(mi98[2] / mi98[0], 0.02);
}

TEST(Regret, NoisyProblemBandsAndThreadIndependence) {
  json cfg = {{"problem", "noisy_quadratic"}, {"T", 20000}, {"reps", 16}, {"threads", 1}, {"seed", 3}};
  const auto c1 = run_regret(parse_regret_config(cfg));
  cfg["threads"] = 2;
  const auto c2 = run_regret(parse_regret_config(cfg));
  ASSERT_EQ(c1.size(), 3u);
  for (std::size_t i = 0; i < c1.size(); ++i) EXPECT_EQ(c1[i].mean, c2[i].mean);
  const auto& adam = c1[0];
  EXPECT_LT(adam.hi.back(), adam.mean[3]);  // decayed well below the early value, beyond its band
  EXPECT_LE(adam.lo.back(), adam.mean.back());
  EXPECT_GT(c1[1].lo.back(), adam.hi.back());  // MIAdam1 kappa = 1 stays above Adam
}

TEST(Regret, BadConfig) {
  EXPECT_THROW(parse_regret_config({{"beta1", 0.999}, {"beta2", 0.9}}), common::InputError);
  EXPECT_THROW(parse_regret_config({{"optimizers", {{{"name", "miadam1"}, {"kappa", 0}}}}}), common::InputError);
  EXPECT_THROW(parse_regret_config({{"T", 5}}), common::InputError);
  EXPECT_THROW(parse_regret_config({{"reps", 4}}), common::InputError);
}

TEST(Sweep, WeightedSlopeRecoversLine) {
  double s, se;
  weighted_slope({1, 2, 3, 4}, {1.5, 3.5, 5.5, 7.5}, {0.1, 0.1, 0.1, 0.1}, s, se);
  EXPECT_NEAR(s, 2.0, 1e-12);
  EXPECT_NEAR(se, 0.1 / std::sqrt(5.0), 1e-12);
}

// White noise: τ_k = τ_1/k exactly under L_k (time rescaling), and (A) predicts slope −1 in log k.
TEST(Sweep, WhiteNoiseKramersSlope) {
  const json cfg = {{"name", "white"}, {"axis", "log_k"}, {"vary", "k"}, {"values", {1.0, 1.5, 2.0, 3.0}},
                    {"base", {{"dynamics", "sgd"}, {"noise", "white"}, {"T", 0.25}, {"dt", 2e-3}, {"paths", 300}, {"seed", 21}}}};
  const auto s = run_sweep_study(cfg);
  std::cout << "  white log-k slope: MC " << s.fitted << " +- " << s.fitted_se << ", exact " << s.exact_slope
            << ", (A) " << s.predicted_full_slope << "\n";
  EXPECT_NEAR(s.exact_slope, -1.0, 1e-3);
  EXPECT_NEAR(s.predicted_full_slope, -1.0, 1e-12);
  EXPECT_NEAR(s.fitted, -1.0, 3 * s.fitted_se);
}

TEST(Sweep, SgdBOverEtaSlope) {
  const json cfg = {{"name", "sgd"}, {"axis", "B_over_eta"}, {"vary", "lr"}, {"values", {0.1, 0.085, 0.075}},
                    {"base", {{"dynamics", "sgd"}, {"dt", 2e-3}, {"paths", 200}, {"seed", 22}}}};
  const auto s = run_sweep_study(cfg);
  std::cout << "  SGD B/eta slope: MC " << s.fitted << " +- " << s.fitted_se << ", exact " << s.exact_slope
            << ", (B) " << s.predicted_slope << "\n";
  EXPECT_NEAR(s.predicted_slope, 2 * (std::log(2.0) - 0.5), 1e-6);  // 0.3863 (theory.md §5)
  EXPECT_NEAR(s.exact_slope, s.predicted_slope, 0.05 * s.predicted_slope);
  EXPECT_NEAR(s.fitted, s.exact_slope, 3 * s.fitted_se);
}

}  // namespace
}  // namespace flatmin::theory
