#pragma once
/// \file
/// Escape-time Monte Carlo in d >= 1 dimensions for the problem of model_nd.h: same stepper,
/// per-path streams and 8-lane batches as the 1-D engine (theory/lane_engine.h), so results are
/// bit-identical for any thread count. Includes the problem (model_nd.h) and its predictions
/// (predictions_nd.h).

#include <cstdint>

#include "theory/escape.h"
#include "theory/model_nd.h"
#include "theory/predictions_nd.h"

namespace flatmin::theory {

/// Runs the Monte Carlo (paths, seed, threads of `run`); path i uses the stream Xoshiro256pp(seed, i).
EscapeResult run_escape_mc_nd(const EscapeProblemND& p, const EscapeRun& run);
/// One path with the single-path system (tests); *steps as simulate_escape_path.
double simulate_escape_path_nd(const EscapeProblemND& p, std::uint64_t seed, std::uint64_t path, std::int64_t* steps = nullptr);

}  // namespace flatmin::theory
