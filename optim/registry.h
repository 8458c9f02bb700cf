#pragma once
/// \file
/// Optimizer registry: create any flatmin or LibTorch optimizer by name + JSON options.
/// Option names follow PyTorch (lr, betas, eps, weight_decay, amsgrad, momentum, …), then the
/// official constructors' names (kappa, order, switch_epoch, switch_step, switch_rate, …).
/// Unknown names/options and out-of-range values throw flatmin::common::InputError.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "optim/field_info.h"

namespace flatmin::optim {

/// One parameter group: its tensors and its option overrides (merged over the top-level options).
struct GroupSpec {
  std::vector<torch::Tensor> params;
  nlohmann::json options = nlohmann::json::object();
};

/// Every name the registry accepts, sorted.
std::vector<std::string> registry_names();

/// Creates the optimizer `name` over `groups`; `options` are the defaults for every group.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name, const nlohmann::json& options,
                                                        std::vector<GroupSpec> groups);

/// Convenience: one group holding `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name, const nlohmann::json& options,
                                                        std::vector<torch::Tensor> params);

/// The options `name` takes, as data: name, type, default, constraint, source of the default, doc.
std::vector<FieldInfo> optimizer_schema(const std::string& name);

/// The fully resolved options (defaults filled in) of every group, for manifests.
nlohmann::json resolved_options(const std::string& name, const torch::optim::Optimizer& optimizer);

}  // namespace flatmin::optim
