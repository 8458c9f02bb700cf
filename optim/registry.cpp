#include "optim/registry.h"

#include <cmath>
#include <functional>
#include <map>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "common/error.h"
#include "optim/detail/json_options.h"
#include "optim/detail/registry_entry.h"
#include "optim/detail/options_check.h"
#include "optim/dualadam.h"
#include "optim/miadam.h"

namespace flatmin::optim {

namespace {

using nlohmann::json;
using detail::betas_json;
using detail::Entry;
using detail::entry;
using detail::OptionsPtr;
using Groups = std::vector<torch::optim::OptimizerParamGroup>;


// ---- LibTorch's own ---------------------------------------------------------------------------

torch::optim::SGDOptions parse_sgd(detail::OptionReader& r) {
  FLATMIN_CHECK(r.has("lr"), "sgd: option 'lr' is required (torch.optim.SGD has no default)");
  torch::optim::SGDOptions o(r.number("lr", 0.0));
  o.momentum(r.number("momentum", 0.0));
  o.dampening(r.number("dampening", 0.0));
  o.weight_decay(r.number("weight_decay", 0.0));
  o.nesterov(r.boolean("nesterov", false));
  detail::check_lr("sgd", o.lr());
  detail::check_nonneg("sgd", "momentum", o.momentum());
  detail::check_nonneg("sgd", "weight_decay", o.weight_decay());
  FLATMIN_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
                "sgd: nesterov = true needs momentum > 0 and dampening = 0");
  return o;
}

json sgd_json(const torch::optim::SGDOptions& o) {
  return {{"lr", o.lr()}, {"momentum", o.momentum()}, {"dampening", o.dampening()},
          {"weight_decay", o.weight_decay()}, {"nesterov", o.nesterov()}};
}

template <class AdamLike>
AdamLike parse_adam_like(detail::OptionReader& r, const std::string& who, double default_wd) {
  AdamLike o(r.number("lr", 1e-3));
  o.betas(r.betas(std::make_tuple(0.9, 0.999)));
  o.eps(r.number("eps", 1e-8));
  o.weight_decay(r.number("weight_decay", default_wd));
  o.amsgrad(r.boolean("amsgrad", false));
  detail::check_lr(who, o.lr());
  detail::check_betas(who, o.betas());
  detail::check_nonneg(who, "eps", o.eps());
  detail::check_nonneg(who, "weight_decay", o.weight_decay());
  return o;
}

template <class AdamLike>
json adam_like_json(const AdamLike& o) {
  return {{"lr", o.lr()}, {"betas", betas_json(o.betas())}, {"eps", o.eps()},
          {"weight_decay", o.weight_decay()}, {"amsgrad", o.amsgrad()}};
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
    m["sgd"] = entry<torch::optim::SGD, torch::optim::SGDOptions>([](auto& r) { return parse_sgd(r); }, sgd_json);
    m["adam"] = entry<torch::optim::Adam, torch::optim::AdamOptions>(
        [](auto& r) { return parse_adam_like<torch::optim::AdamOptions>(r, "adam", 0.0); },
        adam_like_json<torch::optim::AdamOptions>);
    m["adamw"] = entry<torch::optim::AdamW, torch::optim::AdamWOptions>(
        [](auto& r) { return parse_adam_like<torch::optim::AdamWOptions>(r, "adamw", 1e-2); },
        adam_like_json<torch::optim::AdamWOptions>);
    return m;
  }();
  return t;
}

const Entry& find(const std::string& name) {
  const auto& t = table();
  auto it = t.find(name);
  if (it == t.end()) {
    std::string known;
    for (const auto& kv : t) known += (known.empty() ? "" : ", ") + kv.first;
    throw common::InputError("unknown optimizer '" + name + "' (known: " + known + ")");
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
  // Re-apply each group's own options: newer LibTorch replaces a custom optimizer's per-group
  // options by the defaults in add_param_group (spec optimizers.md §14.2).
  for (size_t i = 0; i < group_options.size(); ++i) opt->param_groups()[i].set_options(std::move(group_options[i]));
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

}  // namespace flatmin::optim
