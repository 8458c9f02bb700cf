#include "experiments/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "common/config.h"
#include "common/atomic_file.h"
#include "common/csv.h"
#include "common/error.h"
#include "common/zip_archive.h"
#include "common/library_error.h"
#include "common/format.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/nearest.h"
#include "common/output_path.h"
#include "common/progress.h"
#include "common/run_lock.h"
#include "common/status.h"
#include "experiments/data/dataset.h"
#include "experiments/models/models.h"
#include "experiments/models/sync_batchnorm.h"
#include "experiments/models/torchscript.h"
#include "common/dist/communicator.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace flatmin::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kCheckpointFormat = models::kTrainCheckpointFormat;  // "flatmin.train.checkpoint/1"

// ---- checkpoint helpers ------------------------------------------------------------------------------

void write_archive_atomic(torch::serialize::OutputArchive& a, const fs::path& file) {
  common::AtomicFile f(file);
  a.save_to(f.writer());  // a full disk is reported by commit(), not thrown from inside LibTorch
  f.commit();
}

std::string read_string(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  a.read(key, v);
  return v.toStringRef();
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  a.read(key, v);
  return v.toInt();
}

void save_model(const models::Net& model, const fs::path& file) {
  torch::serialize::OutputArchive a;
  model.save(a);
  write_archive_atomic(a, file);
}

/// Per-epoch metrics row.
struct EpochRow {
  int64_t epoch = 0;
  double lr = 0, train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, time_s = 0;
  json to_json() const {
    return {{"epoch", epoch},         {"lr", lr},           {"train_loss", train_loss}, {"train_acc", train_acc},
            {"test_loss", test_loss}, {"test_acc", test_acc}, {"time_s", time_s}};
  }
  static EpochRow from_json(const json& j) {
    EpochRow r;
    r.epoch = j.at("epoch");
    r.lr = j.at("lr");
    r.train_loss = j.at("train_loss");
    r.train_acc = j.at("train_acc");
    r.test_loss = j.at("test_loss");
    r.test_acc = j.at("test_acc");
    r.time_s = j.at("time_s");
    return r;
  }
};

void write_metrics_csv(const std::vector<EpochRow>& rows, const fs::path& file) {
  common::AtomicFile f(file);
  common::CsvWriter w(f.stream(), {"epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "time_s"});
  for (const auto& r : rows) {
    w.row({double(r.epoch), r.lr, r.train_loss, r.train_acc, r.test_loss, r.test_acc, r.time_s});
  }
  f.commit();
}

struct Data {
  data::ImageSet train, test;
  data::Augment aug_train, aug_test;
  data::NoiseReport noise;
};

Data load_data(const DataConfig& d, const std::string& data_dir_override, uint64_t run_seed) {
  Data out;
  const std::string& name = d.dataset;
  const std::string dir = !data_dir_override.empty() ? data_dir_override : d.dir;
  if (name == "fashion_mnist") {
    out.train = data::load_fashion_mnist(dir, true);
    out.test = data::load_fashion_mnist(dir, false);
  } else if (name == "cifar10" || name == "cifar100") {
    const int c = name == "cifar10" ? 10 : 100;
    out.train = data::load_cifar(dir, c, true);
    out.test = data::load_cifar(dir, c, false);
  } else {
    out.train = data::make_synthetic(d.synthetic, true);
    out.test = data::make_synthetic(d.synthetic, false);
  }
  FLATMIN_CHECK(d.train_subset <= out.train.n, "data.train_subset = " << d.train_subset << " is larger than the training set of '"
                                                                       << name << "' (" << out.train.n << " images)");
  FLATMIN_CHECK(d.test_subset <= out.test.n, "data.test_subset = " << d.test_subset << " is larger than the test set of '"
                                                                    << name << "' (" << out.test.n << " images)");
  out.train = data::subset(out.train, d.train_subset, d.subset_seed);
  out.test = data::subset(out.test, d.test_subset, d.subset_seed + 1);
  const auto& ln = d.label_noise;
  const uint64_t noise_seed = ln.seed ? *ln.seed : data::mix_seed(run_seed, 0x40153);
  out.noise = data::apply_label_noise(out.train.labels, out.train.num_classes, ln.rate, ln.mode, noise_seed);
  out.aug_train.crop_padding = static_cast<int>(d.augment.crop_padding);
  out.aug_train.hflip = d.augment.hflip;
  if (d.normalize) {
    data::default_normalization(name, static_cast<int>(out.train.channels), out.aug_train.mean, out.aug_train.std);
    if (d.mean) out.aug_train.mean.assign(d.mean->begin(), d.mean->end());
    if (d.std) out.aug_train.std.assign(d.std->begin(), d.std->end());
  }
  out.aug_test.mean = out.aug_train.mean;
  out.aug_test.std = out.aug_train.std;
  return out;
}

/// Builds the (B,C,H,W) float batch and labels for the given indices.
std::pair<torch::Tensor, torch::Tensor> batch(const data::ImageSet& set, const int64_t* idx, int64_t count,
                                              const data::Augment& aug, bool train, uint64_t seed, int64_t epoch,
                                              const torch::Device& device) {
  auto x = torch::empty({count, set.channels, set.height, set.width}, torch::kFloat32);
  data::make_batch(set, idx, count, aug, train, seed, epoch, x.data_ptr<float>());
  auto y = torch::empty({count}, torch::kInt64);
  auto* yp = y.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) yp[i] = set.labels[idx[i]];
  if (!device.is_cpu()) {
    x = x.to(device);
    y = y.to(device);
  }
  return {x, y};
}

std::pair<double, double> evaluate(models::Net& model, const data::ImageSet& set, const data::Augment& aug,
                                   int64_t bs, const torch::Device& device) {
  torch::NoGradGuard ng;
  model.eval();
  std::vector<int64_t> idx(static_cast<size_t>(set.n));
  for (int64_t i = 0; i < set.n; ++i) idx[i] = i;
  double loss = 0;
  int64_t correct = 0;
  for (int64_t s = 0; s < set.n; s += bs) {
    const int64_t c = std::min(bs, set.n - s);
    auto [x, y] = batch(set, idx.data() + s, c, aug, false, 0, 0, device);
    auto logits = model.forward(x);
    loss += torch::nn::functional::cross_entropy(logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  }
  return {loss / double(set.n), double(correct) / double(set.n)};
}

}  // namespace

namespace {

// Reading and checking are two passes: every reader first reads its keys (a wrong type is reported at
// once) and finish()es, so that a typo'd key is named (with the nearest known key) before the missing or
// out-of-range value it leaves behind.

void require_choice(const std::string& where, const std::string& key, const std::string& v,
                    std::initializer_list<std::string_view> allowed) {
  for (const auto a : allowed) {
    if (a == v) return;
  }
  throw common::InputError(where + ": '" + key + "': " + common::unknown_name_message("value", v, allowed));
}

/// A seed (an integer; `raw` keeps it for the second pass, which requires >= 0).
uint64_t read_seed(common::ConfigReader& r, const std::string& key, int64_t& raw) {
  raw = r.integer(key, 0);
  return static_cast<uint64_t>(raw);
}

}  // namespace

DataConfig parse_data_config(const json& j, const std::string& where, bool require_dataset) {
  DataConfig d;
  common::ConfigReader r(j, where);
  const bool has_dataset = r.has("dataset");
  int64_t seeds_min = 0;
  d.dataset = r.string("dataset", "");
  d.dir = r.string("dir", "");
  d.train_subset = r.count("train_subset", 0);
  d.test_subset = r.count("test_subset", 0);
  int64_t raw = 0;
  d.subset_seed = read_seed(r, "subset_seed", raw);
  seeds_min = raw;
  {
    common::ConfigReader a(r.object("augment"), r.where() + ".augment");
    d.augment.crop_padding = a.count("crop_padding", 0);
    d.augment.hflip = a.boolean("hflip", false);
    a.finish();
  }
  d.normalize = r.boolean("normalize", true);
  if (r.has("mean")) d.mean = r.numbers("mean", {});
  if (r.has("std")) d.std = r.numbers("std", {});
  {
    common::ConfigReader n(r.object("label_noise"), r.where() + ".label_noise");
    d.label_noise.rate = n.number("rate", 0.0);
    d.label_noise.mode = n.string("mode", "official");
    if (n.has("seed")) {
      d.label_noise.seed = read_seed(n, "seed", raw);
      seeds_min = std::min(seeds_min, raw);
    }
    n.finish();
  }
  d.synthetic = r.object("synthetic");
  int64_t syn_n = 0, syn_classes = 0, syn_channels = 0, syn_size = 0;
  {
    common::ConfigReader y(d.synthetic, r.where() + ".synthetic");  // make_synthetic reads these
    syn_n = y.count("n", 256);
    syn_classes = y.count("classes", 4);
    syn_channels = y.count("channels", 1);
    syn_size = y.count("size", 8);
    y.number("noise", 40.0);
    seeds_min = std::min(seeds_min, y.integer("seed", 1));
    y.finish();
  }
  r.finish();

  // pass 2: required keys, allowed values, ranges
  FLATMIN_CHECK(has_dataset || !require_dataset,
                where << ": missing required key 'dataset' (fashion_mnist, cifar10, cifar100 or synthetic)");
  if (has_dataset) require_choice(where, "dataset", d.dataset, {"fashion_mnist", "cifar10", "cifar100", "synthetic"});
  namespace lim = common::limits;
  const std::string samples_bound = "in [0, " + common::format_count(lim::kSamples) + "] (0 = all)";
  r.require(d.train_subset >= 0 && d.train_subset <= lim::kSamples, "train_subset", d.train_subset, samples_bound);
  r.require(d.test_subset >= 0 && d.test_subset <= lim::kSamples, "test_subset", d.test_subset, samples_bound);
  // the synthetic set is held in memory: n x channels x size^2 floats
  r.require(syn_n <= lim::kSyntheticSamples, "synthetic.n", syn_n, "<= " + common::format_count(lim::kSyntheticSamples));
  r.require(syn_classes <= lim::kClasses, "synthetic.classes", syn_classes, "<= " + common::format_count(lim::kClasses));
  r.require(syn_channels <= lim::kChannels, "synthetic.channels", syn_channels, "<= " + std::to_string(lim::kChannels));
  r.require(syn_size <= lim::kImageSize, "synthetic.size", syn_size, "<= " + std::to_string(lim::kImageSize));
  r.require(seeds_min >= 0, "seeds (subset_seed, label_noise.seed, synthetic.seed)", seeds_min, ">= 0");
  r.require(d.augment.crop_padding >= 0 && d.augment.crop_padding <= lim::kImageSize, "augment.crop_padding", d.augment.crop_padding,
            "in [0, " + std::to_string(lim::kImageSize) + "]");
  const double rate = d.label_noise.rate;
  r.require(rate >= 0 && rate <= 1, "label_noise.rate", rate, "in [0, 1]");
  require_choice(where + ".label_noise", "mode", d.label_noise.mode, {"official", "exact"});
  if (d.std) {
    for (const double s : *d.std) r.require(s > 0, "std", *d.std, "positive (one per channel; images are divided by it)");
  }
  if (d.mean && d.std) r.require(d.mean->size() == d.std->size(), "mean", *d.mean, "as long as std");
  return d;
}

namespace {

NamedOptions read_named(common::ConfigReader& parent, const std::string& key) {
  common::ConfigReader r(parent.object(key), parent.where() + "." + key);
  NamedOptions o;
  o.name = r.string("name", "");
  o.options = r.object("options");  // {} when absent; a wrong type is an InputTypeError naming the key
  r.finish();
  return o;
}

/// The recipe's model: {name, options} (a built-in model) or {"torchscript": "path.pt"} (a user's module, stored
/// as name "torchscript" with options {"path": the absolute path}, so that the checkpoint finds it from any folder).
NamedOptions read_model(common::ConfigReader& parent) {
  common::ConfigReader r(parent.object("model"), parent.where() + ".model");
  NamedOptions o;
  const bool has_ts = r.has("torchscript"), has_name = r.has("name"), has_options = r.has("options");
  const std::string ts = r.string("torchscript", "");
  o.name = r.string("name", "");
  o.options = r.raw("options", json::object());
  r.finish();
  if (!has_ts) return o;
  FLATMIN_CHECK(!has_name && !has_options,
                r.where() << ": give either 'torchscript' (a TorchScript file) or 'name' and 'options' (a built-in model), not both");
  FLATMIN_CHECK(!ts.empty(), r.where() << ".torchscript: empty path");
  o.name = "torchscript";
  o.options = {{"path", fs::absolute(ts).lexically_normal().string()}};
  return o;
}

ScheduleConfig read_schedule(const json& j, int64_t epochs, bool& has_eta_min) {
  common::ConfigReader r(j, "train config.schedule");
  ScheduleConfig s;
  s.type = r.string("type", "constant");
  s.milestones = r.integers("milestones", {});
  for (const auto m : s.milestones) r.require(m >= 1, "milestones", s.milestones, "epochs >= 1");
  s.gamma = r.number("gamma", 0.1);
  s.t_max = r.count("t_max", epochs);
  s.eta_min_factor = r.number("eta_min_factor", 0.0);
  s.warmup_epochs = r.number("warmup_epochs", 0.0);
  has_eta_min = r.has("eta_min");
  r.finish();
  return s;
}

}  // namespace

namespace {

TrainConfig resolve_one_profile(const json& raw_in, const std::string& profile) {
  FLATMIN_CHECK(raw_in.is_object(), "train config must be a JSON object");
  common::require_finite_json(raw_in, "train config");
  const json raw = common::merge_profile(raw_in, profile, "train config");
  // pass 1: read (wrong types now), then unknown keys (finish)
  common::ConfigReader r(raw, "train config");
  r.allow({"about", "notes"});
  TrainConfig c;
  c.name = r.string("name", "run");
  const bool has_data = r.has("data"), has_model = r.has("model"), has_optimizer = r.has("optimizer");
  bool has_eta_min = false;
  int64_t run_seed = 0;
  c.data = parse_data_config(r.object("data"), "train config.data", /*require_dataset=*/has_data);
  c.model = read_model(r);
  c.optimizer = read_named(r, "optimizer");
  if (r.has("weight_decay")) c.optimizer.options["weight_decay"] = r.raw("weight_decay", nullptr);  // the registry checks it
  const bool has_epochs = r.has("epochs");
  c.epochs = r.count("epochs", 0);
  c.batch_size = r.count("batch_size", 128);
  c.test_batch_size = r.count("test_batch_size", c.batch_size);
  c.drop_last = r.boolean("drop_last", false);
  c.seed = read_seed(r, "seed", run_seed);
  c.set_epoch = r.boolean("set_epoch", true);
  // A batch loss > divergence_factor × the reference loss (epoch 1's first batch during epoch 1, then epoch 1's
  // mean training loss) ends the run as diverged, as a non-finite loss does; 0 turns the explosion test off.
  c.divergence_factor = r.number("divergence_factor", 1e6);
  const json default_schedule = {{"type", "constant"}};
  c.schedule = read_schedule(r.has("schedule") ? r.object("schedule") : default_schedule, c.epochs, has_eta_min);
  r.finish();

  // pass 2: required keys, allowed values, ranges
  const std::string w = "train config";
  FLATMIN_CHECK(has_data, "train config: missing 'data'");
  FLATMIN_CHECK(has_model, "train config: missing 'model'");
  FLATMIN_CHECK(has_optimizer, "train config: missing 'optimizer'");
  namespace lim = common::limits;
  const std::string epochs_bound = "in [1, " + common::format_count(lim::kEpochs) + "]";
  FLATMIN_CHECK(has_epochs, "train config: missing 'epochs' (an integer " << epochs_bound << ")");
  const std::string batch_bound = "in [1, " + common::format_count(lim::kSamples) + "]";
  r.require(c.epochs >= 1 && c.epochs <= lim::kEpochs, "epochs", c.epochs, epochs_bound);
  r.require(c.batch_size >= 1 && c.batch_size <= lim::kSamples, "batch_size", c.batch_size, batch_bound);
  r.require(c.test_batch_size >= 1 && c.test_batch_size <= lim::kSamples, "test_batch_size", c.test_batch_size, batch_bound);
  r.require(run_seed >= 0, "seed", run_seed, ">= 0");
  const double dfac = c.divergence_factor;
  r.require(dfac == 0 || dfac > 1, "divergence_factor", dfac, "> 1 (or 0: off)");
  const ScheduleConfig& s = c.schedule;
  require_choice(w + ".schedule", "type", s.type, {"constant", "multistep", "cosine"});
  FLATMIN_CHECK(!has_eta_min, "train config.schedule.eta_min: give eta_min_factor (eta_min / base lr; DualAdam's recipe: 0.001)");
  r.require(s.gamma > 0, "schedule.gamma", s.gamma, "> 0");
  r.require(s.t_max >= 1 && s.t_max <= lim::kEpochs, "schedule.t_max", s.t_max, epochs_bound);
  r.require(s.warmup_epochs >= 0 && s.warmup_epochs <= double(lim::kEpochs), "schedule.warmup_epochs", s.warmup_epochs,
            "in [0, " + common::format_count(lim::kEpochs) + "]");
  for (const auto m : s.milestones) r.require(m >= 0 && m <= lim::kEpochs, "schedule.milestones", s.milestones, "in [0, " + common::format_count(lim::kEpochs) + "]");
  // The optimizer's name and options, checked now on a probe parameter (construction validates them; a sweep
  // resolves every run before creating any folder, so an out-of-range option is bad input before any work).
  FLATMIN_CHECK(!c.optimizer.name.empty(), "train config.optimizer: missing 'name'");
  optim::make_optimizer(c.optimizer.name, c.optimizer.options, std::vector<torch::Tensor>{torch::zeros({1})});
  return c;
}

}  // namespace

void check_declared_profiles(const json& raw, const std::string& selected, const std::string& where,
                             const std::function<void(const std::string&)>& check) {
  if (!raw.is_object() || !raw.contains("profiles") || !raw.at("profiles").is_object()) return;
  for (const auto& [name, over] : raw.at("profiles").items()) {
    if (name == selected) continue;
    const std::string suffix = " (with profile '" + name + "', which the " + where + " declares: every declared profile is checked)";
    try {
      check(name);
    } catch (const common::InputTypeError& e) {
      throw common::InputTypeError(e.what() + suffix);
    } catch (const common::InputError& e) {
      throw common::InputError(e.what() + suffix);
    }
  }
}

TrainConfig resolve_train_config(const json& raw_in, const std::string& profile) {
  TrainConfig c = resolve_one_profile(raw_in, profile);
  check_declared_profiles(raw_in, profile, "train config", [&](const std::string& p) { (void)resolve_one_profile(raw_in, p); });
  return c;
}

json TrainConfig::to_json() const {
  json dd;
  dd["dataset"] = data.dataset;
  dd["dir"] = data.dir;
  dd["train_subset"] = data.train_subset;
  dd["test_subset"] = data.test_subset;
  dd["subset_seed"] = data.subset_seed;
  dd["augment"] = {{"crop_padding", data.augment.crop_padding}, {"hflip", data.augment.hflip}};
  dd["normalize"] = data.normalize;
  if (data.mean) dd["mean"] = *data.mean;
  if (data.std) dd["std"] = *data.std;
  dd["label_noise"] = {{"rate", data.label_noise.rate},
                       {"mode", data.label_noise.mode},
                       {"seed", data.label_noise.seed ? json(*data.label_noise.seed) : json(nullptr)}};
  dd["synthetic"] = data.synthetic;
  json c;
  c["name"] = name;
  c["data"] = dd;
  c["model"] = {{"name", model.name}, {"options", model.options}};
  c["optimizer"] = {{"name", optimizer.name}, {"options", optimizer.options}};
  c["epochs"] = epochs;
  c["batch_size"] = batch_size;
  c["test_batch_size"] = test_batch_size;
  c["drop_last"] = drop_last;
  c["seed"] = seed;
  c["set_epoch"] = set_epoch;
  c["divergence_factor"] = divergence_factor;
  c["schedule"] = {{"type", schedule.type},           {"milestones", schedule.milestones},
                   {"gamma", schedule.gamma},         {"t_max", schedule.t_max},
                   {"eta_min_factor", schedule.eta_min_factor}, {"warmup_epochs", schedule.warmup_epochs}};
  return c;
}

double scheduled_lr(const ScheduleConfig& s, double base, int64_t epoch, int64_t step, int64_t steps_per_epoch) {
  double lr = base;
  if (s.type == "multistep") {  // torch MultiStepLR stepped once per epoch after the test pass: lr ← lr·γ per milestone
    auto ms = s.milestones;
    std::sort(ms.begin(), ms.end());
    for (auto m : ms) {
      if (m < epoch) lr *= s.gamma;
    }
  } else if (s.type == "cosine") {  // CosineAnnealingLR's closed form, stepped per epoch
    const double t = static_cast<double>(epoch - 1), T = static_cast<double>(s.t_max);
    const double eta_min = s.eta_min_factor * base;
    lr = eta_min + (base - eta_min) * (1.0 + std::cos(M_PI * std::min(t, T) / T)) / 2.0;
  }
  const double w = s.warmup_epochs * static_cast<double>(steps_per_epoch);
  if (w > 0 && static_cast<double>(step) < w) lr *= static_cast<double>(step + 1) / w;  // linear per-step warm-up
  return lr;
}

bool run_finished(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "result.json", ec)) return false;
  try {
    return common::read_json_file(dir / "result.json").value("status", "") == "finished";
  } catch (const std::exception&) {
    return false;
  }
}

namespace {

/// One run's state, shared by the steps of run_training (restore / train_epoch / save / summarize).
struct Run {
  const TrainArgs& args;
  const TrainConfig cfg;
  const json cfg_json;  // the resolved recipe: config.json, the manifest and the checkpoint store it
  fs::path out, ckpt_file;
  bool writer = true, have_ckpt = false;
  dist::DistOptions dopts;
  torch::Device device = torch::kCPU;
  Data data;
  models::ModelSpec spec;
  std::shared_ptr<models::Net> model;
  torch::Tensor example;  // a few test images: the input model.pt is traced on
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<double> base_lr;
  int64_t steps_per_epoch = 0;
  std::shared_ptr<dist::Communicator> coll;
  std::vector<EpochRow> rows;
  int64_t done_epochs = 0, global_step = 0;
  std::optional<common::RunLock> lock;  // rank 0 owns the folder for the run's lifetime
  std::optional<common::Manifest> manifest;
  std::unique_ptr<common::Progress> progress;
  int64_t progress_done = 0;
  double reference_loss = std::nan("");  // epoch 1's first batch loss, then epoch 1's mean loss

  /// Validates the arguments, builds data, model and optimizer, then creates the run folder and the communicator.
  explicit Run(const TrainArgs& a);
  /// A TorchScript model must map a batch of training images to [batch, classes] logits (InputError otherwise).
  void check_output();
  /// Loads model, optimizer, RNG states and metrics from checkpoint.pt (the recipe must be the saved one).
  void restore();
  /// Writes config.json, model.json and the manifest (status running).
  void start();
  /// Trains and evaluates one epoch, appends its row; true when its test accuracy is the best so far.
  bool train_epoch(int64_t epoch);
  /// Writes the weights, checkpoint.pt and metrics.csv of the epoch just finished.
  void save(int64_t epoch, bool best);
  /// result.json's content; writes it (when finished) and the final manifest.
  json summarize();
  /// Records divergence in the manifest and throws DivergedError.
  [[noreturn]] void diverge(int64_t epoch, int64_t batch, double loss, const std::string& why);
};

Run::Run(const TrainArgs& a) : args(a), cfg(resolve_train_config(a.config, a.profile)), cfg_json(cfg.to_json()), out(a.out) {
  FLATMIN_CHECK(!out.empty(), "train: --out is required");
  common::check_output_dir(out.string(), "--out");  // before any work (issue 15)
  FLATMIN_CHECK(args.world_size >= 1, "--world-size " << args.world_size << " must be >= 1");
  FLATMIN_CHECK(args.rank >= 0 && args.rank < args.world_size,
                "--rank " << args.rank << " is not in [0, --world-size " << args.world_size << ")");
  dopts.rank = args.rank;
  dopts.world_size = args.world_size;
  dopts.local_rank = args.local_rank;
  dopts.backend = args.dist_backend;
  if (args.world_size > 1) {
    FLATMIN_CHECK(!args.dist_store.empty(),
                  "distributed: --dist-store (a file path shared by all ranks) is required with --world-size > 1");
    dopts.init = "file://" + args.dist_store;
  }
  // One GPU per rank: an index-less "cuda" becomes cuda:<local rank> when there are several ranks.
  device = dist::bind_device(dopts, torch::Device(args.device));
  // fail early; an explicit backend is checked at any world size (a useless flag is bad input, issue 15)
  if (args.world_size > 1 || args.dist_backend != "auto") {
    try {
      dist::resolve_backend(dopts, dist::gloo_built(), dist::nccl_built());
    } catch (const common::InputError& e) {
      throw common::InputError("--dist-backend " + args.dist_backend + ": " + e.what());
    }
  }
  FLATMIN_CHECK(!args.sync_bn || args.world_size > 1,
                "--sync-bn needs --world-size > 1 (with one rank the BatchNorm statistics are already the whole batch's)");
  if (device.is_cuda()) {  // bit-identical --resume on a GPU needs deterministic cuDNN kernels
    at::globalContext().setBenchmarkCuDNN(false);
    at::globalContext().setDeterministicCuDNN(true);
  }
  writer = args.rank == 0;
  ckpt_file = out / "checkpoint.pt";
  std::error_code ec;
  have_ckpt = fs::is_regular_file(ckpt_file, ec);
  FLATMIN_CHECK(args.resume || !have_ckpt,
                out.string() << " already holds a checkpoint: pass --resume to continue it, or choose another --out");

  data = load_data(cfg.data, args.data_dir, cfg.seed);
  FLATMIN_CHECK(data.train.n >= 1 && data.test.n >= 1, "train: empty training or test set");

  spec.name = cfg.model.name;
  spec.options = cfg.model.options;
  spec.in_channels = data.train.channels;
  spec.image_size = data.train.height;
  spec.num_classes = data.train.num_classes;
  FLATMIN_CHECK(data.train.height == data.train.width, "train: only square images are supported");

  torch::manual_seed(cfg.seed);
  model = models::make_model(spec);
  if (spec.name == "torchscript") check_output();  // before any folder exists: a mismatch is bad input
  model->to(device);
  {
    std::vector<int64_t> idx{0, 1};
    example = batch(data.test, idx.data(), std::min<int64_t>(2, data.test.n), data.aug_test, false, 0, 0, device).first;
  }
  optimizer = optim::make_optimizer(cfg.optimizer.name, cfg.optimizer.options, model->parameters());
  for (auto& g : optimizer->param_groups()) base_lr.push_back(g.options().get_lr());

  const int64_t bs = cfg.batch_size;
  steps_per_epoch = cfg.drop_last ? data.train.n / bs : (data.train.n + bs - 1) / bs;
  FLATMIN_CHECK(steps_per_epoch >= 1, "train: batch_size " << bs << " > training set size " << data.train.n << " with drop_last");

  fs::create_directories(out);  // only once data, model and optimizer exist: bad input leaves no folder
  if (writer) {  // one writer per folder (exit 2 naming the holder), then the temporaries of killed writers go
    lock.emplace(out, "train: run folder");
    common::remove_stale_temps(out, /*all=*/true);
    have_ckpt = fs::is_regular_file(ckpt_file, ec);  // again, under the lock: a run may have ended meanwhile
    FLATMIN_CHECK(args.resume || !have_ckpt,
                  out.string() << " already holds a checkpoint: pass --resume to continue it, or choose another --out");
  }
  if (args.world_size > 1) {
    if (args.sync_bn) {  // every rank must run every BN forward (the statistics are a collective)
      const int64_t last = data.train.n - (steps_per_epoch - 1) * bs;
      FLATMIN_CHECK(std::min(bs, last) >= args.world_size,
                    "--sync-bn: every global batch needs >= world size (" << args.world_size << ") images; the "
                                                                         << (last < bs ? "last " : "") << "batch has "
                                                                         << std::min(bs, last));
    }
    coll = dist::Communicator::create(dopts);
    if (args.sync_bn) models::sync_batchnorm(*model, coll);
  }
}

void Run::check_output() {
  const std::string what = "model.torchscript '" + spec.options.at("path").get<std::string>() + "'";
  const int64_t count = std::min<int64_t>(2, data.train.n);
  std::vector<int64_t> idx{0, 1};
  auto x = batch(data.train, idx.data(), count, data.aug_test, false, 0, 0, torch::kCPU).first;
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    model->eval();  // no change to BatchNorm running statistics
    try {
      logits = model->forward(x);
    } catch (const std::exception& e) {
      throw common::InputError(what + ": forward of a training batch of shape " + c10::str(x.sizes()) +
                               " failed: " + common::short_library_error(e.what()));
    }
  }
  FLATMIN_CHECK(logits.dim() == 2 && logits.size(0) == count && logits.size(1) == spec.num_classes,
                what << ": output of shape " << logits.sizes() << " for a batch of shape " << x.sizes() << "; the dataset '"
                     << cfg.data.dataset << "' has " << spec.num_classes << " classes, so the logits must be ["
                     << count << ", " << spec.num_classes << "]");
}

void Run::restore() {
  // LibTorch does not verify the archive's CRCs (damaged state would resume silently): check the container first
  if (auto why = common::zip_file_problem(ckpt_file.string()))
    throw common::InputError(ckpt_file.string() + ": unreadable checkpoint: " + *why);
  torch::serialize::InputArchive a;
  try {
    a.load_from(ckpt_file.string());
    FLATMIN_CHECK(read_string(a, "format") == kCheckpointFormat, ckpt_file.string() << ": not a flatmin training checkpoint");
  } catch (const common::InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw common::InputError(ckpt_file.string() + ": unreadable checkpoint: " + common::short_library_error(e.what()));
  }
  json saved = json::parse(read_string(a, "config"));
  // checkpoints from before divergence_factor existed resume under the default
  if (!saved.contains("divergence_factor")) saved["divergence_factor"] = 1e6;
  FLATMIN_CHECK(saved == cfg_json, ckpt_file.string() << ": the checkpoint was written with a different recipe; use another --out "
                                                      << "(saved: " << saved.dump() << ")");
  torch::serialize::InputArchive ma, oa;
  a.read("model", ma);
  model->load(ma);
  model->to(device);
  a.read("optimizer", oa);
  optimizer->load(oa);
  torch::Tensor rng;
  a.read("rng_cpu", rng);
  at::Generator gen = at::detail::getDefaultCPUGenerator();  // a handle to the global generator
  gen.set_state(rng);
  if (device.is_cuda()) {  // dropout etc. on the GPU draw from its own generator
    torch::Tensor rng_cuda;
    FLATMIN_CHECK(a.try_read("rng_cuda", rng_cuda),
                  ckpt_file.string() << ": the checkpoint was written on the CPU; resume it with --device cpu");
    at::Generator g = at::globalContext().defaultGenerator(device);
    g.set_state(rng_cuda);
  }
  done_epochs = read_int(a, "epoch");
  global_step = read_int(a, "global_step");
  for (const auto& r : json::parse(read_string(a, "metrics"))) rows.push_back(EpochRow::from_json(r));
  if (!rows.empty()) reference_loss = rows.front().train_loss;  // epoch 1's mean
}

void Run::start() {
  if (writer) common::write_json_atomic(out / "config.json", cfg_json);
  json model_json = {{"model", spec.to_json()},
                     {"weights", {{"final", "model_final.pt"}, {"best", "model_best.pt"}}},
                     {"format", "torch::serialize::OutputArchive of the module (Module::save); rebuild with "
                                "flatmin::models::make_model(ModelSpec::from_json(model)) and Module::load"},
                     {"torchscript", {{"file", "model.pt"},
                                      {"weights", "final"},
                                      {"how", spec.name == "torchscript" ? "the recipe's TorchScript module, trained"
                                                                         : "traced in eval mode (BatchNorm running statistics)"},
                                      {"run", "torch.jit.load(path)(x) on normalised N x C x H x W float32 images"}}},
                     {"input", {{"mean", data.aug_test.mean}, {"std", data.aug_test.std}}},
                     {"dataset", cfg.data.dataset}};
  if (writer) common::write_json_atomic(out / "model.json", model_json);

  manifest.emplace("train", args.argv);
  manifest->set_library_version("libtorch", TORCH_VERSION);
  manifest->set_field("intra_op_threads", at::get_num_threads());
  manifest->set_config(cfg_json);
  manifest->set_seed("seed", cfg.seed);
  manifest->set_field("parameters", models::parameter_count(*model));
  manifest->set_field("label_noise", data.noise.to_json());
  manifest->set_field("resumed_from_epoch", done_epochs);
  manifest->set_field("world_size", args.world_size);
  manifest->set_field("sync_bn", args.sync_bn);
  if (writer) manifest->write(out / "manifest.json");
}

// Divergence (an outcome, not bad input): a non-finite batch loss, or one above divergence_factor × the reference
// loss, ends the run with manifest status "diverged" and a DivergedError (exit 1). Nothing of the diverged epoch
// is written: checkpoint.pt, model_*.pt and metrics.csv stay those of the last finished epoch.
void Run::diverge(int64_t epoch, int64_t batch, double loss, const std::string& why) {
  std::ostringstream where;
  where << "epoch " << epoch << ", batch " << batch << ": loss = " << common::format_double(loss) << " " << why;
  const std::string kept = epoch > 1 ? "checkpoint.pt keeps epoch " + std::to_string(epoch - 1)
                                     : "no checkpoint: it diverged in epoch 1";
  if (writer) {
    manifest->set_field("diverged_at", {{"epoch", epoch}, {"batch", batch}, {"loss", std::isfinite(loss) ? json(loss) : json(nullptr)}});
    manifest->finish(common::RunStatus::diverged, "diverged at " + where.str());
    manifest->write(out / "manifest.json");
  }
  throw common::DivergedError("train: " + where.str() + "; lower the lr (" + kept + ")");
}

bool Run::train_epoch(int64_t epoch) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = cfg.seed;
  const int64_t bs = cfg.batch_size;
  if (cfg.set_epoch) optim::set_epoch(*optimizer, epoch);  // MIAdam's switch is epoch-based (1-based, as the scripts)
  model->train();
  const auto order = data::epoch_order(data.train.n, seed, epoch);
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  double lr_now = 0;
  for (int64_t b = 0; b < steps_per_epoch; ++b, ++global_step) {
    const int64_t start = b * bs, count = std::min(bs, data.train.n - start);
    for (size_t g = 0; g < base_lr.size(); ++g) {
      optimizer->param_groups()[g].options().set_lr(scheduled_lr(cfg.schedule, base_lr[g], epoch, global_step, steps_per_epoch));
    }
    lr_now = optimizer->param_groups()[0].options().get_lr();
    optimizer->zero_grad();
    double l = 0;
    if (!coll) {
      auto [x, y] = batch(data.train, order.data() + start, count, data.aug_train, true, seed, epoch, device);
      auto logits = model->forward(x);
      auto loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      optimizer->step();
      l = loss.item<double>();
      loss_sum += l * double(count);
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += count;
    } else {  // this rank's even share of the global batch; Σ_ranks (Σ_shard CE)/count = the global mean
      const int64_t W = coll->world_size(), r = coll->rank();
      const int64_t lo = start + count * r / W, hi = start + count * (r + 1) / W;
      if (hi > lo) {  // (--sync-bn guarantees hi > lo on every rank)
        auto [x, y] = batch(data.train, order.data() + lo, hi - lo, data.aug_train, true, seed, epoch, device);
        auto logits = model->forward(x);
        auto loss = torch::nn::functional::cross_entropy(
                        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                    static_cast<double>(count);
        loss.backward();
        l = loss.item<double>();
        loss_sum += l * double(count);
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
        seen += hi - lo;
      }
      coll->allreduce_grads(model->parameters());
      optimizer->step();
    }
    double batch_loss = l;  // the global batch's mean loss: every rank takes the same decision
    if (coll) coll->allreduce_sum(&batch_loss, 1);
    if (!std::isfinite(batch_loss)) diverge(epoch, b + 1, batch_loss, "is not finite");
    if (std::isnan(reference_loss)) reference_loss = batch_loss;  // epoch 1, batch 1
    const double factor = cfg.divergence_factor;
    if (factor > 0 && reference_loss > 0 && batch_loss > factor * reference_loss) {
      std::ostringstream why;
      why << "> divergence_factor " << common::format_double(factor) << " x " << common::format_double(reference_loss)
          << (rows.empty() ? " (epoch 1's first batch loss)" : " (epoch 1's mean loss)");
      diverge(epoch, b + 1, batch_loss, why.str());
    }
    progress->update(++progress_done);
  }
  if (coll) {
    double t[3] = {loss_sum, double(correct), double(seen)};
    coll->allreduce_sum(t, 3);
    loss_sum = t[0];
    correct = static_cast<int64_t>(t[1]);
    seen = static_cast<int64_t>(t[2]);
  }
  EpochRow row;
  row.epoch = epoch;
  row.lr = lr_now;
  row.train_loss = loss_sum / double(seen);
  row.train_acc = double(correct) / double(seen);
  std::tie(row.test_loss, row.test_acc) = evaluate(*model, data.test, data.aug_test, cfg.test_batch_size, device);
  row.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool best = rows.empty() || std::all_of(rows.begin(), rows.end(), [&](const EpochRow& r) { return row.test_acc > r.test_acc; });
  rows.push_back(row);
  if (rows.size() == 1) reference_loss = row.train_loss;  // epoch 1's mean training loss from here on
  return best;
}

void Run::save(int64_t epoch, bool best) {
  save_model(*model, out / "model_final.pt");
  models::save_torchscript(*model, example, out / "model.pt");  // what Python runs: torch.jit.load(path)(x)
  if (best) save_model(*model, out / "model_best.pt");
  json metrics = json::array();
  for (const auto& r : rows) metrics.push_back(r.to_json());
  torch::serialize::OutputArchive a, ma, oa;
  a.write("format", c10::IValue(std::string(kCheckpointFormat)));
  a.write("config", c10::IValue(cfg_json.dump()));
  a.write("epoch", c10::IValue(epoch));
  a.write("global_step", c10::IValue(global_step));
  a.write("metrics", c10::IValue(metrics.dump()));
  a.write("model_spec", c10::IValue(spec.to_json().dump()));
  model->save(ma);
  a.write("model", ma);
  optimizer->save(oa);
  a.write("optimizer", oa);
  a.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state());
  if (device.is_cuda()) a.write("rng_cuda", at::globalContext().defaultGenerator(device).get_state());
  write_archive_atomic(a, ckpt_file);  // metrics.csv is rewritten after the checkpoint: never ahead of it
  write_metrics_csv(rows, out / "metrics.csv");
}

json Run::summarize() {
  json result;
  const bool finished = !rows.empty() && rows.back().epoch == cfg.epochs;
  result["status"] = finished ? "finished" : "interrupted";  // --stop-after ended it early: resumable
  result["name"] = cfg.name;
  result["epochs_done"] = rows.empty() ? 0 : rows.back().epoch;
  result["epochs"] = cfg.epochs;
  if (!rows.empty()) {
    size_t bi = 0;
    double wall = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].test_acc > rows[bi].test_acc) bi = i;
      wall += rows[i].time_s;
    }
    result["best_epoch"] = rows[bi].epoch;
    result["best_test_acc"] = rows[bi].test_acc;  // what the official scripts report (max over epochs)
    result["final_test_acc"] = rows.back().test_acc;
    result["final_train_loss"] = rows.back().train_loss;
    result["final_test_loss"] = rows.back().test_loss;
    result["train_time_s"] = wall;
    result["images_per_s"] = wall > 0 ? double(data.train.n) * double(rows.size()) / wall : 0.0;
  }
  result["optimizer"] = cfg_json.at("optimizer");
  result["resolved_optimizer"] = optim::resolved_options(cfg.optimizer.name, *optimizer);
  result["seed"] = cfg.seed;
  result["label_noise"] = data.noise.to_json();
  result["train_size"] = data.train.n;
  result["test_size"] = data.test.n;
  result["parameters"] = models::parameter_count(*model);
  if (!writer) return result;
  if (finished) common::write_json_atomic(out / "result.json", result);
  manifest->set_field("result", result);
  manifest->finish(finished ? common::RunStatus::ok : common::RunStatus::interrupted,
                   finished ? "" : "stopped after epoch " + std::to_string(result["epochs_done"].get<int64_t>()) + " of " + std::to_string(cfg.epochs) + " (--stop-after); --resume continues");
  manifest->write(out / "manifest.json");
  return result;
}

}  // namespace

json run_training(const TrainArgs& args) {
  Run run(args);
  if (run.have_ckpt) run.restore();
  try {
    run.start();
    const int64_t last_epoch = args.stop_after > 0 ? std::min(run.cfg.epochs, run.done_epochs + args.stop_after) : run.cfg.epochs;
    run.progress = std::make_unique<common::Progress>(run.cfg.name, (last_epoch - run.done_epochs) * run.steps_per_epoch, 10.0,
                                                      args.progress && run.writer ? &std::cerr : nullptr);
    for (int64_t epoch = run.done_epochs + 1; epoch <= last_epoch; ++epoch) {
      const bool best = run.train_epoch(epoch);
      if (run.writer) run.save(epoch, best);
    }
    run.progress->finish();
    return run.summarize();
  } catch (const common::DivergedError&) {
    throw;  // diverge() recorded it
  } catch (const std::exception& e) {
    // A run-time failure (a full disk, a file size limit, …): manifest "failed" with the one-line message, best
    // effort (the manifest itself may not fit); checkpoint.pt stays the last one written completely.
    if (run.writer && run.manifest) {
      run.manifest->finish(common::RunStatus::failed, common::single_line(e.what()));
      try {
        run.manifest->write(run.out / "manifest.json");
      } catch (const std::exception&) {
      }
    }
    throw;
  }
}

}  // namespace flatmin::train
