#pragma once
/// \file
/// The documented upper bounds of the counts a user gives (docs/robustness.md, "Bounds"). Every count is
/// checked against its bound up front, before any work, so that a typo such as `steps: 1e18` is bad input
/// (exit 2, one line naming the key or flag and the bound) instead of a run that never ends or fills the
/// disk. The bounds are generous: far above any run the papers need, far below overflow.

#include <cstdint>
#include <string>

namespace flatmin::common::limits {

/// Optimizer or SDE steps of one run or one path (simulate, optim-replay spec loops, theory t_max/dt).
inline constexpr std::int64_t kSteps = 1'000'000'000;
/// Rows one command writes into one table where every step is a row (miadam-gain, optim-replay).
inline constexpr std::int64_t kRecordedSteps = 10'000'000;
/// Order n of MIAdam's nested kappa-accumulators (miadam-gain --order; the papers use 1 to 3).
inline constexpr std::int64_t kOrder = 64;
/// Capacity C (topC) of Adam+CM's critical buffer: each item is a copy of its parameter (the papers use 5 to 20).
inline constexpr std::int64_t kCriticalBuffer = 1024;
/// Training epochs of one recipe (train epochs, --stop-after, schedule milestones / t_max / warm-up).
inline constexpr std::int64_t kEpochs = 1'000'000;
/// Samples: dataset subsets, synthetic set sizes, batch sizes.
inline constexpr std::int64_t kSamples = 1'000'000'000;
/// Monte Carlo paths or repetitions of one estimate.
inline constexpr std::int64_t kPaths = 1'000'000'000;
/// Worker threads, worker processes, data-parallel ranks.
inline constexpr std::int64_t kThreads = 4096;
/// Runs of one sweep (optimizers x noise rates x seeds).
inline constexpr std::int64_t kSweepRuns = 100'000;
/// The synthetic data set is held in memory: n x channels x size^2 floats.
inline constexpr std::int64_t kSyntheticSamples = 10'000'000;
/// Classes of a synthetic data set.
inline constexpr std::int64_t kClasses = 100'000;
/// Channels of a synthetic image.
inline constexpr std::int64_t kChannels = 64;
/// Side of a synthetic image, and the crop padding of augmentation, in pixels.
inline constexpr std::int64_t kImageSize = 4096;
/// Iterations, probes and grid points of one Hessian analysis stage (eigensolver restarts, trace samples,
/// Lanczos steps, SLQ runs, density bins, HVP budgets).
inline constexpr std::int64_t kIterations = 100'000'000;
/// Grid points of a smoothed spectral density (held in memory several times).
inline constexpr std::int64_t kDensityBins = 10'000'000;
/// Probe vectors applied in one data pass (each is a parameter-sized vector in memory).
inline constexpr std::int64_t kProbeBlock = 4096;

}  // namespace flatmin::common::limits

namespace flatmin::common {

/// A bound as people write it: 1000000000 -> "1e9", 4096 -> "4096" (a power of ten from 1e4 on in e-notation).
inline std::string format_count(std::int64_t n) {
  if (n >= 10000) {
    int e = 0;
    std::int64_t m = n;
    while (m % 10 == 0) {
      m /= 10;
      ++e;
    }
    if (m < 10 && e >= 4) return std::to_string(m) + "e" + std::to_string(e);
  }
  return std::to_string(n);
}

}  // namespace flatmin::common
