#pragma once
/// \file
/// What a model is built from (ModelSpec) and the LibTorch-free readers of the files that record it:
/// model.json next to a run's weights and the JSON metadata of a training checkpoint (docs/training.md,
/// docs/hessian.md "Training checkpoints"). Every problem is a common::InputError naming the file, the key
/// and the expected type or range. Also the entry point of the fuzz target tests/fuzz/fuzz_model_json.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::models {

/// The bounds of a model spec's sizes (docs/robustness.md, "Bounds"): those of the data sets a model is
/// built for (common/limits.h: channels 64, image side 4096 px, classes 1e5); make_model needs >= 2 classes.
inline constexpr int64_t kMinClasses = 2;

/// What a model is built from; written to the checkpoint and to model.json so that any tool
/// (e.g. `flatmin hessian`) can rebuild the module and load model.pt into it.
struct ModelSpec {
  std::string name;
  int64_t in_channels = 3, image_size = 32, num_classes = 10;
  nlohmann::json options = nlohmann::json::object();
  nlohmann::json to_json() const;
  /// Reads to_json()'s object strictly: name (a known model, see model_names()), in_channels in [1, 64],
  /// image_size in [1, 4096], num_classes in [2, 1e5] (all required), options (an object, default {}) whose
  /// keys the model knows; no other key. InputError prefixed by `where` on any violation.
  static ModelSpec from_json(const nlohmann::json& j, const std::string& where = "model spec");
};

/// Every name make_model accepts (tests/experiments/train_test.cpp builds each one).
std::vector<std::string> model_names();

/// `options` is an object, `name` a known model and every option key one it knows (values are make_model's
/// to check). The messages start with `prefix` (e.g. "model.json: model: "; empty for make_model).
void check_model_options(const std::string& name, const nlohmann::json& options, const std::string& prefix = "");

/// The format tag of a `flatmin train` checkpoint.pt (experiments/train/trainer.cpp writes it).
inline constexpr const char* kTrainCheckpointFormat = "flatmin.train.checkpoint/1";

/// model.json as `flatmin train` writes it: {"model": spec, "weights", "format", "torchscript", "input":
/// {"mean", "std"}, "dataset", "about", "notes"}. `model` is the "model" entry as given (ModelSpec::from_json
/// checks it); with `read_input` every other key is checked too (unknown keys, dataset a string, input
/// an object of number lists), else they are ignored (a run folder whose config.json gives the data).
struct ModelJson {
  nlohmann::json model;
  std::string dataset;             ///< "" when absent
  std::vector<double> mean, std;   ///< input.mean / input.std; empty when absent
};
ModelJson read_model_json(const nlohmann::json& j, const std::string& where, bool read_input);

/// The JSON metadata of a training checkpoint: its format tag (must be kTrainCheckpointFormat), the model
/// spec and the resolved recipe (JSON texts; the recipe must be an object). `where` is the file.
struct CheckpointMeta {
  nlohmann::json model;   ///< the model spec as given (ModelSpec::from_json checks it)
  nlohmann::json recipe;  ///< the training recipe (an object)
};
CheckpointMeta read_checkpoint_meta(const std::string& format, const std::string& model_spec_text,
                                    const std::string& config_text, const std::string& where);

}  // namespace flatmin::models
