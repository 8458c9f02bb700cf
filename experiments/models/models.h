#pragma once
/// \file
/// Image classifiers built by name: the papers' CIFAR models (kuangliu-style ResNet18/50, DenseNet121,
/// PyramidNet110, VGG16-BN, a timm-style ViT) and CPU-scale models (small_resnet ≈ 78k parameters,
/// small_cnn). Every model takes N×C×H×W input with the dataset's channel count, so 1-channel 28×28
/// Fashion-MNIST works (the stem takes C channels; the head pools globally — docs/training.md).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "experiments/models/model_spec.h"  // ModelSpec, model_names()

namespace flatmin::models {

/// A classifier: logits = forward(images).
class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// Builds the model (parameters initialised from torch's global generator). InputError on an unknown
/// name or bad options.
std::shared_ptr<Net> make_model(const ModelSpec& spec);

/// Number of trainable scalars.
int64_t parameter_count(const torch::nn::Module& m);

}  // namespace flatmin::models
