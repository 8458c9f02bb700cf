#pragma once
/// \file
/// Small probes of an optimizer's behaviour used by `flatmin reproduce` and the tests.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::optim {

/// Runs the registry optimizer `name` on one float64 scalar parameter (θ_0 = 0) under the
/// constant gradient g for `steps` steps; epoch at step t is 1 + ⌊(t−1)/steps_per_epoch⌋.
/// Returns the displacements θ_t − θ_{t−1}, t = 1..steps.
std::vector<double> constant_gradient_displacements(const std::string& name, const nlohmann::json& options,
                                                    double g, int64_t steps, int64_t steps_per_epoch);

}  // namespace flatmin::optim
