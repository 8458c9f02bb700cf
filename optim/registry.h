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
#include <torch/serialize/archive.h>

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

/// The resolved options the optimizer was constructed with (its defaults for new groups).
nlohmann::json resolved_defaults(const std::string& name, const torch::optim::Optimizer& optimizer);

/// Replaces group `group`'s options by `options` (a complete or partial option object of `name`,
/// parsed and validated as at construction; the Python front end's live param_groups). Internal
/// fields (SWATS' phase, AdaBound's base_lr) keep their current values.
void set_group_options(const std::string& name, torch::optim::Optimizer& optimizer, size_t group,
                       const nlohmann::json& options);

/// Appends `group` to the optimizer (torch.optim's add_param_group): its options are merged over
/// the optimizer's defaults, parsed and validated as at construction; on invalid options or a tensor
/// already in a group nothing changes.
void add_param_group(const std::string& name, torch::optim::Optimizer& optimizer, GroupSpec group);

/// Writes p's per-parameter state as its checkpoint does; false when p has no state yet.
bool save_param_state(const torch::optim::Optimizer& optimizer, const torch::Tensor& p,
                      torch::serialize::OutputArchive& archive);

/// Replaces p's state by the one in `archive` (nullptr: none), checked as a checkpoint is.
void load_param_state(torch::optim::Optimizer& optimizer, const torch::Tensor& p,
                      torch::serialize::InputArchive* archive);

}  // namespace flatmin::optim
