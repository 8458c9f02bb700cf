#pragma once
/// \file
/// How an optimizer family plugs into the registry: each family's .cpp defines
/// `void register_<family>(detail::RegistryTable&)` with its JSON parser and serializer, and
/// optim/registry.cpp calls it. Option parsing lives next to the optimizer it configures.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "optim/detail/json_options.h"

namespace flatmin::optim::detail {

using OptionsPtr = std::unique_ptr<torch::optim::OptimizerOptions>;
using nlohmann::json;

inline json betas_json(const std::tuple<double, double>& b) { return json::array({std::get<0>(b), std::get<1>(b)}); }

/// One registry name: JSON → validated options, options + groups → optimizer, options → JSON.
struct Entry {
  std::function<OptionsPtr(const json&, const std::string&)> parse;
  std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::optim::OptimizerParamGroup>,
                                                         const torch::optim::OptimizerOptions&)>
      make;
  std::function<json(const torch::optim::OptimizerOptions&)> to_json;
};

/// Builds an Entry for optimizer `Opt` with options `Options` from `parse(OptionReader&)` (which
/// validates) and `to_json(const Options&)`; unknown JSON keys are rejected after parsing.
template <class Opt, class Options, class Parse, class ToJson>
Entry entry(Parse parse, ToJson to_json) {
  Entry e;
  e.parse = [parse](const json& j, const std::string& who) -> OptionsPtr {
    OptionReader r(who, j);
    auto o = parse(r);
    r.finish();
    return std::make_unique<Options>(o);
  };
  e.make = [](std::vector<torch::optim::OptimizerParamGroup> groups, const torch::optim::OptimizerOptions& defaults) {
    return std::make_unique<Opt>(std::move(groups), static_cast<const Options&>(defaults));
  };
  e.to_json = [to_json](const torch::optim::OptimizerOptions& o) { return to_json(static_cast<const Options&>(o)); };
  return e;
}

using RegistryTable = std::map<std::string, Entry>;

}  // namespace flatmin::optim::detail

namespace flatmin::optim {
// One per optimizer family (defined next to the optimizer).
void register_miadam(detail::RegistryTable& table);
void register_dualadam(detail::RegistryTable& table);
void register_adam_cm(detail::RegistryTable& table);  // adam_cm, adam_cg (optim/adam_cm.cpp)
void register_adai(detail::RegistryTable& table);
void register_nadam(detail::RegistryTable& table);
void register_adamax(detail::RegistryTable& table);
void register_adabound(detail::RegistryTable& table);
void register_swats(detail::RegistryTable& table);
void register_ndadam(detail::RegistryTable& table);
}  // namespace flatmin::optim
