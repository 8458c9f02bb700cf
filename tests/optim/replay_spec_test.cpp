// The optim-replay spec reader without LibTorch (optim/replay_spec.h): what it accepts and the exact
// message of each rejection (replay() reports the same; tests/optim/registry_replay_test.cpp runs specs).
// Built into flatmin_spec_tests (tests/CMakeLists.txt), also without LibTorch.
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "optim/replay_spec.h"

namespace flatmin::test {
namespace {

using nlohmann::json;

json issue_spec() {
  return json::parse(R"({"optimizer": "miadam2",
    "options": {"lr": 0.01, "betas": [0.9, 0.999], "kappa": 0.9, "switch_epoch": 3},
    "params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
    "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
    "steps": 40, "steps_per_epoch": 5,
    "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}})");
}

/// The InputError message of parse_replay_spec(spec); "" when it accepts the spec.
std::string message(const json& spec) {
  try {
    (void)optim::parse_replay_spec(spec);
  } catch (const common::InputError& e) {
    return e.what();
  }
  return "";
}

json with(const std::function<void(json&)>& edit) {
  json s = issue_spec();
  edit(s);
  return s;
}

TEST(ReplaySpec, ReadsTheIssueExample) {
  const auto s = optim::parse_replay_spec(issue_spec());
  EXPECT_EQ(s.optimizer, "miadam2");
  EXPECT_EQ(s.options["kappa"].get<double>(), 0.9);
  ASSERT_EQ(s.params.size(), 2u);
  EXPECT_EQ(s.params[0], (std::vector<double>{1.0, -2.0, 0.5}));
  EXPECT_EQ(s.steps, 40);
  EXPECT_EQ(s.steps_per_epoch, 5);
  EXPECT_FALSE(s.has_grads);
  EXPECT_EQ(s.quad_a[1], (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(s.quad_c[0], (std::vector<double>{0, 0, 0}));
  ASSERT_EQ(s.groups.size(), 2u);
  EXPECT_EQ(s.groups[1].params, (std::vector<size_t>{1}));
  EXPECT_EQ(s.groups[1].options["lr"].get<double>(), 0.02);
}

TEST(ReplaySpec, GradsAndDefaults) {
  const json spec = {{"optimizer", "sgd"}, {"options", {{"lr", 0.5}}}, {"params", {{1.0, 2.0}}}, {"steps", 2},
                     {"grads", {{{1.0, -1.0}}, {{2.0, 0.0}}, {{9.0, 9.0}}}}};
  const auto s = optim::parse_replay_spec(spec);
  EXPECT_TRUE(s.has_grads);
  ASSERT_EQ(s.grads.size(), 2u);  // only the first `steps` entries are read
  EXPECT_EQ(s.grads[1][0], (std::vector<double>{2.0, 0.0}));
  EXPECT_EQ(s.steps_per_epoch, 2);  // default: steps
  EXPECT_TRUE(s.groups.empty());    // default: one group of every parameter
  json zero = spec;
  zero["steps"] = 0;
  EXPECT_EQ(optim::parse_replay_spec(zero).steps_per_epoch, 1);
}

TEST(ReplaySpec, NamesEveryProblem) {
  const std::vector<std::pair<json, std::string>> bad = {
      {json::array(), "spec: must be a JSON object, got []"},
      {with([](json& s) { s.erase("optimizer"); }), "spec: missing required key 'optimizer' (a string)"},
      {with([](json& s) { s["optimizer"] = 3; }), "spec: 'optimizer' must be a string, got 3"},
      {with([](json& s) { s["options"] = 1; }), "spec: 'options' must be an object, got 1"},
      {with([](json& s) { s["params"] = json::array(); }), "spec: 'params' must be a non-empty list of number lists"},
      {with([](json& s) { s["params"][1] = json::array(); }), "spec: params[1] is empty"},
      {with([](json& s) { s["params"][0][1] = "x"; }), "spec: params[0][1] must be a number, got \"x\""},
      {with([](json& s) { s["params"][0] = 2; }), "spec: params[0] must be a list of numbers"},
      {with([](json& s) { s.erase("steps"); }), "spec: 'steps' (an integer >= 0) is required"},
      {with([](json& s) { s["stepz"] = s["steps"]; s.erase("steps"); }), "did you mean 'steps'"},
      {with([](json& s) { s["steps"] = -1; }), "spec: steps = -1 must be in [0, 10000000]"},
      {with([](json& s) { s["steps"] = 1e18; }), "spec: steps = 1e+18 must be in [0, 10000000]"},
      {with([](json& s) { s["steps_per_epoch"] = 0; }), "spec: steps_per_epoch = 0 must be in [1, 10000000]"},
      {with([](json& s) { s["extra"] = 1; }), "key 'extra'"},
      {with([](json& s) { s["grads"] = json::array(); }),
       "spec: give exactly one gradient source, 'grads' or 'quadratic' (got both)"},
      {with([](json& s) { s.erase("quadratic"); }),
       "spec: give exactly one gradient source, 'grads' or 'quadratic' (got neither)"},
      {with([](json& s) { s["params"] = {json::array({1.0, 2.0}), json::array({0.0})}; s["steps"] = 60000000; }),
       "spec: steps = 60000000 must be in [0, 10000000]"},
      {with([](json& s) { s["params"][0] = std::vector<double>(20, 1.0); s["steps"] = 9999999; }),
       "spec: (steps + 1) x 22 parameters = 220000000 recorded numbers exceeds 100000000"},
      {with([](json& s) { s["quadratic"]["b"] = 1; }), "spec: 'quadratic' must be {\"a\": [...], \"c\": [...]}"},
      {with([](json& s) { s["quadratic"]["a"] = {{1.0, 2.0, 3.0}}; }),
       "spec: quadratic.a must be a list of 2 number lists (one per parameter)"},
      {with([](json& s) { s["quadratic"]["c"][1] = {0.5}; }), "spec: quadratic.c[1] has 1 numbers, parameter 1 has 2"},
      {with([](json& s) { s["params"][0][1] = std::numeric_limits<double>::infinity(); }), "finite"},
      {with([](json& s) { s["groups"] = json::array(); }), "spec: 'groups' must be a non-empty list"},
      {with([](json& s) { s["groups"][0] = {{"options", json::object()}}; }),
       "spec: groups[0] must be {\"params\": [indices], \"options\": {...}}"},
      {with([](json& s) { s["groups"][0]["option"] = json::object(); }), "did you mean 'options'"},
      {with([](json& s) { s["groups"][1]["params"] = {0}; }), "spec: parameter 0 is in more than one group"},
      {with([](json& s) { s["groups"][1]["params"] = {7}; }),
       "spec: groups[1].params has 7, not a parameter index in [0, 2)"},
      {with([](json& s) { s["groups"][1]["params"] = {-1}; }),
       "spec: groups[1].params has -1, not a parameter index in [0, 2)"},
      {with([](json& s) { s["groups"][1]["params"] = {1.0}; }),
       "spec: groups[1].params has 1.0, not a parameter index in [0, 2)"},
      {with([](json& s) { s["groups"][1]["params"] = json::array(); }), "spec: parameter 1 is in no group"},
  };
  for (const auto& [spec, needle] : bad) {
    const std::string m = message(spec);
    EXPECT_NE(m.find(needle), std::string::npos) << "message: '" << m << "'\nexpected: '" << needle << "'";
  }
  json grads = {{"optimizer", "sgd"}, {"options", json::object()}, {"params", {{1.0, 2.0}}}, {"steps", 3},
                {"grads", {{{1.0, -1.0}}, {{2.0, 0.0}}}}};
  EXPECT_EQ(message(grads), "spec: 'grads' must hold at least 'steps' = 3 entries, has 2");
  grads["grads"].push_back({{1.0}});
  EXPECT_EQ(message(grads), "spec: grads[2][0] has 1 numbers, parameter 0 has 2");
  EXPECT_EQ(message(issue_spec()), "");
}

}  // namespace
}  // namespace flatmin::test
