#pragma once
/// \file
/// optim-replay: run one optimizer on float64 parameters from a JSON spec and record the
/// parameters after every step. The JSON contract is documented in docs/optim-replay.md.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::optim {

/// Upper bound on `steps` and `steps_per_epoch`, and on the numbers recorded ((steps + 1) × parameter count).
inline constexpr int64_t kMaxReplaySteps = 10'000'000;
inline constexpr int64_t kMaxReplayNumbers = 100'000'000;

struct ReplayResult {
  std::vector<std::string> header;         ///< step,p0_0,p0_1,…,p1_0,…
  std::vector<std::vector<double>> rows;   ///< row 0: initial values; row t: after step t
  nlohmann::json resolved;                 ///< spec with the optimizer's resolved per-group options
};

/// Validates the spec (throws flatmin::common::InputError naming the problem) and runs it. A parameter
/// that becomes non-finite throws common::DivergedError naming the step and the parameter.
ReplayResult replay(const nlohmann::json& spec);

}  // namespace flatmin::optim
