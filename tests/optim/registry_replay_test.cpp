// Registry (names, options, validation, per-group overrides) and the optim-replay contract.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/dualadam.h"
#include "optim/miadam.h"
#include "optim/registry.h"
#include "optim/replay.h"
#include "tests/support/reference_optim.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/tolerances.h"

namespace flatmin::test {
namespace {

using nlohmann::json;


TEST(Registry, EveryNameCreatesAndSteps) {
  const std::vector<std::string> expected = {"adabelief", "adabound", "adaboundw", "adai", "adaiv2", "adaiw", "adam", "adam_cg", "adam_cm", "adamax", "adamw", "amsbound", "dualadam", "invadam", "miadam", "miadam1", "miadam2", "miadam3", "nadam", "nadam_keras", "ndadam", "sgd", "swats"};
  EXPECT_EQ(optim::registry_names(), expected);
  for (const auto& name : optim::registry_names()) {
    auto p = torch::ones({3}, torch::kFloat64);
    auto opt = optim::make_optimizer(name, {{"lr", 0.1}}, std::vector<torch::Tensor>{p});
    p.mutable_grad() = torch::ones({3}, torch::kFloat64);
    opt->step();
    if (name == "adam_cm") opt->step();  // Adam+CM's first step moves only the weight decay (spec §11.3)
    EXPECT_LT(p[0].item<double>(), 1.0) << name;
  }
}

TEST(Registry, NamesMapToOptions) {
  auto p = torch::ones({1}, torch::kFloat64);
  auto m3 = optim::make_optimizer("miadam3", {{"kappa", 0.5}}, std::vector<torch::Tensor>{p});
  const auto& o = static_cast<const optim::MIAdamOptions&>(m3->param_groups()[0].options());
  EXPECT_EQ(o.order(), 3);
  EXPECT_EQ(o.kappa(), 0.5);
  auto m = optim::make_optimizer("miadam", {{"order", 4}, {"alpha_power", "algorithm1"}, {"eps_inside_sqrt", true},
                                            {"switch_step", 10}},
                                 std::vector<torch::Tensor>{p});
  const auto& mo = static_cast<const optim::MIAdamOptions&>(m->param_groups()[0].options());
  EXPECT_EQ(mo.order(), 4);
  EXPECT_EQ(mo.alpha_power(), optim::AlphaPower::kAlgorithm1);
  EXPECT_TRUE(mo.eps_inside_sqrt());
  EXPECT_EQ(mo.switch_step(), 10);
  auto inv = optim::make_optimizer("invadam", json::object(), std::vector<torch::Tensor>{p});
  EXPECT_EQ(static_cast<const optim::DualAdamOptions&>(inv->param_groups()[0].options()).fixed_r(), 1.0);
  auto d = optim::make_optimizer("dualadam", {{"weight_decouple", false}, {"step_counter", "per_group"}},
                                 std::vector<torch::Tensor>{p});
  const auto& dop = static_cast<const optim::DualAdamOptions&>(d->param_groups()[0].options());
  EXPECT_FALSE(dop.weight_decouple());
  EXPECT_EQ(dop.step_counter(), optim::StepCounter::kPerGroup);
  const auto resolved = optim::resolved_options("adamw", *optim::make_optimizer("adamw", json::object(), std::vector<torch::Tensor>{p}));
  EXPECT_EQ(resolved[0]["weight_decay"].get<double>(), 1e-2);  // AdamW's PyTorch default
}

TEST(Registry, RejectsBadNamesAndOptions) {
  auto p = torch::ones({1}, torch::kFloat64);
  std::vector<torch::Tensor> ps{p};
  expect_input_error([&] { optim::make_optimizer("adamx", json::object(), ps); }, "unknown optimizer 'adamx'");
  expect_input_error([&] { optim::make_optimizer("miadam1", {{"kapa", 0.9}}, ps); }, "unknown option 'kapa'");
  expect_input_error([&] { optim::make_optimizer("miadam2", {{"order", 3}}, ps); }, "contradicts");
  expect_input_error([&] { optim::make_optimizer("miadam", {{"kappa", 1.5}}, ps); }, "kappa");
  expect_input_error([&] { optim::make_optimizer("miadam", {{"order", 0}}, ps); }, "order");
  expect_input_error([&] { optim::make_optimizer("miadam", {{"order", 1.5}}, ps); }, "integer");
  expect_input_error([&] { optim::make_optimizer("adam", {{"betas", {0.9, 1.0}}}, ps); }, "betas[1]");
  expect_input_error([&] { optim::make_optimizer("adam", {{"lr", "fast"}}, ps); }, "must be a number");
  expect_input_error([&] { optim::make_optimizer("sgd", json::object(), ps); }, "'lr' is required");
  expect_input_error([&] { optim::make_optimizer("miadam", {{"alpha_power", "paper"}}, ps); }, "alpha_power");
  expect_input_error([&] { optim::make_optimizer("invadam", {{"fixed_r", 0.5}}, ps); }, "fixed_r");
}

TEST(Registry, PerGroupOptionsOverrideDefaults) {
  std::vector<optim::GroupSpec> groups(2);
  groups[0].params = {torch::ones({1}, torch::kFloat64)};
  groups[1].params = {torch::ones({1}, torch::kFloat64)};
  groups[1].options = {{"lr", 0.5}, {"kappa", 0.7}};
  auto opt = optim::make_optimizer("miadam2", {{"lr", 0.1}, {"kappa", 0.9}}, groups);
  const auto r = optim::resolved_options("miadam2", *opt);
  EXPECT_EQ(r[0]["lr"].get<double>(), 0.1);
  EXPECT_EQ(r[0]["kappa"].get<double>(), 0.9);
  EXPECT_EQ(r[1]["lr"].get<double>(), 0.5);
  EXPECT_EQ(r[1]["kappa"].get<double>(), 0.7);
  EXPECT_EQ(r[1]["order"].get<int64_t>(), 2);
}

json issue_spec() {
  return json::parse(R"({"optimizer": "miadam2",
    "options": {"lr": 0.01, "betas": [0.9, 0.999], "kappa": 0.9, "switch_epoch": 3},
    "params": [[1.0, -2.0, 0.5], [0.3, 0.2]],
    "groups": [{"params": [0], "options": {}}, {"params": [1], "options": {"lr": 0.02}}],
    "steps": 40, "steps_per_epoch": 5,
    "quadratic": {"a": [[1.0, 2.0, 3.0], [0.5, 0.5]], "c": [[0, 0, 0], [1, 1]]}})");
}

TEST(Replay, IssueExampleFollowsTheContractAndTheReference) {
  const auto r = optim::replay(issue_spec());
  const std::vector<std::string> header = {"step", "p0_0", "p0_1", "p0_2", "p1_0", "p1_1"};
  EXPECT_EQ(r.header, header);
  ASSERT_EQ(r.rows.size(), 41u);
  EXPECT_EQ(r.rows[0], (std::vector<double>{0, 1.0, -2.0, 0.5, 0.3, 0.2}));
  // Independent reference per group: epoch = 1 + ⌊(t−1)/5⌋, MI while epoch < 3 (steps 1..10).
  RefMIAdam c;
  c.order = 2;
  c.kappa = 0.9;
  c.switch_epoch = 3;
  const std::vector<double> a0 = {1.0, 2.0, 3.0}, c0 = {0, 0, 0}, a1 = {0.5, 0.5}, c1 = {1, 1};
  c.lr = 0.01;
  const auto ref0 = ref_miadam(c, {1.0, -2.0, 0.5}, 40, 5, [&](int64_t, size_t i, double th) { return a0[i] * (th - c0[i]); });
  c.lr = 0.02;
  const auto ref1 = ref_miadam(c, {0.3, 0.2}, 40, 5, [&](int64_t, size_t i, double th) { return a1[i] * (th - c1[i]); });
  for (size_t t = 0; t <= 40; ++t) {
    EXPECT_EQ(r.rows[t][0], double(t));
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][1 + i], ref0[t][i], kRelTolDouble) << t;
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(r.rows[t][4 + i], ref1[t][i], kRelTolDouble) << t;
  }
  EXPECT_EQ(r.resolved["resolved_options"][1]["lr"].get<double>(), 0.02);
}

TEST(Replay, ExplicitGradientsAndDefaultGroup) {
  json spec = {{"optimizer", "sgd"}, {"options", {{"lr", 0.5}}}, {"params", {{1.0, 2.0}}}, {"steps", 2},
               {"grads", {{{1.0, -1.0}}, {{2.0, 0.0}}, {{9.0, 9.0}}}}};
  const auto r = optim::replay(spec);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[1], (std::vector<double>{1, 0.5, 2.5}));
  EXPECT_EQ(r.rows[2], (std::vector<double>{2, -0.5, 2.5}));
}

TEST(Replay, RejectsBadSpecsWithOneClearMessage) {
  auto with = [](const std::function<void(json&)>& edit) {
    json s = issue_spec();
    edit(s);
    return s;
  };
  const std::vector<std::pair<json, std::string>> bad = {
      {with([](json& s) { s["optimizer"] = "miadam9"; }), "unknown optimizer"},
      {with([](json& s) { s["options"]["kapa"] = 0.9; }), "unknown option 'kapa'"},
      {with([](json& s) { s["options"]["kappa"] = 0.0; }), "kappa"},
      {with([](json& s) { s["options"]["betas"] = {0.9, 1.0}; }), "betas"},
      {with([](json& s) { s["groups"][1]["options"]["order"] = 0; }), "order"},
      {with([](json& s) { s["grads"] = json::array(); }), "exactly one gradient source"},
      {with([](json& s) { s.erase("quadratic"); }), "exactly one gradient source"},
      {with([](json& s) { s["quadratic"]["a"][1] = {0.5}; }), "quadratic.a[1] has 1 numbers"},
      {with([](json& s) { s["params"][0][1] = "x"; }), "params[0][1]"},
      {with([](json& s) { s["params"][0][1] = std::numeric_limits<double>::infinity(); }), "finite"},
      {with([](json& s) { s["steps"] = -1; }), "steps"},
      {with([](json& s) { s["steps_per_epoch"] = 0; }), "steps_per_epoch"},
      {with([](json& s) { s["groups"][1]["params"] = {0}; }), "more than one group"},
      {with([](json& s) { s["groups"][1]["params"] = {7}; }), "not a parameter index"},
      {with([](json& s) { s["extra"] = 1; }), "key 'extra'"},
      {with([](json& s) { s["step"] = 1; }), "did you mean 'steps'"},
  };
  for (const auto& [spec, needle] : bad) expect_input_error([&] { optim::replay(spec); }, needle);
}

}  // namespace
}  // namespace flatmin::test

namespace flatmin::test {
namespace {

// The contract holds for every registry name: 41 rows, finite, moving towards the quadratic's minimum.
TEST(Replay, RunsEveryRegistryName) {
  for (const auto& name : optim::registry_names()) {
    nlohmann::json spec = {{"optimizer", name}, {"options", {{"lr", 0.01}}}, {"params", {{1.0, -2.0, 0.5}, {0.3, 0.2}}},
                           {"steps", 40}, {"steps_per_epoch", 5},
                           {"quadratic", {{"a", {{1.0, 2.0, 3.0}, {0.5, 0.5}}}, {"c", {{0, 0, 0}, {1, 1}}}}}};
    const auto r = optim::replay(spec);
    ASSERT_EQ(r.rows.size(), 41u) << name;
    for (const auto& row : r.rows) {
      for (double x : row) ASSERT_TRUE(std::isfinite(x)) << name;
    }
    // |θ − c| shrinks for the first coordinate of parameter 0 (c = 0, start 1.0).
    EXPECT_LT(std::abs(r.rows[40][1]), 1.0) << name;
    EXPECT_EQ(r.resolved["resolved_options"].size(), 1u) << name;
  }
}

}  // namespace
}  // namespace flatmin::test
