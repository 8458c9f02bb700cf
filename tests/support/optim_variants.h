#pragma once
// The option sets every registry optimizer is tested with (tests/optim/conformance_test.cpp and the
// CUDA-vs-CPU suite tests/cuda/): base options every name accepts, and one variant per switch read from
// the optimizer's schema, so a newly registered name or option is covered without touching the tests.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"

namespace flatmin::test {

/// Options every name accepts (lr is required by sgd and the Adai family).
inline nlohmann::json base_options(const std::string& name) {
  nlohmann::json o = {{"lr", 0.01}};
  if (name.rfind("adai", 0) == 0) o["lr"] = 0.1;
  if (name.rfind("miadam", 0) == 0) {
    o["lr"] = 0.3;           // the MI phase scales by lr^(n+1)
    o["switch_epoch"] = 2;   // the switch (epoch 2 = step 5) happens in every run
  }
  if (name == "sgd") o["momentum"] = 0.9;
  return o;
}

/// The base options and, from the optimizer's schema, one variant per switch: each bool option flipped,
/// each other value of an enum option, a non-zero weight decay (before the optimizer's own checks).
inline std::vector<nlohmann::json> schema_variants(const std::string& name) {
  std::vector<nlohmann::json> out{base_options(name)};
  for (const auto& f : optim::optimizer_schema(name)) {
    if (f.constraint == "fixed by the name") continue;
    if (f.type == "bool") {
      auto o = base_options(name);
      o[f.name] = !f.default_value.get<bool>();
      out.push_back(o);
    } else if (f.type.rfind("one of", 0) == 0) {
      size_t open = f.type.find('\'');  // type "one of 'a', 'b'"
      while (open != std::string::npos) {
        const size_t close = f.type.find('\'', open + 1);
        const std::string value = f.type.substr(open + 1, close - open - 1);
        open = f.type.find('\'', close + 1);
        if (nlohmann::json(value) == f.default_value) continue;
        auto o = base_options(name);
        o[f.name] = value;
        out.push_back(o);
      }
    } else if (f.name == "weight_decay") {
      auto o = base_options(name);
      o[f.name] = 0.01;
      out.push_back(o);
    }
  }
  return out;
}

/// schema_variants() less the combinations the optimizer's own cross-checks reject (nadam_keras has
/// no weight decay); rejection is tested in the conformance suite.
inline std::vector<nlohmann::json> variants(const std::string& name) {
  std::vector<nlohmann::json> candidates = schema_variants(name), out;
  for (auto& o : candidates) {
    try {
      optim::make_optimizer(name, o, std::vector<torch::Tensor>{torch::zeros({1})});
      out.push_back(std::move(o));
    } catch (const common::InputError&) {
    }
  }
  return out;
}

/// Optimizers whose step couples tensors (a global mean, a synced priority): per-group runs differ.
inline bool couples_tensors(const std::string& name) {
  return name.rfind("adai", 0) == 0 || name == "adam_cm" || name == "adam_cg";
}

}  // namespace flatmin::test
