#pragma once
/// \file
/// Which images `flatmin hessian --checkpoint` evaluates the Hessian on (LibTorch-free, for the CLI).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace flatmin::experiments {

/// Which images the Hessian is evaluated on.
struct CheckpointData {
  std::string dataset = "checkpoint";  ///< checkpoint (the recipe's) | fashion-mnist | synthetic | cifar10 | cifar100
  std::string split = "train";         ///< train | test
  std::int64_t subset = 0;             ///< N images (0 = all of the split)
  std::int64_t subset_seed = -1;       ///< < 0: the first N; >= 0: the first N of data::subset's permutation
  std::string data_dir;                ///< overrides the recipe's data.dir

  /// The selection as a manifest config (dataset, split, subset, subset_seed, data_dir).
  nlohmann::json to_json() const {
    return {{"dataset", dataset}, {"split", split}, {"subset", subset}, {"subset_seed", subset_seed}, {"data_dir", data_dir}};
  }
};

}  // namespace flatmin::experiments
