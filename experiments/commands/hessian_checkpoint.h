#pragma once
/// \file
/// `flatmin hessian --checkpoint`: rebuilds a flatmin C++ model from a `flatmin train` run (the model
/// spec the checkpoint records), loads its weights, and materialises a fixed, un-augmented subset of the
/// recipe's dataset (docs/hessian.md, "Training checkpoints"). Every problem is an InputError.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "hessian/hessian_operator.h"

namespace flatmin::experiments {

/// A model rebuilt from a training run.
struct CheckpointModel {
  flatmin::hessian::Model model;
  nlohmann::json spec;    ///< ModelSpec::to_json() (name, in_channels, image_size, num_classes, options)
  nlohmann::json recipe;  ///< the resolved training recipe (null for a model_*.pt + model.json pair)
  nlohmann::json info;    ///< {file, kind, epoch, n_params}
};

/// `path` is a run folder (uses DIR/checkpoint.pt), a checkpoint.pt file (format
/// "flatmin.train.checkpoint/1"), or a model_final.pt / model_best.pt archive next to its model.json.
CheckpointModel load_training_checkpoint(const std::string& path);

/// Which images the Hessian is evaluated on.
struct CheckpointData {
  std::string dataset = "checkpoint";  ///< checkpoint (the recipe's) | fashion-mnist | synthetic | cifar10 | cifar100
  std::string split = "train";         ///< train | test
  std::int64_t subset = 0;             ///< N images (0 = all of the split)
  std::int64_t subset_seed = -1;       ///< < 0: the first N; >= 0: the first N of data::subset's permutation
  std::string data_dir;                ///< overrides the recipe's data.dir
};

/// The N images (normalised as in training, no augmentation, clean labels) as x [N,C,H,W] float32,
/// y [N] int64. `recipe` may be null only when `dataset` is not "checkpoint". `info` receives
/// {dataset, split, subset, subset_seed, n_samples, normalize: {mean, std}}.
flatmin::hessian::Dataset load_checkpoint_dataset(const nlohmann::json& recipe, const nlohmann::json& spec,
                                                  const CheckpointData& sel, nlohmann::json* info);

}  // namespace flatmin::experiments
