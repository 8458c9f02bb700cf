#pragma once
/// \file
/// An optimizer option as data (optim/options_schema.h generates it from the option's field list).
#include <string>

#include <nlohmann/json.hpp>

namespace flatmin::optim {

/// One option as data: what `list-optimizers --options NAME` prints and other front ends bind to.
struct FieldInfo {
  std::string name;        ///< JSON / Python name
  std::string type;        ///< number, integer, bool, [number, number], one of …, list of integers, number or null
  nlohmann::json default_value;  ///< null where the option has no default (required)
  std::string constraint;  ///< e.g. "0 <= lr < inf"; empty when any value of the type is allowed
  std::string source;      ///< where the default comes from
  std::string doc;         ///< one line
};

}  // namespace flatmin::optim
