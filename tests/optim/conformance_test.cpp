// Conformance of every registry optimizer (value-parameterised over optim::registry_names(), so a
// newly registered name is covered without touching this file): save → load → continue is
// bit-identical, the fused CPU kernel equals the tensor path, results do not depend on the thread
// count, bad options are rejected naming the option (and the nearest known name for a typo), each
// group keeps its own options, and two groups of equal shapes equal one group holding both.
#include <cmath>
#include <set>
#include <sstream>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/optim_variants.h"
#include "tests/support/tolerances.h"

namespace flatmin::test {
namespace {

struct Model {
  std::vector<torch::Tensor> params;
};

Model make_model(torch::Dtype dtype, int64_t n = 4099) {
  torch::manual_seed(3);
  return {{torch::randn({n}, dtype), torch::randn({17, 3}, dtype), torch::randn({n}, dtype)}};
}

/// Gradient of step t for parameter i: a fixed function of (t, i, θ), so runs can be compared.
void set_grads(const std::vector<torch::Tensor>& ps, int64_t t) {
  for (size_t i = 0; i < ps.size(); ++i) {
    auto g = torch::sin(ps[i].detach() * (1.0 + 0.1 * double(i)) + 0.3 * double(t)) + 0.05 * ps[i].detach();
    ps[i].mutable_grad() = g;
  }
}

void run(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& ps, int64_t from, int64_t to) {
  for (int64_t t = from; t <= to; ++t) {
    optim::set_epoch(opt, 1 + (t - 1) / 4);  // epoch-based switches (MIAdam) happen mid-run
    set_grads(ps, t);
    opt.step();
  }
}

std::vector<torch::Tensor> clone_all(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone());
  return out;
}

void expect_identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << what << ": parameter " << i;
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void TearDown() override { optim::set_kernel_path(optim::KernelPath::kAuto); }
};

TEST_P(Conformance, SaveLoadContinueIsBitIdentical) {
  const auto name = GetParam();
  for (const auto& options : variants(name)) {
    auto full = make_model(torch::kFloat64);
    auto a = optim::make_optimizer(name, options, full.params);
    run(*a, full.params, 1, 12);

    auto part = make_model(torch::kFloat64);
    auto b = optim::make_optimizer(name, options, part.params);
    run(*b, part.params, 1, 5);
    const std::string bytes = save_to_string(*b);
    auto resumed_params = clone_all(part.params);
    // flatmin's checkpoints restore options too (LibTorch's own restore state only): start from other options.
    const bool restores_options = dynamic_cast<optim::OptimizerBase*>(b.get()) != nullptr;
    nlohmann::json other = options;
    if (restores_options) other["lr"] = other["lr"].get<double>() * 3;
    auto c = optim::make_optimizer(name, other, resumed_params);
    load_from_string(*c, bytes);
    EXPECT_EQ(c->param_groups()[0].options().get_lr(), options["lr"].get<double>());
    if (restores_options) {
      EXPECT_EQ(optim::resolved_options(name, *c), optim::resolved_options(name, *b)) << name;
    }
    run(*c, resumed_params, 6, 12);
    expect_identical(resumed_params, full.params, name + " resumed " + options.dump());
  }
}

TEST_P(Conformance, FusedKernelMatchesTensorPath) {
  const auto name = GetParam();
  for (const auto& options : variants(name)) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      auto fused = make_model(dtype), tensor = make_model(dtype);
      auto a = optim::make_optimizer(name, options, fused.params);
      auto b = optim::make_optimizer(name, options, tensor.params);
      step_fused_and_tensor(*a, *b, 8, [&](int64_t t) {
        optim::set_epoch(*a, 1 + (t - 1) / 4);
        optim::set_epoch(*b, 1 + (t - 1) / 4);
        set_grads(fused.params, t);
        set_grads(tensor.params, t);
      });
      // Same rule text; the tensor path evaluates scalar coefficients in double (a few ulp per step).
      const double tol = dtype == torch::kFloat32 ? kRelTolFloatSameMath : kRelTolDoubleSameMath;
      for (size_t i = 0; i < fused.params.size(); ++i) {
        const auto d = max_rel_diff(fused.params[i], tensor.params[i]);
        EXPECT_LE(d, tol) << name << " " << options.dump() << " " << dtype << " parameter " << i;
        EXPECT_FALSE(torch::equal(fused.params[i], make_model(dtype).params[i])) << name << " did not move";
      }
    }
  }
}

/// A parameter without a gradient is skipped: it does not move and gets no state.
TEST_P(Conformance, SkipsParametersWithoutGradient) {
  const auto name = GetParam();
  auto m = make_model(torch::kFloat64);
  auto opt = optim::make_optimizer(name, base_options(name), m.params);
  const auto before = m.params[1].detach().clone();
  for (int64_t t = 1; t <= 3; ++t) {
    set_grads(m.params, t);
    m.params[1].mutable_grad() = torch::Tensor();
    opt->step();
  }
  EXPECT_TRUE(torch::equal(m.params[1], before)) << name;
  EXPECT_EQ(opt->state().size(), 2u) << name;
}

TEST_P(Conformance, ResultDoesNotDependOnThreadCount) {
  const auto name = GetParam();
  const int saved = at::get_num_threads();
  for (const auto& options : variants(name)) {
    std::vector<std::vector<torch::Tensor>> results;
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      auto m = make_model(torch::kFloat32, 300001);  // several OpenMP chunks
      auto opt = optim::make_optimizer(name, options, m.params);
      run(*opt, m.params, 1, 6);  // MIAdam switches at step 5
      results.push_back(m.params);
    }
    expect_identical(results[0], results[1], name + " 1 vs 2 threads " + options.dump());
  }
  at::set_num_threads(saved);
}

TEST_P(Conformance, RejectsBadOptionsNamingThem) {
  const auto name = GetParam();
  auto m = make_model(torch::kFloat64, 5);
  auto expect_error = [&](const nlohmann::json& o, const std::string& needle) {
    try {
      optim::make_optimizer(name, o, m.params);
      ADD_FAILURE() << name << " accepted " << o.dump();
    } catch (const common::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << name << ": " << e.what();
    }
  };
  auto o = base_options(name);
  o["lr"] = -1.0;
  expect_error(o, "lr");
  o = base_options(name);
  o["lrr"] = 0.1;
  expect_error(o, "did you mean 'lr'");
  o = base_options(name);
  o["lr"] = "fast";
  expect_error(o, "'lr' must be a number");
  // Every schema default passes validation (a default outside its own range would be a schema bug).
  for (const auto& f : optim::optimizer_schema(name)) {
    EXPECT_FALSE(f.type.empty()) << name << "." << f.name;
    EXPECT_FALSE(f.doc.empty()) << name << "." << f.name;
    EXPECT_FALSE(f.source.empty()) << name << "." << f.name;
  }
}

/// One out-of-range value per finite bound of every ranged option, read from the schema's constraint
/// text ("LO <= name < HI [note]", optim/options_schema.h Range::text): below LO, above HI, and LO / HI
/// themselves where the bound is open. A new option is covered without touching this file; the
/// per-optimizer files test only their cross-option checks.
struct BadValue {
  double value;
  std::string why;
};
std::vector<BadValue> out_of_range_values(const optim::FieldInfo& f) {
  std::istringstream in(f.constraint);
  std::string lo, op1, key, op2, hi;
  if (!(in >> lo >> op1 >> key >> op2 >> hi) || key != f.name) return {};
  std::vector<BadValue> out;
  const auto bound = [](const std::string& s) { return s == "inf" || s == "-inf" ? std::nan("") : std::stod(s); };
  const double l = bound(lo), h = bound(hi);
  if (!std::isnan(l)) {
    out.push_back({l - 1, "below " + lo});
    if (op1 == "<") out.push_back({l, "= open bound " + lo});
  }
  if (!std::isnan(h)) {
    out.push_back({h + 1, "above " + hi});
    if (op2 == "<") out.push_back({h, "= open bound " + hi});
  }
  return out;
}

TEST_P(Conformance, RejectsEveryOutOfRangeValueNamingTheOption) {
  const auto name = GetParam();
  auto m = make_model(torch::kFloat64, 5);
  int checked = 0;
  for (const auto& f : optim::optimizer_schema(name)) {
    const bool pair = f.type == "[number, number]";
    if (!(pair || f.type == "number" || f.type == "integer" || f.type == "number or null")) continue;
    for (const auto& bad : out_of_range_values(f)) {
      for (int slot = 0; slot < (pair ? 2 : 1); ++slot) {
        auto o = base_options(name);
        nlohmann::json v = bad.value;
        if (f.type == "integer") v = static_cast<int64_t>(bad.value);
        if (pair) {
          v = f.default_value;
          v[slot] = bad.value;
        }
        o[f.name] = v;
        const std::string needle = pair ? f.name + "[" + std::to_string(slot) + "]" : f.name;
        try {
          optim::make_optimizer(name, o, m.params);
          ADD_FAILURE() << name << " accepted " << f.name << " = " << v.dump() << " (" << bad.why << ", " << f.constraint << ")";
        } catch (const common::InputError& e) {
          EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << name << ": " << e.what();
        }
        ++checked;
      }
    }
  }
  if (name != "sgd") EXPECT_GT(checked, 0) << name << ": no ranged option found in the schema";
}

TEST_P(Conformance, EachGroupKeepsItsOptions) {
  const auto name = GetParam();
  if (couples_tensors(name)) GTEST_SKIP() << name << " couples tensors across groups";
  auto m = make_model(torch::kFloat64);
  std::vector<optim::GroupSpec> groups(2);
  groups[0].params = {m.params[0]};
  groups[1].params = {m.params[1], m.params[2]};
  auto slow = base_options(name);
  slow["lr"] = slow["lr"].get<double>() / 4;
  groups[1].options = slow;
  auto opt = optim::make_optimizer(name, base_options(name), groups);
  EXPECT_EQ(optim::resolved_options(name, *opt)[1]["lr"].get<double>(), slow["lr"].get<double>());
  run(*opt, m.params, 1, 6);

  auto alone0 = make_model(torch::kFloat64), alone1 = make_model(torch::kFloat64);
  auto a0 = optim::make_optimizer(name, base_options(name), std::vector<torch::Tensor>{alone0.params[0]});
  auto a1 = optim::make_optimizer(name, slow, std::vector<torch::Tensor>{alone1.params[1], alone1.params[2]});
  for (int64_t t = 1; t <= 6; ++t) {
    optim::set_epoch(*a0, 1 + (t - 1) / 4);
    optim::set_epoch(*a1, 1 + (t - 1) / 4);
    set_grads(alone0.params, t);
    set_grads(alone1.params, t);
    a0->step();
    a1->step();
  }
  expect_identical({m.params[0]}, {alone0.params[0]}, name + " group 0");
  expect_identical({m.params[1], m.params[2]}, {alone1.params[1], alone1.params[2]}, name + " group 1");
}

TEST_P(Conformance, TwoGroupsOfEqualShapesEqualOneGroup) {
  const auto name = GetParam();
  auto one = make_model(torch::kFloat64), two = make_model(torch::kFloat64);
  auto a = optim::make_optimizer(name, base_options(name), one.params);
  std::vector<optim::GroupSpec> groups(2);
  groups[0].params = {two.params[0], two.params[1]};
  groups[1].params = {two.params[2]};  // same shape as params[0]: state must not be shared by shape
  auto b = optim::make_optimizer(name, base_options(name), groups);
  run(*a, one.params, 1, 6);
  run(*b, two.params, 1, 6);
  expect_identical(two.params, one.params, name + " two groups");
}

INSTANTIATE_TEST_SUITE_P(Registry, Conformance, ::testing::ValuesIn(optim::registry_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace flatmin::test
