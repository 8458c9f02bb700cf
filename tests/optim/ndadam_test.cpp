// ND-Adam: independent float64 references (per-vector rule over arbitrary vec_axes; plain
// efficient-ε Adam without vec_axes), the unit-norm / orthogonal-projection property, the
// dim-too-small error, checkpoints (vec_axes restored), param groups, fused vs tensor path,
// validation and optim-replay.
#include "optim/ndadam.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/registry.h"
#include "optim/replay.h"
#include "tests/support/tolerances.h"
#include "tests/support/optim_helpers.h"
#include "tests/support/torch_helpers.h"

namespace flatmin::test {
namespace {

using optim::NDAdam;
using optim::NDAdamOptions;

// ---- independent references: plain loops written from spec §7 -----------------------------------

struct RefNDAdam {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0;
};

using Vecs = std::vector<std::vector<double>>;  // [vector][element]
/// Gradient of element e of vector j at step t given the element's current value.
using VGrad = std::function<double(int64_t t, size_t j, size_t e, double w)>;

/// The port's vector rule on explicit vectors. Returns the vectors after every step (row 0 = w0).
std::vector<Vecs> ref_ndadam_vectors(const RefNDAdam& c, Vecs w, int64_t steps, const VGrad& grad) {
  Vecs m;
  for (const auto& x : w) m.emplace_back(x.size(), 0.0);
  std::vector<double> v(w.size(), 0.0);
  std::vector<Vecs> out{w};
  for (int64_t t = 1; t <= steps; ++t) {
    const double step = c.lr * std::sqrt(1 - std::pow(c.beta2, double(t))) / (1 - std::pow(c.beta1, double(t)));
    for (size_t j = 0; j < w.size(); ++j) {
      const size_t n = w[j].size();
      std::vector<double> g(n);
      double radial = 0;
      for (size_t e = 0; e < n; ++e) {
        g[e] = grad(t, j, e, w[j][e]) + c.wd * w[j][e];
        radial += g[e] * w[j][e];
      }
      double sq = 0;
      for (size_t e = 0; e < n; ++e) {
        g[e] -= radial * w[j][e];  // project out the radial component (w assumed unit: the port's formula)
        sq += g[e] * g[e];
        m[j][e] = c.beta1 * m[j][e] + (1 - c.beta1) * g[e];
      }
      v[j] = c.beta2 * v[j] + (1 - c.beta2) * sq;  // ONE v per vector
      double norm2 = 0;
      for (size_t e = 0; e < n; ++e) {
        w[j][e] -= step * m[j][e] / (std::sqrt(v[j]) + c.eps);  // efficient-form ε
        norm2 += w[j][e] * w[j][e];
      }
      for (size_t e = 0; e < n; ++e) w[j][e] /= std::sqrt(norm2);  // renormalise
    }
    out.push_back(w);
  }
  return out;
}

/// No vec_axes: Adam with efficient-form ε and coupled L2.
std::vector<std::vector<double>> ref_ndadam_plain(const RefNDAdam& c, std::vector<double> theta, int64_t steps,
                                                  const GradFn& grad) {
  std::vector<double> m(theta.size(), 0), v(theta.size(), 0);
  std::vector<std::vector<double>> out{theta};
  for (int64_t t = 1; t <= steps; ++t) {
    const double step = c.lr * std::sqrt(1 - std::pow(c.beta2, double(t))) / (1 - std::pow(c.beta1, double(t)));
    for (size_t i = 0; i < theta.size(); ++i) {
      const double g = grad(t, i, theta[i]) + c.wd * theta[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      theta[i] -= step * m[i] / (std::sqrt(v[i]) + c.eps);
    }
    out.push_back(theta);
  }
  return out;
}

NDAdamOptions to_options(const RefNDAdam& c, std::vector<int64_t> axes = {}) {
  return NDAdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.wd).vec_axes(std::move(axes));
}

/// Flat indices of `shape` grouped into vectors over `axes` (non-vector dims outer, vector dims
/// inner, both in increasing order): [vector][element] → flat index into the contiguous tensor.
std::vector<std::vector<int64_t>> vector_layout(const std::vector<int64_t>& shape, std::vector<int64_t> axes) {
  const int64_t dim = int64_t(shape.size());
  for (auto& a : axes) a = a < 0 ? a + dim : a;
  std::sort(axes.begin(), axes.end());
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < dim; ++d) {
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) perm.push_back(d);
  }
  perm.insert(perm.end(), axes.begin(), axes.end());
  int64_t numel = 1, veclen = 1;
  for (auto s : shape) numel *= s;
  for (auto a : axes) veclen *= shape[size_t(a)];
  auto idx = torch::arange(numel, torch::kLong).reshape(shape).permute(perm).contiguous().reshape({numel / veclen, veclen});
  std::vector<std::vector<int64_t>> out(size_t(numel / veclen));
  for (int64_t j = 0; j < numel / veclen; ++j) {
    for (int64_t e = 0; e < veclen; ++e) out[size_t(j)].push_back(idx[j][e].item<int64_t>());
  }
  return out;
}

double tensor_grad(int64_t t, int64_t flat, double w) { return std::sin(0.9 * double(t) + 0.37 * double(flat)) + 0.3 * w; }



/// Steps t0+1..t0+steps with grad = tensor_grad(t, flat index + offset, θ) for every tensor.
void drive_tensors(torch::optim::Optimizer& opt, std::vector<torch::Tensor>& ts, int64_t steps, int64_t t0 = 0) {
  for (int64_t t = t0 + 1; t <= t0 + steps; ++t) {
    int64_t offset = 0;
    for (auto& p : ts) {
      auto flat = p.detach().reshape(-1);
      auto g = torch::empty_like(flat);
      for (int64_t i = 0; i < flat.numel(); ++i) g[i] = tensor_grad(t, offset + i, flat[i].item<double>());
      p.mutable_grad() = g.reshape(p.sizes());
      offset += p.numel();
    }
    opt.step();
  }
}

// ---- vector branch vs reference ---------------------------------------------------------------

struct Case {
  const char* name;
  std::vector<int64_t> shape, axes;
  double wd;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NDAdamVectorReference : public ::testing::TestWithParam<Case> {};

TEST_P(NDAdamVectorReference, ProducesReferenceTrajectory) {
  const auto& cs = GetParam();
  RefNDAdam c;
  c.lr = 0.05;
  c.beta2 = 0.99;
  c.wd = cs.wd;
  torch::manual_seed(17);
  auto p = torch::randn(cs.shape, torch::kFloat64) * 0.7;  // not unit-norm: the first step normalises
  const auto layout = vector_layout(cs.shape, cs.axes);
  const auto flat0 = p.reshape(-1).clone();
  Vecs w0;
  for (const auto& vec : layout) {
    w0.emplace_back();
    for (auto f : vec) w0.back().push_back(flat0[f].item<double>());
  }
  const int64_t steps = 20;
  const auto ref = ref_ndadam_vectors(c, w0, steps, [&](int64_t t, size_t j, size_t e, double w) {
    return tensor_grad(t, layout[j][e], w);
  });
  NDAdam opt(std::vector<torch::Tensor>{p}, to_options(c, cs.axes));
  std::vector<torch::Tensor> ts{p};
  for (int64_t t = 1; t <= steps; ++t) {
    drive_tensors(opt, ts, 1, t - 1);
    const auto flat = p.reshape(-1);
    for (size_t j = 0; j < layout.size(); ++j) {
      for (size_t e = 0; e < layout[j].size(); ++e) {
        EXPECT_NEAR(flat[layout[j][e]].item<double>(), ref[size_t(t)][j][e], kRelTolDouble) << "step " << t;
      }
    }
  }
  const auto& st = static_cast<const optim::NDAdamParamState&>(*opt.state().begin()->second);
  auto v_shape = cs.shape;
  for (auto a : cs.axes) v_shape[size_t(a < 0 ? a + int64_t(cs.shape.size()) : a)] = 1;
  EXPECT_EQ(st.exp_avg_sq().sizes(), c10::IntArrayRef(v_shape));
  EXPECT_EQ(st.exp_avg().sizes(), p.sizes());
}

INSTANTIATE_TEST_SUITE_P(All, NDAdamVectorReference,
                         ::testing::Values(Case{"LinearRows", {3, 4}, {1}, 0.0}, Case{"LinearColumns", {3, 4}, {0}, 0.0},
                                           Case{"ConvTorchLayout", {2, 3, 2, 2}, {1, 2, 3}, 0.0},
                                           Case{"ConvTorchLayoutL2", {2, 3, 2, 2}, {1, 2, 3}, 0.05},
                                           Case{"NonTrailingNegativeAxes", {2, 3, 2, 2}, {-1, 1}, 0.0},
                                           Case{"WholeTensorOneVector", {5}, {0}, 0.0}),
                         [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

// Property: after every step each vector has unit norm, and (from step 2, when w is unit) the
// gradient that entered the moments is orthogonal to w: its radial component is zero; one v per
// vector follows ‖g_tan‖².
TEST(NDAdam, VectorsStayUnitNormAndTheEffectiveGradientIsTangent) {
  torch::manual_seed(5);
  auto p = torch::randn({4, 3, 3, 3}, torch::kFloat64) * 2.0;
  const double beta1 = 0.9, beta2 = 0.99;
  NDAdam opt(std::vector<torch::Tensor>{p}, NDAdamOptions(0.05).betas({beta1, beta2}).weight_decay(0.01).vec_axes({1, 2, 3}));
  const std::vector<int64_t> dims = {1, 2, 3};
  for (int t = 1; t <= 30; ++t) {
    const auto w_prev = p.clone();
    p.mutable_grad() = torch::randn({4, 3, 3, 3}, torch::kFloat64) + 0.5 * w_prev;  // a strong radial part
    const auto* st0 = opt.state().empty() ? nullptr
                                          : &static_cast<const optim::NDAdamParamState&>(*opt.state().begin()->second);
    const auto m_prev = st0 ? st0->exp_avg().clone() : torch::zeros_like(p);
    const auto v_prev = st0 ? st0->exp_avg_sq().clone() : torch::zeros({4, 1, 1, 1}, torch::kFloat64);
    opt.step();
    const auto& st = static_cast<const optim::NDAdamParamState&>(*opt.state().begin()->second);
    const auto norms = p.square().sum(dims).sqrt();
    EXPECT_LE((norms - 1.0).abs().max().item<double>(), 1e-14) << "step " << t;
    const auto g_tan = (st.exp_avg() - beta1 * m_prev) / (1 - beta1);
    const auto radial = (g_tan * w_prev).sum(dims).abs();
    const auto g_norm = g_tan.square().sum(dims).sqrt();
    if (t >= 2) {
      EXPECT_LE((radial / g_norm).max().item<double>(), 1e-12) << "step " << t;
    } else {
      // Step 1: the port projects with the not-yet-normalised w (g − (g·w)w assumes ‖w‖ = 1),
      // so the radial component is not removed exactly — reproduced on purpose (docs).
      EXPECT_GT((radial / g_norm).max().item<double>(), 1e-3);
    }
    const auto v_expect = beta2 * v_prev + (1 - beta2) * g_tan.square().sum(dims, true);
    EXPECT_LE(((st.exp_avg_sq() - v_expect).abs() / v_expect).max().item<double>(), 1e-12) << "step " << t;
  }
}

// ---- plain branch -----------------------------------------------------------------------------

TEST(NDAdam, WithoutVecAxesIsEfficientEpsAdam) {
  RefNDAdam c;
  c.lr = 0.02;
  c.wd = 0.1;
  c.eps = 1e-3;  // large enough that the ε placement matters
  const std::vector<double> theta0 = {0.5, -1.0, 2.0};
  for (auto path : {optim::KernelPath::kAuto, optim::KernelPath::kTensor}) {
    optim::set_kernel_path(path);
    auto ps = scalars(theta0);
    NDAdam opt(ps, to_options(c));
    const auto ours = drive(opt, ps, 40, 1000, wiggly_grad);
    const auto ref = ref_ndadam_plain(c, theta0, 40, wiggly_grad);
    for (size_t t = 0; t < ref.size(); ++t) {
      for (size_t i = 0; i < theta0.size(); ++i) EXPECT_NEAR(ours[t][i], ref[t][i], kRelTolDouble) << t;
    }
    // The torch-form ε would give a visibly different trajectory.
    auto qs = scalars(theta0);
    torch::optim::Adam adam(qs, torch::optim::AdamOptions(c.lr).eps(c.eps).weight_decay(c.wd));
    const auto torch_form = drive(adam, qs, 40, 1000, wiggly_grad);
    EXPECT_GT(std::abs(torch_form[40][0] - ours[40][0]), 1e-6);
  }
  optim::set_kernel_path(optim::KernelPath::kAuto);
  // With ε = 0 the two forms are the same mathematics: torch's Adam.
  auto a_p = scalars(theta0), b_p = scalars(theta0);
  NDAdam nd(a_p, NDAdamOptions(0.02).eps(0.0).weight_decay(0.1));
  torch::optim::Adam adam(b_p, torch::optim::AdamOptions(0.02).eps(0.0).weight_decay(0.1));
  const auto a = drive(nd, a_p, 40, 1000, wiggly_grad), b = drive(adam, b_p, 40, 1000, wiggly_grad);
  for (size_t t = 0; t < a.size(); ++t) EXPECT_NEAR(a[t][1], b[t][1], kRelTolDouble) << t;
}

// The MIAdam baseline: NDAdam(net.parameters(), lr, betas) — no vec_axes anywhere, no normalisation.
TEST(NDAdam, MIAdamBaselineUseIsPlainAdamOnEveryTensor) {
  torch::manual_seed(2);
  auto conv = torch::randn({2, 3, 2, 2}, torch::kFloat64), bias = torch::randn({2}, torch::kFloat64);
  auto opt = optim::make_optimizer("ndadam", {{"lr", 0.01}, {"betas", {0.9, 0.999}}}, std::vector<torch::Tensor>{conv, bias});
  std::vector<torch::Tensor> ts{conv, bias};
  drive_tensors(*opt, ts, 5);
  EXPECT_GT((conv.square().sum({1, 2, 3}).sqrt() - 1.0).abs().max().item<double>(), 1e-2);  // not normalised
  ASSERT_EQ(opt->state().size(), 2u);
  for (const auto& kv : opt->state()) {  // one v per element
    const auto& st = static_cast<const optim::NDAdamParamState&>(*kv.second);
    EXPECT_EQ(st.exp_avg_sq().sizes(), st.exp_avg().sizes());
  }
}

// ---- vec_axes that do not fit -----------------------------------------------------------------

TEST(NDAdam, VecAxesThatDoNotFitAreAnErrorNamingTheParameter) {
  auto conv = torch::zeros({2, 3, 2, 2}, torch::kFloat64), bias = torch::zeros({2}, torch::kFloat64);
  try {
    NDAdam opt(std::vector<torch::Tensor>{conv, bias}, NDAdamOptions().vec_axes({1, 2, 3}));
    ADD_FAILURE() << "a 1-d tensor with vec_axes [1, 2, 3] must be rejected";
  } catch (const common::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("parameter 1 of group 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  }
  auto lin = torch::zeros({3, 4}, torch::kFloat64);
  try {
    NDAdam opt(std::vector<torch::Tensor>{lin}, NDAdamOptions().vec_axes({1, -1}));
    ADD_FAILURE() << "[1, -1] names one axis twice for a 2-d tensor";
  } catch (const common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("same axis twice"), std::string::npos) << e.what();
  }
  auto scalar = torch::zeros({}, torch::kFloat64);
  EXPECT_THROW(NDAdam(std::vector<torch::Tensor>{scalar}, NDAdamOptions().vec_axes({0})), common::InputError);
}

TEST(NDAdam, NegativeAxesEqualTheirPositiveCounterparts) {
  torch::manual_seed(8);
  auto init = torch::randn({3, 5}, torch::kFloat64);
  auto a = init.clone(), b = init.clone();
  NDAdam na(std::vector<torch::Tensor>{a}, NDAdamOptions(0.1).vec_axes({-1}));
  NDAdam nb(std::vector<torch::Tensor>{b}, NDAdamOptions(0.1).vec_axes({1}));
  std::vector<torch::Tensor> ta{a}, tb{b};
  drive_tensors(na, ta, 6);
  drive_tensors(nb, tb, 6);
  EXPECT_TRUE(torch::equal(a, b));
}

TEST(NDAdam, ChangingVecAxesUnderAnExistingStateIsAnError) {
  auto p = torch::randn({3, 4}, torch::kFloat64);
  NDAdam opt(std::vector<torch::Tensor>{p}, NDAdamOptions(0.1).vec_axes({1}));
  std::vector<torch::Tensor> ts{p};
  drive_tensors(opt, ts, 2);
  static_cast<NDAdamOptions&>(opt.param_groups()[0].options()).vec_axes({0});
  try {
    drive_tensors(opt, ts, 1, 2);
    ADD_FAILURE() << "a per-row v cannot serve per-column vectors";
  } catch (const common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("vec_axes changed"), std::string::npos) << e.what();
  }
}

// ---- checkpoints, groups ----------------------------------------------------------------------

std::vector<torch::optim::OptimizerParamGroup> conv_and_bias_groups(const torch::Tensor& conv, const torch::Tensor& bias) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{conv},
                      std::make_unique<NDAdamOptions>(NDAdamOptions(0.04).betas({0.9, 0.99}).vec_axes({1, 2, 3})));
  groups.emplace_back(std::vector<torch::Tensor>{bias},
                      std::make_unique<NDAdamOptions>(NDAdamOptions(0.04).betas({0.9, 0.99}).weight_decay(5e-6)));
  return groups;  // the port's main.py: vectors with vec_axes [1,2,3], scalars with weightDecay 5e-6
}

TEST(NDAdam, SaveLoadContinueIsBitIdenticalAndRestoresVecAxes) {
  torch::manual_seed(4);
  const auto conv0 = torch::randn({2, 3, 2, 2}, torch::kFloat64), bias0 = torch::randn({2}, torch::kFloat64);
  auto fc = conv0.clone(), fb = bias0.clone();
  NDAdam full(conv_and_bias_groups(fc, fb));
  std::vector<torch::Tensor> full_ts{fc, fb};
  drive_tensors(full, full_ts, 12);

  auto c1 = conv0.clone(), b1 = bias0.clone();
  NDAdam first(conv_and_bias_groups(c1, b1));
  std::vector<torch::Tensor> ts{c1, b1};
  drive_tensors(first, ts, 5);
  const auto bytes = save_to_string(first);
  auto c2 = c1.clone(), b2 = b1.clone();
  std::vector<torch::optim::OptimizerParamGroup> plain;
  plain.emplace_back(std::vector<torch::Tensor>{c2});
  plain.emplace_back(std::vector<torch::Tensor>{b2});
  NDAdam resumed(std::move(plain), NDAdamOptions(0.5));  // no vec_axes: the checkpoint must restore them
  load_from_string(resumed, bytes);
  EXPECT_EQ(static_cast<const NDAdamOptions&>(resumed.param_groups()[0].options()).vec_axes(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(static_cast<const NDAdamOptions&>(resumed.param_groups()[1].options()).weight_decay(), 5e-6);
  std::vector<torch::Tensor> rts{c2, b2};
  drive_tensors(resumed, rts, 7, 5);
  EXPECT_TRUE(torch::equal(c2, fc));
  EXPECT_TRUE(torch::equal(b2, fb));
}

// ---- kernels, validation, registry ------------------------------------------------------------

// Vector branch: the fused row kernel (trailing vec_axes, contiguous CPU) vs the torch-op path.
TEST(NDAdam, VectorFusedKernelMatchesTensorPath) {
  struct Shape {
    std::vector<int64_t> shape, axes;
  };
  for (const auto& sh : {Shape{{64, 3, 5, 5}, {1, 2, 3}}, Shape{{300, 257}, {1}}, Shape{{7, 5}, {-2, -1}}}) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      torch::manual_seed(19);
      auto init = torch::randn(sh.shape, dtype);
      auto p1 = init.clone(), p2 = init.clone();
      const auto opts = NDAdamOptions(0.05).weight_decay(1e-2).vec_axes(sh.axes);
      NDAdam a(std::vector<torch::Tensor>{p1}, opts), b(std::vector<torch::Tensor>{p2}, opts);
      step_fused_and_tensor(a, b, 6, [&](int64_t) {
        auto g = torch::randn(sh.shape, dtype);
        p1.mutable_grad() = g.clone();
        p2.mutable_grad() = g.clone();
      });
      // float32: the per-vector sums are rounded to float after double accumulation in a different
      // order, so a few ulp; the renormalised weights are O(1/√len).
      const double tol = dtype == torch::kFloat32 ? 4 * kRelTolFloatSameMath : kRelTolDoubleSameMath;
      EXPECT_LE((p1 - p2).abs().max().item<double>(), tol) << dtype << " " << init.sizes();
      EXPECT_GT((p1 - init).abs().max().item<double>(), 0.0);
      const auto& sa = static_cast<const optim::NDAdamParamState&>(*a.state().begin()->second);
      const auto& sb = static_cast<const optim::NDAdamParamState&>(*b.state().begin()->second);
      EXPECT_LE(((sa.exp_avg_sq() - sb.exp_avg_sq()).abs() / sb.exp_avg_sq()).max().item<double>(), tol);
    }
  }
}

// Ranges: Conformance.RejectsEveryOutOfRangeValueNamingTheOption. Here vec_axes.
TEST(NDAdam, RejectsBadVecAxes) {
  auto p = scalars({1.0});
  auto expect_msg = [&](const NDAdamOptions& o, const std::string& needle) { expect_rejected<NDAdam>(p, o, needle); };
  expect_msg(NDAdamOptions().vec_axes({0, 0}), "vec_axes");
  auto expect_json = [&](const nlohmann::json& o, const std::string& needle) {
    try {
      optim::make_optimizer("ndadam", o, scalars({1.0}));
      ADD_FAILURE() << o.dump();
    } catch (const common::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_json({{"vec_axes", 1}}, "list of integers");
  expect_json({{"vec_axes", {1.5}}}, "list of integers");
  expect_json({{"vec_axes", {1}}}, "parameter 0 of group 0");  // a 1-element 1-d tensor has no axis 1
}

// optim-replay: group 0 plain (coupled L2), group 1 one vector (vec_axes [0]) — both equal the references.
TEST(NDAdam, ReplayMatchesReference) {
  const nlohmann::json spec = {
      {"optimizer", "ndadam"},
      {"options", {{"lr", 0.05}, {"betas", {0.9, 0.99}}}},
      {"params", {{1.0, -2.0, 0.5}, {0.3, 0.2, -0.4}}},
      {"groups", {{{"params", {0}}, {"options", {{"weight_decay", 0.01}}}}, {{"params", {1}}, {"options", {{"vec_axes", {0}}}}}}},
      {"steps", 25},
      {"quadratic", {{"a", {{1.0, 2.0, 3.0}, {0.5, 2.0, 1.0}}}, {"c", {{0, 0, 0}, {1, -1, 0.5}}}}}};
  const auto r = optim::replay(spec);
  ASSERT_EQ(r.rows.size(), 26u);
  RefNDAdam c;
  c.lr = 0.05;
  c.beta2 = 0.99;
  c.wd = 0.01;
  const std::vector<double> a0 = {1.0, 2.0, 3.0}, a1 = {0.5, 2.0, 1.0}, c1 = {1, -1, 0.5};
  const auto ref0 = ref_ndadam_plain(c, {1.0, -2.0, 0.5}, 25, [&](int64_t, size_t i, double th) { return a0[i] * th; });
  c.wd = 0;
  const auto ref1 = ref_ndadam_vectors(c, {{0.3, 0.2, -0.4}}, 25,
                                       [&](int64_t, size_t, size_t e, double w) { return a1[e] * (w - c1[e]); });
  for (size_t t = 0; t <= 25; ++t) {
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][1 + i], ref0[t][i], kRelTolDouble) << t;
    for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(r.rows[t][4 + i], ref1[t][0][i], kRelTolDouble) << t;
  }
  EXPECT_EQ(r.resolved["resolved_options"][1]["vec_axes"], nlohmann::json({0}));
  EXPECT_TRUE(r.resolved["resolved_options"][0]["vec_axes"].is_null());
}

}  // namespace
}  // namespace flatmin::test
