#pragma once
/// \file
/// How an optimizer family plugs into the registry: each family's .cpp defines
/// `void register_<family>(detail::RegistryTable&)`, which adds its names (each an options schema
/// and a Preset), and optim/registry.cpp calls it.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "optim/options_schema.h"

namespace flatmin::optim::detail {

using OptionsPtr = std::unique_ptr<torch::optim::OptimizerOptions>;
using nlohmann::json;

/// One registry name: JSON → options, options + groups → optimizer, options → JSON, and its schema.
struct Entry {
  std::function<OptionsPtr(const json&, const std::string&)> parse;
  std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::optim::OptimizerParamGroup>,
                                                         const torch::optim::OptimizerOptions&)>
      make;
  std::function<json(const torch::optim::OptimizerOptions&)> to_json;
  std::function<std::vector<FieldInfo>()> schema;
  /// Copies the internal (non-user) fields, e.g. SWATS' phase, from one options object to another.
  std::function<void(const torch::optim::OptimizerOptions& from, torch::optim::OptimizerOptions& to)> keep_internal;
};

/// An Entry for optimizer `Opt` over the field table `fields` of `Options` under `preset`. Options are
/// validated when parsed, so that errors name the registry name and its spellings (flatmin's
/// optimizers check again when constructed from C++; LibTorch's would raise a c10::Error instead).
template <class Opt, class Options>
Entry entry_over(const std::vector<schema::Field<Options>>& fields, Preset preset) {
  Entry e;
  e.parse = [&fields, preset](const json& j, const std::string& who) -> OptionsPtr {
    auto o = schema::parse(j, fields, preset, who);
    schema::validate(o, fields, who, preset.spellings);
    return std::make_unique<Options>(o);
  };
  e.make = [](std::vector<torch::optim::OptimizerParamGroup> groups, const torch::optim::OptimizerOptions& defaults) {
    return std::make_unique<Opt>(std::move(groups), static_cast<const Options&>(defaults));
  };
  e.to_json = [&fields, preset](const torch::optim::OptimizerOptions& o) {
    return schema::to_json(static_cast<const Options&>(o), fields, preset);
  };
  e.schema = [&fields, preset] { return schema::info(fields, preset); };
  e.keep_internal = [&fields](const torch::optim::OptimizerOptions& from, torch::optim::OptimizerOptions& to) {
    for (const auto& f : fields) {
      if (f.internal) f.parse(static_cast<Options&>(to), f.to_json(static_cast<const Options&>(from)), "internal option");
    }
  };
  return e;
}

/// The Entry of a flatmin optimizer (its options type has a field table, OptionsBase).
template <class Opt, class Options = typename Opt::OptionsType>
Entry entry(Preset preset = {}) {
  return entry_over<Opt, Options>(Options::fields(), std::move(preset));
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
void register_adabelief(detail::RegistryTable& table);
}  // namespace flatmin::optim
