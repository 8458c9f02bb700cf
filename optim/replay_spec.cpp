#include "optim/replay_spec.h"

#include <algorithm>

#include "common/config.h"
#include "common/error.h"
#include "common/json_io.h"

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

}  // namespace

ReplaySpec parse_replay_spec(const json& spec) {
  common::ConfigReader r(spec, "spec");
  common::require_finite_json(spec, "spec");
  ReplaySpec out;
  out.optimizer = r.string("optimizer");
  out.options = r.object("options");

  const json params_json = r.raw("params", json());
  FLATMIN_CHECK(params_json.is_array() && !params_json.empty(), "spec: 'params' must be a non-empty list of number lists");
  std::vector<size_t> sizes;
  for (size_t i = 0; i < params_json.size(); ++i) {
    out.params.push_back(numbers(params_json[i], "spec: params[" + std::to_string(i) + "]"));
    FLATMIN_CHECK(!out.params.back().empty(), "spec: params[" << i << "] is empty");
    sizes.push_back(out.params.back().size());
  }
  if (!r.has("steps")) {
    r.allow({"steps_per_epoch", "grads", "quadratic", "groups"});
    r.finish();  // a misspelt key ("stepz") is named with its nearest known key
    throw common::InputError("spec: 'steps' (an integer >= 0) is required");
  }
  out.steps = r.integer("steps", 0, 0, kMaxReplaySteps);
  out.steps_per_epoch = r.integer("steps_per_epoch", std::max<int64_t>(out.steps, 1), 1, kMaxReplaySteps);

  const bool has_grads = r.has("grads"), has_quad = r.has("quadratic");
  const json groups_json = r.raw("groups", json());
  r.finish();
  FLATMIN_CHECK(has_grads != has_quad, "spec: give exactly one gradient source, 'grads' or 'quadratic' (got "
                                           << (has_grads ? "both" : "neither") << ")");
  out.has_grads = has_grads;
  int64_t numel = 0;
  for (const auto n : sizes) numel += static_cast<int64_t>(n);
  FLATMIN_CHECK((out.steps + 1) * numel <= kMaxReplayNumbers,
                "spec: (steps + 1) x " << numel << " parameters = " << (out.steps + 1) * numel
                                       << " recorded numbers exceeds " << kMaxReplayNumbers);
  if (has_grads) {
    const auto& g = spec.at("grads");
    FLATMIN_CHECK(g.is_array() && static_cast<int64_t>(g.size()) >= out.steps,
                  "spec: 'grads' must hold at least 'steps' = " << out.steps << " entries, has "
                                                                << (g.is_array() ? g.size() : 0));
    for (int64_t t = 0; t < out.steps; ++t) {
      out.grads.push_back(shaped(g[static_cast<size_t>(t)], sizes, "spec: grads[" + std::to_string(t) + "]"));
    }
  } else {
    const auto& q = spec.at("quadratic");
    FLATMIN_CHECK(q.is_object() && q.contains("a") && q.contains("c") && q.size() == 2,
                  "spec: 'quadratic' must be {\"a\": [...], \"c\": [...]}");
    out.quad_a = shaped(q.at("a"), sizes, "spec: quadratic.a");
    out.quad_c = shaped(q.at("c"), sizes, "spec: quadratic.c");
  }

  if (!groups_json.is_null()) {
    FLATMIN_CHECK(groups_json.is_array() && !groups_json.empty(), "spec: 'groups' must be a non-empty list");
    std::vector<int> seen(out.params.size(), 0);
    for (size_t k = 0; k < groups_json.size(); ++k) {
      const auto& gk = groups_json[k];
      const std::string where = "spec: groups[" + std::to_string(k) + "]";
      FLATMIN_CHECK(gk.is_object() && gk.contains("params") && gk.at("params").is_array(),
                    where << " must be {\"params\": [indices], \"options\": {...}}");
      common::ConfigReader gr(gk, where);
      gr.allow({"params"});
      ReplayGroup g;
      g.options = gr.object("options");
      gr.finish();
      for (const auto& idx : gk.at("params")) {
        FLATMIN_CHECK(idx.is_number_integer() && idx.get<int64_t>() >= 0 &&
                          idx.get<int64_t>() < static_cast<int64_t>(out.params.size()),
                      "spec: groups[" << k << "].params has " << idx.dump() << ", not a parameter index in [0, "
                                      << out.params.size() << ")");
        const auto i = idx.get<size_t>();
        FLATMIN_CHECK(seen[i]++ == 0, "spec: parameter " << i << " is in more than one group");
        g.params.push_back(i);
      }
      out.groups.push_back(std::move(g));
    }
    for (size_t i = 0; i < seen.size(); ++i) FLATMIN_CHECK(seen[i] == 1, "spec: parameter " << i << " is in no group");
  }
  return out;
}

}  // namespace flatmin::optim
