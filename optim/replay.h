#pragma once
/// \file
/// optim-replay: run one optimizer on float64 parameters from a JSON spec and record the
/// parameters after every step. The JSON contract is documented in docs/optim-replay.md.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "optim/replay_spec.h"

namespace flatmin::optim {

struct ReplayResult {
  std::vector<std::string> header;         ///< step,p0_0,p0_1,…,p1_0,…
  std::vector<std::vector<double>> rows;   ///< row 0: initial values; row t: after step t
  nlohmann::json resolved;                 ///< spec with the optimizer's resolved per-group options
};

/// Validates the spec (parse_replay_spec, then the optimizer's name and options; throws
/// flatmin::common::InputError naming the problem) and runs it. A parameter
/// that becomes non-finite throws common::DivergedError naming the step and the parameter.
ReplayResult replay(const nlohmann::json& spec);

}  // namespace flatmin::optim
