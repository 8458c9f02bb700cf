#include "optim/registry.h"

#include <cmath>
#include <functional>
#include <map>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "common/error.h"
#include "common/nearest.h"
#include "optim/detail/registry_entry.h"
#include "optim/dualadam.h"
#include "optim/miadam.h"
#include "optim/optimizer_base.h"

namespace flatmin::optim {

namespace {

using nlohmann::json;
using detail::Entry;
using detail::OptionsPtr;
using Groups = std::vector<torch::optim::OptimizerParamGroup>;


// ---- LibTorch's own ---------------------------------------------------------------------------

#define FLATMIN_SGD_FIELDS(X)                                                                        \
  X(double, lr, 0.0, at_least(0), "torch.optim.SGD (required: no default)", "learning rate")        \
  X(double, momentum, 0.0, at_least(0), "torch.optim.SGD", "momentum factor")                       \
  X(double, dampening, 0.0, any(), "torch.optim.SGD", "dampening of the momentum")                  \
  X(double, weight_decay, 0.0, at_least(0), "torch.optim.SGD", "coupled L2: g ← g + wd·θ")          \
  X(bool, nesterov, false, any(), "torch.optim.SGD", "Nesterov momentum (needs momentum > 0, dampening = 0)")

#define FLATMIN_ADAM_LIKE_FIELDS(X, wd)                                                              \
  X(double, lr, 1e-3, at_least(0), "torch.optim", "learning rate")                                  \
  X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "torch.optim", "β1, β2")                      \
  X(double, eps, 1e-8, at_least(0), "torch.optim", "ε, outside the root")                           \
  X(double, weight_decay, wd, at_least(0), "torch.optim", "weight decay (Adam: coupled L2; AdamW: decoupled)") \
  X(bool, amsgrad, false, any(), "torch.optim", "AMSGrad: max of v")
#define FLATMIN_ADAM_FIELDS(X) FLATMIN_ADAM_LIKE_FIELDS(X, 0.0)
#define FLATMIN_ADAMW_FIELDS(X) FLATMIN_ADAM_LIKE_FIELDS(X, 1e-2)

/// The field table of a LibTorch options type (over its TORCH_ARG accessors).
#define FLATMIN_TORCH_SCHEMA(fn, Type, FIELDS)                                         \
  const std::vector<schema::Field<Type>>& fn() {                                        \
    using Self = Type;                                                                  \
    static const std::vector<schema::Field<Self>> f{FIELDS(FLATMIN_SCHEMA_FIELD)};      \
    return f;                                                                           \
  }
FLATMIN_TORCH_SCHEMA(sgd_fields, torch::optim::SGDOptions, FLATMIN_SGD_FIELDS)
FLATMIN_TORCH_SCHEMA(adam_fields, torch::optim::AdamOptions, FLATMIN_ADAM_FIELDS)
FLATMIN_TORCH_SCHEMA(adamw_fields, torch::optim::AdamWOptions, FLATMIN_ADAMW_FIELDS)

Entry sgd_entry() {
  Preset preset;
  preset.required = {"lr"};
  preset.required_hint = " (torch.optim.SGD has no default)";
  auto e = detail::entry_over<torch::optim::SGD, torch::optim::SGDOptions>(sgd_fields(), preset);
  auto parse = e.parse;
  e.parse = [parse](const json& j, const std::string& who) {
    auto o = parse(j, who);
    const auto& s = static_cast<const torch::optim::SGDOptions&>(*o);
    FLATMIN_CHECK(!s.nesterov() || (s.momentum() > 0 && s.dampening() == 0),
                  who << ": nesterov = true needs momentum > 0 and dampening = 0");
    return o;
  };
  return e;
}

// ---- the table --------------------------------------------------------------------------------

const std::map<std::string, Entry>& table() {
  static const std::map<std::string, Entry> t = [] {
    detail::RegistryTable m;
    register_miadam(m);
    register_dualadam(m);
    register_adam_cm(m);
    register_adai(m);
    register_nadam(m);
    register_adamax(m);
    register_adabound(m);
    register_swats(m);
    register_ndadam(m);
    register_adabelief(m);
    m["sgd"] = sgd_entry();
    m["adam"] = detail::entry_over<torch::optim::Adam, torch::optim::AdamOptions>(adam_fields(), {});
    m["adamw"] = detail::entry_over<torch::optim::AdamW, torch::optim::AdamWOptions>(adamw_fields(), {});
    return m;
  }();
  return t;
}

const Entry& find(const std::string& name) {
  const auto& t = table();
  auto it = t.find(name);
  if (it == t.end()) {
    throw common::InputError(common::unknown_name_message("optimizer", name, registry_names()));
  }
  return it->second;
}

}  // namespace

std::vector<std::string> registry_names() {
  std::vector<std::string> names;
  for (const auto& kv : table()) names.push_back(kv.first);
  return names;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name, const json& options,
                                                        std::vector<GroupSpec> groups) {
  const auto& e = find(name);
  FLATMIN_CHECK(options.is_object(), name << ": options must be a JSON object");
  auto defaults = e.parse(options, name);
  Groups torch_groups;
  std::vector<OptionsPtr> group_options;
  for (size_t i = 0; i < groups.size(); ++i) {
    FLATMIN_CHECK(groups[i].options.is_object(), name << ": group " << i << " options must be a JSON object");
    json merged = options;
    merged.update(groups[i].options);
    group_options.push_back(e.parse(merged, name + " (group " + std::to_string(i) + ")"));
    torch_groups.emplace_back(groups[i].params, group_options.back()->clone());
  }
  auto opt = e.make(std::move(torch_groups), *defaults);
  // flatmin's optimizers keep each group's options themselves (OptimizerWith); LibTorch's own get
  // them re-applied here (newer LibTorch replaces per-group options by the defaults, spec §14.2).
  if (dynamic_cast<OptimizerBase*>(opt.get()) == nullptr) {
    for (size_t i = 0; i < group_options.size(); ++i) opt->param_groups()[i].set_options(std::move(group_options[i]));
  }
  return opt;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::string& name, const json& options,
                                                        std::vector<torch::Tensor> params) {
  std::vector<GroupSpec> groups(1);
  groups[0].params = std::move(params);
  return make_optimizer(name, options, std::move(groups));
}

json resolved_options(const std::string& name, const torch::optim::Optimizer& optimizer) {
  const auto& e = find(name);
  json groups = json::array();
  for (const auto& g : optimizer.param_groups()) groups.push_back(e.to_json(g.options()));
  return groups;
}

json resolved_defaults(const std::string& name, const torch::optim::Optimizer& optimizer) {
  return find(name).to_json(optimizer.defaults());
}

void set_group_options(const std::string& name, torch::optim::Optimizer& optimizer, size_t group,
                       const json& options) {
  const auto& e = find(name);
  FLATMIN_CHECK(group < optimizer.param_groups().size(),
                name << ": group " << group << " out of range (" << optimizer.param_groups().size() << " groups)");
  FLATMIN_CHECK(options.is_object(), name << ": group " << group << " options must be a JSON object");
  auto& current = optimizer.param_groups()[group].options();
  json merged = e.to_json(current);
  merged.update(options);
  auto parsed = e.parse(merged, name + " (group " + std::to_string(group) + ")");
  e.keep_internal(current, *parsed);  // SWATS' phase, AdaBound's base_lr: not user options, kept
  optimizer.param_groups()[group].set_options(std::move(parsed));
}

void add_param_group(const std::string& name, torch::optim::Optimizer& optimizer, GroupSpec group) {
  const auto& e = find(name);
  const auto index = optimizer.param_groups().size();
  FLATMIN_CHECK(group.options.is_object(), name << ": group " << index << " options must be a JSON object");
  json merged = e.to_json(optimizer.defaults());
  merged.update(group.options);
  auto parsed = e.parse(merged, name + " (group " + std::to_string(index) + ")");
  if (auto* base = dynamic_cast<OptimizerBase*>(&optimizer)) return base->add_group(std::move(group.params), std::move(parsed));
  // LibTorch's own optimizers: theirs checks leaves and duplicates; newer versions replace per-group
  // options by the defaults (spec §14.2), so they are set again.
  optimizer.add_param_group(torch::optim::OptimizerParamGroup(std::move(group.params), parsed->clone()));
  optimizer.param_groups().back().set_options(std::move(parsed));
}

bool save_param_state(const torch::optim::Optimizer& optimizer, const torch::Tensor& p,
                      torch::serialize::OutputArchive& archive) {
  const auto& state = optimizer.state();
  auto it = state.find(detail::state_key(p));
  if (it == state.end()) return false;
  it->second->serialize(archive);
  return true;
}

namespace {

/// LibTorch's own optimizers: their state types, read as LibTorch's serialize() writes them.
template <class State>
void load_torch_state(torch::optim::Optimizer& optimizer, const torch::Tensor& p, torch::serialize::InputArchive* archive) {
  auto& state = optimizer.state();
  state.erase(detail::state_key(p));
  if (archive == nullptr) return;
  auto st = std::make_unique<State>();
  st->serialize(*archive);
  state[detail::state_key(p)] = std::move(st);
}

}  // namespace

void load_param_state(torch::optim::Optimizer& optimizer, const torch::Tensor& p,
                      torch::serialize::InputArchive* archive) {
  if (auto* b = dynamic_cast<OptimizerBase*>(&optimizer)) return b->load_param_state(p, archive);
  if (dynamic_cast<torch::optim::SGD*>(&optimizer)) return load_torch_state<torch::optim::SGDParamState>(optimizer, p, archive);
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer)) return load_torch_state<torch::optim::AdamWParamState>(optimizer, p, archive);
  if (dynamic_cast<torch::optim::Adam*>(&optimizer)) return load_torch_state<torch::optim::AdamParamState>(optimizer, p, archive);
  throw common::InputError("load_param_state: unsupported optimizer type");
}

}  // namespace flatmin::optim

namespace flatmin::optim {

std::vector<FieldInfo> optimizer_schema(const std::string& name) { return find(name).schema(); }

}  // namespace flatmin::optim
