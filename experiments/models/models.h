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

namespace flatmin::models {

/// What a model is built from; written to the checkpoint and to model.json so that any tool
/// (e.g. `flatmin hessian`) can rebuild the module and load model.pt into it.
struct ModelSpec {
  std::string name;
  int64_t in_channels = 3, image_size = 32, num_classes = 10;
  nlohmann::json options = nlohmann::json::object();
  nlohmann::json to_json() const;
  static ModelSpec from_json(const nlohmann::json& j);
};

/// A classifier: logits = forward(images).
class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// Every name make_model accepts.
std::vector<std::string> model_names();

/// Builds the model (parameters initialised from torch's global generator). InputError on an unknown
/// name or bad options.
std::shared_ptr<Net> make_model(const ModelSpec& spec);

/// Number of trainable scalars.
int64_t parameter_count(const torch::nn::Module& m);

}  // namespace flatmin::models
