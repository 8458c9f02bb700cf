#include "optim/registry.h"

#include <cmath>
#include <functional>
#include <map>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "common/error.h"
#include "optim/detail/json_options.h"
#include "optim/detail/options_check.h"
#include "optim/dualadam.h"
#include "optim/miadam.h"

namespace flatmin::optim {

namespace {

using nlohmann::json;
using OptionsPtr = std::unique_ptr<torch::optim::OptimizerOptions>;
using Groups = std::vector<torch::optim::OptimizerParamGroup>;

json betas_json(const std::tuple<double, double>& b) { return json::array({std::get<0>(b), std::get<1>(b)}); }

// ---- flatmin optimizers -----------------------------------------------------------------------

MIAdamOptions parse_miadam(detail::OptionReader& r, int64_t fixed_order) {
  MIAdamOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.amsgrad(r.boolean("amsgrad", o.amsgrad()));
  o.kappa(r.number("kappa", o.kappa()));
  o.order(r.integer("order", fixed_order > 0 ? fixed_order : o.order()));
  if (fixed_order > 0) {
    FLATMIN_CHECK(o.order() == fixed_order, "miadam" << fixed_order << ": option 'order' = " << o.order()
                                                     << " contradicts the name (use 'miadam' with 'order')");
  }
  o.switch_epoch(r.integer("switch_epoch", o.switch_epoch()));
  o.switch_step(r.integer("switch_step", o.switch_step()));
  const auto ap = r.string("alpha_power", "official");
  FLATMIN_CHECK(ap == "official" || ap == "algorithm1",
                "miadam: alpha_power = '" << ap << "' is not one of 'official' (lr^(n+1)), 'algorithm1' (lr^n)");
  o.alpha_power(ap == "official" ? AlphaPower::kOfficial : AlphaPower::kAlgorithm1);
  o.eps_inside_sqrt(r.boolean("eps_inside_sqrt", o.eps_inside_sqrt()));
  o.validate();
  return o;
}

json miadam_json(const MIAdamOptions& o) {
  return {{"lr", o.lr()},
          {"betas", betas_json(o.betas())},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad()},
          {"kappa", o.kappa()},
          {"order", o.order()},
          {"switch_epoch", o.switch_epoch()},
          {"switch_step", o.switch_step()},
          {"alpha_power", o.alpha_power() == AlphaPower::kOfficial ? "official" : "algorithm1"},
          {"eps_inside_sqrt", o.eps_inside_sqrt()}};
}

DualAdamOptions parse_dualadam(detail::OptionReader& r, bool inverse) {
  DualAdamOptions o;
  o.lr(r.number("lr", o.lr()));
  o.betas(r.betas(o.betas()));
  o.eps(r.number("eps", o.eps()));
  o.switch_rate(r.number("switch_rate", o.switch_rate()));
  o.weight_decay(r.number("weight_decay", o.weight_decay()));
  o.weight_decouple(r.boolean("weight_decouple", o.weight_decouple()));
  const auto sc = r.string("step_counter", "global");
  FLATMIN_CHECK(sc == "global" || sc == "per_group",
                "dualadam: step_counter = '" << sc << "' is not one of 'global', 'per_group'");
  o.step_counter(sc == "global" ? StepCounter::kGlobal : StepCounter::kPerGroup);
  if (inverse) {
    FLATMIN_CHECK(!r.has("fixed_r"), "invadam: option 'fixed_r' is fixed to 1 (use 'dualadam' with 'fixed_r')");
    o.fixed_r(1.0);
  } else {
    o.fixed_r(r.number("fixed_r", o.fixed_r()));
  }
  o.validate();
  return o;
}

json dualadam_json(const DualAdamOptions& o) {
  json j = {{"lr", o.lr()},
            {"betas", betas_json(o.betas())},
            {"eps", o.eps()},
            {"switch_rate", o.switch_rate()},
            {"weight_decay", o.weight_decay()},
            {"weight_decouple", o.weight_decouple()},
            {"step_counter", o.step_counter() == StepCounter::kGlobal ? "global" : "per_group"}};
  j["fixed_r"] = std::isnan(o.fixed_r()) ? json(nullptr) : json(o.fixed_r());
  return j;
}

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

struct Entry {
  std::function<OptionsPtr(const json&, const std::string&)> parse;  // validated options
  std::function<std::unique_ptr<torch::optim::Optimizer>(Groups, const torch::optim::OptimizerOptions&)> make;
  std::function<json(const torch::optim::OptimizerOptions&)> to_json;
};

template <class Opt, class Options, class Parse, class ToJson>
Entry entry(Parse parse, ToJson to_json) {
  Entry e;
  e.parse = [parse](const json& j, const std::string& who) -> OptionsPtr {
    detail::OptionReader r(who, j);
    auto o = parse(r);
    r.finish();
    return std::make_unique<Options>(o);
  };
  e.make = [](Groups groups, const torch::optim::OptimizerOptions& defaults) {
    return std::make_unique<Opt>(std::move(groups), static_cast<const Options&>(defaults));
  };
  e.to_json = [to_json](const torch::optim::OptimizerOptions& o) { return to_json(static_cast<const Options&>(o)); };
  return e;
}

const std::map<std::string, Entry>& table() {
  static const std::map<std::string, Entry> t = [] {
    std::map<std::string, Entry> m;
    m["miadam"] = entry<MIAdam, MIAdamOptions>([](auto& r) { return parse_miadam(r, 0); }, miadam_json);
    for (int k = 1; k <= 3; ++k) {
      m["miadam" + std::to_string(k)] =
          entry<MIAdam, MIAdamOptions>([k](auto& r) { return parse_miadam(r, k); }, miadam_json);
    }
    m["dualadam"] = entry<DualAdam, DualAdamOptions>([](auto& r) { return parse_dualadam(r, false); }, dualadam_json);
    m["invadam"] = entry<DualAdam, DualAdamOptions>([](auto& r) { return parse_dualadam(r, true); }, dualadam_json);
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
