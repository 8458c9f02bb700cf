#pragma once
/// \file
/// Theorem 1 on the paper's own landscape (theory.md §9 recipe, §11): discrete Adam and discrete
/// MIAdam1 (official form, no switch) with noisy gradients g = ∇f(θ) + ξ on Yang 2020's
/// f = x² + y² + 5 sin(x + y²), started at the sharp minimum a+ = (0.5, 2.0028), until the
/// first step with (θ − u+)·e > 0, e = the unstable eigenvector of H(u+) oriented towards the flat
/// minimum b. Noise: "fixed" ξ ~ N(0, H(a+)/δ) or "local" ξ ~ N(0, |H(θ)|/δ) (spec §9.2).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace flatmin::theory {

struct YangEscapeConfig {
  std::string optimizer = "adam";  ///< adam | miadam1
  double lr = 0.05, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, kappa = 1.0;
  double delta = 0.02;             ///< batch-size knob δ: Cov ξ = H/δ
  std::string noise = "fixed";     ///< fixed | local
  std::int64_t paths = 300, max_steps = 1000000;
  std::uint64_t seed = 1;
  int threads = 0;
};

struct YangEscapeResult {
  double mean_steps = 0, stderr_steps = 0;  ///< iterations to exit (censored paths count max_steps)
  std::int64_t censored = 0;
  double mean_time = 0, stderr_time = 0;    ///< t̃ = lr × steps (the paper's continuous time)
};

YangEscapeConfig parse_yang_escape(const nlohmann::json& cfg);
YangEscapeResult run_yang_escape(const YangEscapeConfig& c);

}  // namespace flatmin::theory
