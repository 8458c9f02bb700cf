#pragma once
/// \file
/// `flatmin train`: one training run from a JSON recipe (docs/training.md) — data, model, registry
/// optimizer, lr schedule, label noise, seed — with per-epoch metrics, atomic per-epoch checkpoints and
/// a bit-identical `--resume`. No LibTorch in this header.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::train {

struct TrainArgs {
  nlohmann::json config;  ///< the recipe (may hold "profiles": {"quick": {...}, "full": {...}})
  std::string profile = "quick";
  std::string device = "cpu";
  std::filesystem::path out;  ///< run folder (created)
  bool resume = false;        ///< continue from out/checkpoint.pt (a fresh start when there is none)
  std::string data_dir;       ///< overrides config data.dir (and $FLATMIN_DATA_DIR)
  int64_t stop_after = 0;     ///< > 0: return after this many epochs in this call (tests, time slicing)
  bool progress = true;       ///< per-batch progress with ETA on stderr
  std::vector<std::string> argv;
  /// Data parallelism over c10d (common/dist/communicator.h: Gloo on CPU, NCCL on GPUs when built): every global
  /// batch is split evenly over the ranks, gradients are summed; rank 0 alone writes files. BatchNorm statistics
  /// stay per rank (as DDP and the official nn.DataParallel) unless sync_bn.
  int rank = 0, world_size = 1;
  int local_rank = -1;                 ///< this rank's GPU under --device cuda (-1: the rank)
  std::string dist_backend = "auto";   ///< auto | gloo | nccl
  bool sync_bn = false;  ///< BatchNorm statistics over all ranks (experiments/models/sync_batchnorm.h)
  std::string dist_store;  ///< c10d FileStore path shared by all ranks (fresh per run)
};

/// The recipe with the profile merged, defaults filled in and every field validated (InputError
/// naming the field otherwise). This is what the checkpoint stores and --resume compares.
nlohmann::json resolve_train_config(const nlohmann::json& raw, const std::string& profile);

/// The lr of a group with base lr `base` at 1-based `epoch` and 0-based global `step` under the resolved
/// `schedule` (MultiStepLR multiplies by gamma once per passed milestone, in order, as torch's chainable
/// form does; cosine uses CosineAnnealingLR's closed form; the warm-up factor is per step).
double scheduled_lr(const nlohmann::json& schedule, double base, int64_t epoch, int64_t step, int64_t steps_per_epoch);

/// Runs (or resumes) the run; returns the content of out/result.json ("status": "finished", or
/// "partial" when stop_after ended it early).
nlohmann::json run_training(const TrainArgs& args);

/// True when `dir`/result.json exists with status "finished".
bool run_finished(const std::filesystem::path& dir);

}  // namespace flatmin::train
