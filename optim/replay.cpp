#include "optim/replay.h"

#include <set>

#include <torch/torch.h>

#include "common/error.h"
#include "common/config.h"
#include "common/json_io.h"
#include "common/status.h"
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

torch::Tensor tensor_of(const std::vector<double>& x) {
  return torch::tensor(x, torch::dtype(torch::kFloat64));
}

}  // namespace

ReplayResult replay(const json& spec) {
  common::ConfigReader r(spec, "spec");
  common::require_finite_json(spec, "spec");
  const std::string name = r.string("optimizer");
  const json& options = r.object("options");

  const json params_json = r.raw("params", json());
  FLATMIN_CHECK(params_json.is_array() && !params_json.empty(), "spec: 'params' must be a non-empty list of number lists");
  std::vector<std::vector<double>> init;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < params_json.size(); ++i) {
    init.push_back(numbers(params_json[i], "spec: params[" + std::to_string(i) + "]"));
    FLATMIN_CHECK(!init.back().empty(), "spec: params[" << i << "] is empty");
    sizes.push_back(init.back().size());
  }
  if (!r.has("steps")) {
    r.allow({"steps_per_epoch", "grads", "quadratic", "groups"});
    r.finish();  // a misspelt key ("stepz") is named with its nearest known key
    throw common::InputError("spec: 'steps' (an integer >= 0) is required");
  }
  const int64_t steps = r.integer("steps", 0, 0, kMaxReplaySteps);
  const int64_t steps_per_epoch = r.integer("steps_per_epoch", std::max<int64_t>(steps, 1), 1, kMaxReplaySteps);

  const bool has_grads = r.has("grads"), has_quad = r.has("quadratic");
  const json groups_json = r.raw("groups", json());
  r.finish();
  FLATMIN_CHECK(has_grads != has_quad, "spec: give exactly one gradient source, 'grads' or 'quadratic' (got "
                                           << (has_grads ? "both" : "neither") << ")");
  int64_t numel = 0;
  for (const auto n : sizes) numel += static_cast<int64_t>(n);
  FLATMIN_CHECK((steps + 1) * numel <= kMaxReplayNumbers,
                "spec: (steps + 1) x " << numel << " parameters = " << (steps + 1) * numel << " recorded numbers exceeds "
                                       << kMaxReplayNumbers);
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
  if (!groups_json.is_null()) {
    FLATMIN_CHECK(groups_json.is_array() && !groups_json.empty(), "spec: 'groups' must be a non-empty list");
    std::vector<int> seen(params.size(), 0);
    for (size_t k = 0; k < groups_json.size(); ++k) {
      const auto& gk = groups_json[k];
      const std::string where = "spec: groups[" + std::to_string(k) + "]";
      FLATMIN_CHECK(gk.is_object() && gk.contains("params") && gk["params"].is_array(),
                    where << " must be {\"params\": [indices], \"options\": {...}}");
      common::ConfigReader gr(gk, where);
      gr.allow({"params"});
      const json& group_options = gr.object("options");
      gr.finish();
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
      g.options = group_options;
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
    for (size_t i = 0; i < params.size(); ++i) {
      if (!torch::isfinite(params[i]).all().item<bool>()) {
        throw common::DivergedError("step " + std::to_string(t) + ": parameter " + std::to_string(i) +
                                    " is non-finite (" + name + ")");
      }
    }
  }
  result.resolved = spec;
  result.resolved["resolved_options"] = resolved_options(name, *optimizer);
  result.resolved["steps_per_epoch"] = steps_per_epoch;
  return result;
}

}  // namespace flatmin::optim
