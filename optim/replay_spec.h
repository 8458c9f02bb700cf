#pragma once
/// \file
/// The optim-replay spec (docs/optim-replay.md) read and validated without LibTorch: every check of
/// `replay()` except the optimizer's name and option values (the registry's, which needs LibTorch).
/// Also the entry point of the fuzz target tests/fuzz/fuzz_replay_spec.cpp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::optim {

/// Upper bound on `steps` and `steps_per_epoch`, and on the numbers recorded ((steps + 1) × parameter count).
inline constexpr int64_t kMaxReplaySteps = 10'000'000;
inline constexpr int64_t kMaxReplayNumbers = 100'000'000;

/// One parameter group of a spec: parameter indices (each parameter in exactly one group) and its option overrides.
struct ReplayGroup {
  std::vector<size_t> params;
  nlohmann::json options = nlohmann::json::object();
};

/// A validated spec: shapes agree, every count is in range, exactly one gradient source.
struct ReplaySpec {
  std::string optimizer;                                 ///< a registry name (checked by make_optimizer)
  nlohmann::json options = nlohmann::json::object();     ///< top-level options (checked by make_optimizer)
  std::vector<std::vector<double>> params;               ///< initial values, each non-empty
  int64_t steps = 0;                                     ///< 0 … kMaxReplaySteps
  int64_t steps_per_epoch = 1;                           ///< default max(steps, 1)
  bool has_grads = false;                                ///< grads given (else quadratic)
  std::vector<std::vector<std::vector<double>>> grads;   ///< grads[t][i], t < steps, shaped like params
  std::vector<std::vector<double>> quad_a, quad_c;       ///< quadratic.a / .c, shaped like params
  std::vector<ReplayGroup> groups;                       ///< empty: one group holding every parameter
};

/// Validates `spec` (an InputError naming the key and the problem on any violation) into a ReplaySpec.
ReplaySpec parse_replay_spec(const nlohmann::json& spec);

}  // namespace flatmin::optim
