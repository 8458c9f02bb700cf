#include "optim/replay.h"

#include <set>

#include <torch/torch.h>

#include "common/error.h"
#include "common/json_io.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace flatmin::optim {

namespace {

using nlohmann::json;

std::vector<double> numbers(const json& j, const std::string& where) {
  FLATMIN_CHECK(j.is_array(), where << " must be a list of numbers");
  std::vector<double> out;
  for (size_t i = 0; i < j.size(); ++i) {
    FLATMIN_CHECK(j[i].is_number(), where << "[" << i << "] must be a number, got " << j[i].dump());
    out.push_back(j[i].get<double>());
  }
  return out;
}

/// A list (one entry per parameter) of number lists shaped like `shapes`.
std::vector<std::vector<double>> shaped(const json& j, const std::vector<size_t>& sizes, const std::string& where) {
  FLATMIN_CHECK(j.is_array() && j.size() == sizes.size(),
                where << " must be a list of " << sizes.size() << " number lists (one per parameter)");
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    out.push_back(numbers(j[i], where + "[" + std::to_string(i) + "]"));
    FLATMIN_CHECK(out.back().size() == sizes[i], where << "[" << i << "] has " << out.back().size()
                                                       << " numbers, parameter " << i << " has " << sizes[i]);
  }
  return out;
}

int64_t integer(const json& spec, const std::string& key, int64_t def, int64_t min) {
  if (!spec.contains(key)) return def;
  const auto& v = spec.at(key);
  FLATMIN_CHECK(v.is_number_integer(), "spec: '" << key << "' must be an integer, got " << v.dump());
  const auto x = v.get<int64_t>();
  FLATMIN_CHECK(x >= min, "spec: '" << key << "' = " << x << " violates " << key << " >= " << min);
  return x;
}

torch::Tensor tensor_of(const std::vector<double>& x) {
  return torch::tensor(x, torch::dtype(torch::kFloat64));
}

}  // namespace

ReplayResult replay(const json& spec) {
  FLATMIN_CHECK(spec.is_object(), "spec must be a JSON object");
  common::check_known_keys(spec, {"optimizer", "options", "params", "groups", "steps", "steps_per_epoch", "grads", "quadratic"},
                           "spec");
  common::require_finite_json(spec, "spec");
  FLATMIN_CHECK(spec.contains("optimizer") && spec["optimizer"].is_string(), "spec: 'optimizer' (a name) is required");
  const std::string name = spec["optimizer"].get<std::string>();
  const json options = spec.value("options", json::object());
  FLATMIN_CHECK(options.is_object(), "spec: 'options' must be an object");

  FLATMIN_CHECK(spec.contains("params") && spec["params"].is_array() && !spec["params"].empty(),
                "spec: 'params' must be a non-empty list of number lists");
  std::vector<std::vector<double>> init;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < spec["params"].size(); ++i) {
    init.push_back(numbers(spec["params"][i], "spec: params[" + std::to_string(i) + "]"));
    FLATMIN_CHECK(!init.back().empty(), "spec: params[" << i << "] is empty");
    sizes.push_back(init.back().size());
  }
  const int64_t steps = integer(spec, "steps", -1, 0);
  FLATMIN_CHECK(steps >= 0, "spec: 'steps' (an integer >= 0) is required");
  const int64_t steps_per_epoch = integer(spec, "steps_per_epoch", std::max<int64_t>(steps, 1), 1);

  const bool has_grads = spec.contains("grads"), has_quad = spec.contains("quadratic");
  FLATMIN_CHECK(has_grads != has_quad, "spec: give exactly one gradient source, 'grads' or 'quadratic' (got "
                                           << (has_grads ? "both" : "neither") << ")");
  std::vector<std::vector<std::vector<double>>> grads;
  std::vector<std::vector<double>> qa, qc;
  if (has_grads) {
    const auto& g = spec["grads"];
    FLATMIN_CHECK(g.is_array() && static_cast<int64_t>(g.size()) >= steps,
                  "spec: 'grads' must hold at least 'steps' = " << steps << " entries, has "
                                                                << (g.is_array() ? g.size() : 0));
    for (int64_t t = 0; t < steps; ++t) grads.push_back(shaped(g[t], sizes, "spec: grads[" + std::to_string(t) + "]"));
  } else {
    const auto& q = spec["quadratic"];
    FLATMIN_CHECK(q.is_object() && q.contains("a") && q.contains("c") && q.size() == 2,
                  "spec: 'quadratic' must be {\"a\": [...], \"c\": [...]}");
    qa = shaped(q["a"], sizes, "spec: quadratic.a");
    qc = shaped(q["c"], sizes, "spec: quadratic.c");
  }

  std::vector<torch::Tensor> params;
  for (const auto& x : init) params.push_back(tensor_of(x));

  std::vector<GroupSpec> groups;
  if (spec.contains("groups")) {
    const auto& gs = spec["groups"];
    FLATMIN_CHECK(gs.is_array() && !gs.empty(), "spec: 'groups' must be a non-empty list");
    std::vector<int> seen(params.size(), 0);
    for (size_t k = 0; k < gs.size(); ++k) {
      const auto& gk = gs[k];
      FLATMIN_CHECK(gk.is_object() && gk.contains("params") && gk["params"].is_array(),
                    "spec: groups[" << k << "] must be {\"params\": [indices], \"options\": {...}}");
      common::check_known_keys(gk, {"params", "options"}, "spec: groups[" + std::to_string(k) + "]");
      GroupSpec g;
      for (const auto& idx : gk["params"]) {
        FLATMIN_CHECK(idx.is_number_integer() && idx.get<int64_t>() >= 0 &&
                          idx.get<int64_t>() < static_cast<int64_t>(params.size()),
                      "spec: groups[" << k << "].params has " << idx.dump() << ", not a parameter index in [0, "
                                      << params.size() << ")");
        const auto i = idx.get<size_t>();
        FLATMIN_CHECK(seen[i]++ == 0, "spec: parameter " << i << " is in more than one group");
        g.params.push_back(params[i]);
      }
      g.options = gk.value("options", json::object());
      groups.push_back(std::move(g));
    }
    for (size_t i = 0; i < seen.size(); ++i) FLATMIN_CHECK(seen[i] == 1, "spec: parameter " << i << " is in no group");
  } else {
    groups.resize(1);
    groups[0].params = params;
  }

  auto optimizer = make_optimizer(name, options, std::move(groups));

  ReplayResult result;
  result.header.push_back("step");
  for (size_t i = 0; i < sizes.size(); ++i) {
    for (size_t j = 0; j < sizes[i]; ++j) result.header.push_back("p" + std::to_string(i) + "_" + std::to_string(j));
  }
  auto record = [&](int64_t t) {
    std::vector<double> row{static_cast<double>(t)};
    for (const auto& p : params) {
      const double* d = p.data_ptr<double>();
      row.insert(row.end(), d, d + p.numel());
    }
    result.rows.push_back(std::move(row));
  };
  record(0);
  for (int64_t t = 1; t <= steps; ++t) {
    set_epoch(*optimizer, 1 + (t - 1) / steps_per_epoch);  // contract: epoch = 1 + ⌊(t−1)/steps_per_epoch⌋
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor g = has_grads ? tensor_of(grads[static_cast<size_t>(t - 1)][i])
                                  : tensor_of(qa[i]) * (params[i].detach() - tensor_of(qc[i]));  // g = a ⊙ (θ − c)
      params[i].mutable_grad() = g;
    }
    optimizer->step();
    record(t);
  }
  result.resolved = spec;
  result.resolved["resolved_options"] = resolved_options(name, *optimizer);
  result.resolved["steps_per_epoch"] = steps_per_epoch;
  return result;
}

}  // namespace flatmin::optim
