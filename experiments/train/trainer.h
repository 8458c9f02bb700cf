#pragma once
/// \file
/// `flatmin train`: one training run from a JSON recipe (docs/training.md) — data, model, registry
/// optimizer, lr schedule, label noise, seed — with per-epoch metrics, atomic per-epoch checkpoints and
/// a bit-identical `--resume`. No LibTorch in this header.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
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

/// data.augment: random crop padding and horizontal flips of the training images.
struct AugmentConfig {
  int64_t crop_padding = 0;
  bool hflip = false;
};

/// data.label_noise: symmetric label noise on the training set (seed unset: derived from the run seed).
struct LabelNoiseConfig {
  double rate = 0.0;
  std::string mode = "official";  ///< official | exact
  std::optional<uint64_t> seed;
};

/// The recipe's data section.
struct DataConfig {
  std::string dataset;  ///< fashion_mnist | cifar10 | cifar100 | synthetic
  std::string dir;
  int64_t train_subset = 0, test_subset = 0;  ///< 0 = all
  uint64_t subset_seed = 0;
  AugmentConfig augment;
  bool normalize = true;
  std::optional<std::vector<double>> mean, std;  ///< override the dataset's normalisation
  LabelNoiseConfig label_noise;
  /// data::make_synthetic's options as given (keys and types checked: n, classes, channels, size, noise, seed).
  nlohmann::json synthetic = nlohmann::json::object();
};

/// A registry name with its options document (validated by the model / optimizer registry when built).
struct NamedOptions {
  std::string name;
  nlohmann::json options = nlohmann::json::object();
};

/// The lr schedule (MultiStepLR, CosineAnnealingLR's closed form, per-step linear warm-up).
struct ScheduleConfig {
  std::string type = "constant";  ///< constant | multistep | cosine
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  int64_t t_max = 1;
  double eta_min_factor = 0.0;  ///< eta_min = factor · base lr
  double warmup_epochs = 0.0;
};

/// A train recipe with the profile merged, defaults filled in and every field validated; parsed once.
struct TrainConfig {
  std::string name = "run";
  DataConfig data;
  NamedOptions model, optimizer;  ///< optimizer.options holds the recipe's top-level weight_decay when given
  int64_t epochs = 0;
  int64_t batch_size = 128, test_batch_size = 128;
  bool drop_last = false;
  uint64_t seed = 0;
  bool set_epoch = true;
  /// A batch loss > divergence_factor × the reference loss ends the run as diverged; 0 = off.
  double divergence_factor = 1e6;
  ScheduleConfig schedule;

  /// The resolved recipe: what config.json, the manifest and the checkpoint store (--resume compares it).
  nlohmann::json to_json() const;
};

/// Parses and validates a recipe's "data" object (types, unknown keys, allowed values, ranges; `where` prefixes
/// every message). `require_dataset` = false lets "dataset" be absent (dataset then empty).
DataConfig parse_data_config(const nlohmann::json& data, const std::string& where, bool require_dataset = true);

/// Parses the recipe (InputError naming the field otherwise; a typo'd key names the nearest known key).
TrainConfig resolve_train_config(const nlohmann::json& raw, const std::string& profile);

/// A config is checked under every profile it declares, not only the one that runs: a base value that the
/// selected profile overrides (e.g. 'epochs' under quick) is what another profile runs with. Calls
/// check(name) for each declared profile other than `selected`; an InputError it throws is rethrown with
/// " (with profile 'NAME', which the WHERE declares: …)" appended (an InputTypeError stays one).
void check_declared_profiles(const nlohmann::json& raw, const std::string& selected, const std::string& where,
                             const std::function<void(const std::string&)>& check);

/// The lr of a group with base lr `base` at 1-based `epoch` and 0-based global `step` under `schedule`
/// (MultiStepLR multiplies by gamma once per passed milestone, in order, as torch's chainable
/// form does; cosine uses CosineAnnealingLR's closed form; the warm-up factor is per step).
double scheduled_lr(const ScheduleConfig& schedule, double base, int64_t epoch, int64_t step, int64_t steps_per_epoch);

/// Runs (or resumes) the run; returns the content of out/result.json ("status": "finished", or
/// "interrupted" when stop_after ended it early).
nlohmann::json run_training(const TrainArgs& args);

/// True when `dir`/result.json exists with status "finished".
bool run_finished(const std::filesystem::path& dir);

}  // namespace flatmin::train
