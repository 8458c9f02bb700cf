#pragma once
/// \file
/// `flatmin hessian --checkpoint`: rebuilds a flatmin C++ model from a `flatmin train` run (the model
/// spec the checkpoint records), loads its weights, and materialises a fixed, un-augmented subset of the
/// recipe's dataset (docs/hessian.md, "Training checkpoints"). Every problem is an InputError.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/commands/checkpoint_data.h"
#include "experiments/train/trainer.h"
#include "hessian/hessian_operator.h"

namespace flatmin::experiments {

/// A model rebuilt from a training run.
struct CheckpointModel {
  flatmin::hessian::Model model;
  nlohmann::json spec;    ///< ModelSpec::to_json() (name, in_channels, image_size, num_classes, options)
  train::DataConfig data;  ///< the training recipe's data (dataset empty when the checkpoint records none)
  nlohmann::json info;    ///< {file, kind, epoch, n_params}
};

/// `path` is a run folder (uses DIR/checkpoint.pt), a checkpoint.pt file (format
/// "flatmin.train.checkpoint/1"), or a model_final.pt / model_best.pt archive next to its model.json.
CheckpointModel load_training_checkpoint(const std::string& path);

/// The N images (normalised as in training, no augmentation, clean labels) as x [N,C,H,W] float32,
/// y [N] int64. `data.dataset` may be empty only when `sel.dataset` is not "checkpoint". `info` receives
/// {dataset, split, subset, subset_seed, n_samples, normalize: {mean, std}}.
flatmin::hessian::Dataset load_checkpoint_dataset(const train::DataConfig& data, const nlohmann::json& spec,
                                                  const CheckpointData& sel, nlohmann::json* info);

}  // namespace flatmin::experiments
