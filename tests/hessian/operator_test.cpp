// LibTorch HessianOperator vs analytic oracles (spec §7.2 items 2–5, 9, 10), the explicit Hessian of
// a TorchScript tanh MLP with BatchNorm in eval mode, and PyHessian compat against the committed
// fixture (tests/data/pyhessian, generator tests/tools/make_pyhessian_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include <Eigen/Eigenvalues>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "common/dist/communicator.h"
#include "common/error.h"
#include "hessian/hessian_operator.h"
#include "tests/support/gloo_ranks.h"
#include "tests/support/temp_dir.h"

namespace fh = flatmin::hessian;
using fh::Mat;
using fh::Vec;

namespace {

const std::string kData = std::string(FLATMIN_TEST_DATA_DIR) + "/pyhessian/";

// Float64 or float32 tolerances of the issue: 1e-8 / 1e-4 relative to max|H|.
double rel_err(const Mat& a, const Mat& b) { return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff(); }

Mat to_mat(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  const auto r = c.size(0), k = c.dim() > 1 ? c.size(1) : 1;
  Mat m(r, k);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < k; ++j) m(i, j) = c.data_ptr<double>()[i * k + j];
  return m;
}

// A bias-free linear model y = x Wᵀ as a C++ forward (the flatmin-model plug-in path).
fh::Model linear_model(torch::Tensor w) {
  w.set_requires_grad(true);
  fh::Model m;
  m.forward = [w](const torch::Tensor& x) { return torch::matmul(x, w.t()); };
  m.named_parameters = [w] { return fh::NamedTensors{{"W", w}}; };
  return m;
}

Mat explicit_h(fh::HessianOperator& h) { return fh::explicit_matrix(h.as_operator()); }

struct Fixture {
  fh::Model model;
  fh::Dataset data;
};
Fixture mlp() { return {fh::load_torchscript(kData + "mlp_bn.pt"), fh::load_dataset(kData + "mlp_bn_data.pt")}; }

Mat python_hessian() {
  std::ifstream in(kData + "mlp_bn_hessian.pt", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return to_mat(torch::jit::pickle_load(bytes).toGenericDict().at("H").toTensor());
}

}  // namespace

TEST(LinearRegression, MseMeanIsTwoOverNXtX) {
  for (auto dt : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(3);
    const auto x = torch::randn({40, 6}, dt), y = torch::randn({40, 1}, dt);
    fh::OperatorOptions o;
    o.loss = fh::Loss::MSE;
    fh::HessianOperator h(linear_model(torch::randn({1, 6}, dt)), {x, y}, o);
    const Mat X = to_mat(x);
    const Mat expect = 2.0 / 40 * X.transpose() * X;
    EXPECT_LT(rel_err(explicit_h(h), expect), dt == torch::kFloat64 ? 1e-12 : 1e-6);
    // Spectra top-3 vs the dense oracle, and the trace (2/N)‖X‖_F².
    fh::TopKOptions to;
    to.k = 3;
    to.ncv = 6;
    const auto r = fh::top_k(h.as_operator(), to);
    Eigen::SelfAdjointEigenSolver<Mat> es(expect);
    for (int i = 0; i < 3; ++i)
      EXPECT_NEAR(r.pairs[i].value, es.eigenvalues()(5 - i), (dt == torch::kFloat64 ? 1e-8 : 1e-4) * es.eigenvalues()(5));
    EXPECT_NEAR(fh::exact_trace(h.as_operator()).estimate, 2.0 / 40 * X.squaredNorm(), 1e-8 * X.squaredNorm());
  }
}

TEST(LinearRegression, MultiOutputMeanAndSumAreKronecker) {
  torch::manual_seed(4);
  const auto x = torch::randn({25, 4}, torch::kFloat64), y = torch::randn({25, 3}, torch::kFloat64);
  const Mat X = to_mat(x);
  const Mat xtx = X.transpose() * X;
  Mat kron = Mat::Zero(12, 12);  // I_3 ⊗ XᵀX (row-major W)
  for (int o = 0; o < 3; ++o) kron.block(4 * o, 4 * o, 4, 4) = xtx;
  fh::OperatorOptions o;
  o.loss = fh::Loss::MSE;
  fh::HessianOperator hm(linear_model(torch::randn({3, 4}, torch::kFloat64)), {x, y}, o);
  EXPECT_LT(rel_err(explicit_h(hm), 2.0 / (25 * 3) * kron), 1e-12);
  o.reduction = fh::Reduction::Sum;
  o.batch_size = 6;  // sum reduction: no weighting, batches simply add up
  fh::HessianOperator hs(linear_model(torch::randn({3, 4}, torch::kFloat64)), {x, y}, o);
  EXPECT_LT(rel_err(explicit_h(hs), 2.0 * kron), 1e-12);
}

TEST(Logistic, BceWithLogitsHessianAndTrace) {
  for (auto dt : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(5);
    const auto x = torch::randn({50, 5}, dt);
    const auto w = torch::randn({1, 5}, dt);
    const auto y = torch::randint(0, 2, {50, 1}, dt);
    fh::OperatorOptions o;
    o.loss = fh::Loss::BCEWithLogits;
    fh::HessianOperator h(linear_model(w.clone()), {x, y}, o);
    const Mat X = to_mat(x);
    const Vec z = X * to_mat(w.t()).col(0);
    Mat expect = Mat::Zero(5, 5);
    double tr = 0;
    for (int k = 0; k < 50; ++k) {
      const double s = 1.0 / (1.0 + std::exp(-z(k))), c = s * (1 - s);
      expect += c * X.row(k).transpose() * X.row(k) / 50.0;
      tr += c * X.row(k).squaredNorm() / 50.0;
    }
    const double tol = dt == torch::kFloat64 ? 1e-8 : 1e-4;
    EXPECT_LT(rel_err(explicit_h(h), expect), tol);
    EXPECT_NEAR(explicit_h(h).trace(), tr, tol * tr);
  }
}

TEST(SoftmaxCrossEntropy, KroneckerFormulaTraceAndNullSpace) {
  for (auto dt : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(6);
    const int N = 30, d = 4, C = 3;
    const auto x = torch::randn({N, d}, dt);
    const auto w = torch::randn({C, d}, dt);
    const auto y = torch::randint(0, C, {N}, torch::kLong);
    fh::HessianOperator h(linear_model(w.clone()), {x, y}, {});
    const Mat X = to_mat(x), W = to_mat(w);
    Mat expect = Mat::Zero(C * d, C * d);
    double tr = 0;
    for (int k = 0; k < N; ++k) {
      Vec logits = W * X.row(k).transpose();
      Vec p = (logits.array() - logits.maxCoeff()).exp();
      p /= p.sum();
      const Mat a = Mat(p.asDiagonal()) - p * p.transpose();
      const Mat xx = X.row(k).transpose() * X.row(k);
      for (int i = 0; i < C; ++i)
        for (int j = 0; j < C; ++j) expect.block(i * d, j * d, d, d) += a(i, j) * xx / N;
      tr += (1 - p.squaredNorm()) * X.row(k).squaredNorm() / N;
    }
    const double tol = dt == torch::kFloat64 ? 1e-8 : 1e-4;
    const Mat H = explicit_h(h);
    EXPECT_LT(rel_err(H, expect), tol);
    EXPECT_NEAR(H.trace(), tr, tol * tr);
    // Adding the same vector u to every row of W leaves softmax unchanged: H (1_C ⊗ u) = 0.
    Eigen::SelfAdjointEigenSolver<Mat> es(H);
    int zeros = 0;
    for (int i = 0; i < C * d; ++i) zeros += std::abs(es.eigenvalues()(i)) < tol * es.eigenvalues().cwiseAbs().maxCoeff();
    EXPECT_GE(zeros, d);
    EXPECT_GT(es.eigenvalues().minCoeff(), -tol * es.eigenvalues().maxCoeff());  // PSD
  }
}

TEST(TorchScriptMlpBn, ExplicitHessianMatchesPythonFloat64AndFloat32) {
  const Mat Hpy = python_hessian();
  {
    auto f = mlp();
    fh::OperatorOptions o;
    o.dtype = "float64";
    fh::HessianOperator h(f.model, f.data, o);
    ASSERT_EQ(h.n(), 135);
    EXPECT_EQ(h.dtype_name(), "float64");
    double asym = 0;
    const Mat H = fh::explicit_matrix(h.as_operator(), &asym);
    EXPECT_LT(asym, 1e-12);
    EXPECT_LT(rel_err(H, Hpy), 1e-8);
    // Spectra (accurate default) on the LibTorch operator vs eigh of the Python Hessian.
    Eigen::SelfAdjointEigenSolver<Mat> es(Hpy);
    fh::TopKOptions to;
    to.k = 2;
    to.which = fh::Which::BothEnds;
    const auto r = fh::top_k(h.as_operator(), to);
    ASSERT_EQ(r.status, flatmin::common::RunStatus::ok) << r.message;
    const double scale = es.eigenvalues().cwiseAbs().maxCoeff();
    EXPECT_NEAR(r.pairs[0].value, es.eigenvalues()(134), 1e-8 * scale);
    EXPECT_NEAR(r.pairs[1].value, es.eigenvalues()(0), 1e-8 * scale);
    for (const auto& p : r.pairs) EXPECT_LT(p.residual, 1e-5);
    // The density grid brackets the true spectrum.
    fh::SlqOptions so;
    so.runs = 2;
    so.steps = 60;
    const auto s = fh::slq(h.as_operator(), so);
    for (const auto& q : s.runs) {
      EXPECT_NEAR(q.nodes.front(), es.eigenvalues()(0), 1e-6 * scale);
      EXPECT_NEAR(q.nodes.back(), es.eigenvalues()(134), 1e-6 * scale);
    }
  }
  {
    auto f = mlp();
    fh::HessianOperator h(f.model, f.data, {});
    EXPECT_EQ(h.dtype_name(), "float32");
    EXPECT_LT(rel_err(explicit_h(h), Hpy), 1e-4);
  }
}

TEST(TorchScriptMlpBn, RaggedBatchesEqualOneBatchAndGraphCacheIsExact) {
  auto f = mlp();
  fh::OperatorOptions o;
  o.dtype = "float64";
  fh::HessianOperator one(f.model, f.data, o);
  EXPECT_TRUE(one.graph_cached());
  const Mat H1 = explicit_h(one);
  for (const std::string cache : {"off", "on"}) {
    auto g = mlp();
    o.batch_size = 7;  // 7,7,7,7,4: sample-weighted, not batch-averaged
    o.graph_cache = cache;
    fh::HessianOperator rag(g.model, g.data, o);
    EXPECT_EQ(rag.n_batches(), 5);
    EXPECT_LT(rel_err(explicit_h(rag), H1), 1e-12) << cache;
  }
  // Several vectors per pass equal one at a time.
  Mat v(135, 3), y1(135, 3), y3(135, 3);
  for (int j = 0; j < 3; ++j) fh::gaussian_probe(9, j, v.col(j).data(), 135);
  for (int j = 0; j < 3; ++j) one.apply(v.col(j).data(), y1.col(j).data());
  one.apply_block(v.data(), y3.data(), 3);
  EXPECT_LT((y1 - y3).cwiseAbs().maxCoeff(), 1e-13 * y1.cwiseAbs().maxCoeff());
}

TEST(TorchScriptMlpBn, FilterWeightDecayAndTrainMode) {
  const Mat Hpy = python_hessian();
  auto f = mlp();
  fh::OperatorOptions o;
  o.dtype = "float64";
  o.param_regex = "^fc2\\.";  // the diagonal block H_SS of fc2.weight (36) and fc2.bias (3)
  fh::HessianOperator h(f.model, f.data, o);
  ASSERT_EQ(h.n(), 39);
  EXPECT_EQ(h.parameter_names(), (std::vector<std::string>{"fc2.weight", "fc2.bias"}));
  EXPECT_LT(rel_err(explicit_h(h), Hpy.bottomRightCorner(39, 39)), 1e-8);
  auto g = mlp();
  o.param_regex.clear();
  o.weight_decay = 0.25;
  fh::HessianOperator hw(g.model, g.data, o);
  EXPECT_LT(rel_err(explicit_h(hw), Hpy + 0.25 * Mat::Identity(135, 135)), 1e-8);
  auto t = mlp();
  o.weight_decay = 0;
  o.train_mode = true;  // BN batch statistics: a different function, so a different Hessian
  fh::HessianOperator ht(t.model, t.data, o);
  EXPECT_GT(rel_err(explicit_h(ht), Hpy), 1e-3);
  auto e = mlp();
  o.param_regex = "no_such_layer";
  EXPECT_THROW(fh::HessianOperator(e.model, e.data, o), flatmin::common::InputError);
}

TEST(Operator, UnusedParameterGivesZeroRowsAndDeterminismProbeRejectsDropout) {
  torch::manual_seed(8);
  const auto x = torch::randn({20, 3}, torch::kFloat64), y = torch::randn({20, 1}, torch::kFloat64);
  auto w = torch::randn({1, 3}, torch::kFloat64).set_requires_grad(true);
  auto unused = torch::randn({2}, torch::kFloat64).set_requires_grad(true);
  auto bias = torch::zeros({1}, torch::kFloat64).set_requires_grad(true);
  fh::Model m;
  m.forward = [w, bias](const torch::Tensor& xx) { return torch::matmul(xx, w.t()) + bias; };
  m.named_parameters = [w, unused, bias] { return fh::NamedTensors{{"w", w}, {"unused", unused}, {"b", bias}}; };
  fh::OperatorOptions o;
  o.loss = fh::Loss::MSE;
  fh::HessianOperator h(m, {x, y}, o);
  const Mat H = explicit_h(h);
  EXPECT_EQ(H.block(3, 0, 2, 6).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_NEAR(H(5, 5), 2.0, 1e-12);  // ∂²/∂b² of mean (xw+b−y)² = 2
  fh::Model drop = m;
  drop.forward = [w](const torch::Tensor& xx) { return torch::dropout(torch::matmul(xx, w.t()), 0.5, true); };
  drop.named_parameters = [w] { return fh::NamedTensors{{"w", w}}; };
  try {
    fh::HessianOperator bad(drop, {x, y}, o);
    FAIL() << "dropout model accepted";
  } catch (const flatmin::common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not deterministic"), std::string::npos) << e.what();
  }
}

TEST(Operator, DataValidationErrors) {
  auto f = mlp();
  auto expect_error = [&](fh::Dataset d, fh::OperatorOptions o, const std::string& needle) {
    try {
      fh::HessianOperator h(mlp().model, d, o);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const flatmin::common::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({f.data.x, f.data.y + 5}, {}, "labels out of range");
  expect_error({f.data.x, f.data.y.narrow(0, 0, 10)}, {}, "samples but y");
  expect_error({f.data.x, f.data.y.to(torch::kFloat32)}, {}, "integer class labels");
  expect_error({torch::randn({32, 7}), f.data.y}, {}, "forward failed");
  fh::OperatorOptions mse;
  mse.loss = fh::Loss::MSE;
  expect_error({f.data.x, torch::randn({32, 1})}, mse, "differs from target shape");
  auto xn = f.data.x.clone();
  xn[0][0] = std::nan("");
  expect_error({xn, f.data.y}, {}, "NaN");
  EXPECT_THROW(fh::load_torchscript(kData + "missing.pt"), flatmin::common::InputError);
  EXPECT_THROW(fh::load_torchscript(kData + "compat_reference.json"), flatmin::common::InputError);
  EXPECT_THROW(fh::load_dataset(kData + "mlp_bn.pt"), flatmin::common::InputError);
}

TEST(PyHessianCompat, ReproducesTheReferenceAlgorithmOnFixedSeed) {
  std::ifstream in(kData + "compat_reference.json");
  const auto ref = nlohmann::json::parse(in);
  for (const std::string dt : {"float64", "float32"}) {
    auto f = mlp();
    fh::OperatorOptions o;
    o.dtype = dt;
    fh::AnalyzeOptions a;
    a.compat = fh::CompatMode::PyHessian;
    a.seed = ref["seed"].get<std::uint64_t>();
    a.top_k.k = 2;
    a.trace = true;
    a.density = true;
    const auto s = fh::analyze(f.model, f.data, o, a);
    const auto& r = ref[dt];
    const double tol = dt == "float64" ? 1e-10 : 1e-4;
    ASSERT_EQ(s.eigenpairs.size(), 2u);
    for (int i = 0; i < 2; ++i) {
      const double e = r["eigenvalues"][i].get<double>();
      EXPECT_NEAR(s.eigenpairs[i].value, e, tol * std::abs(e)) << dt;
      EXPECT_EQ(s.solver["iterations"][i].get<int>(), r["iterations"][i].get<int>()) << dt;
    }
    ASSERT_EQ(s.trace.samples.size(), r["trace_samples"].size()) << dt;
    for (std::size_t i = 0; i < s.trace.samples.size(); ++i) {
      const double t = r["trace_samples"][i].get<double>();
      EXPECT_NEAR(s.trace.samples[i], t, tol * std::abs(t)) << dt << " sample " << i;
    }
    ASSERT_EQ(s.slq.runs.size(), 1u);
    const auto& q = s.slq.runs[0];
    ASSERT_EQ(q.nodes.size(), r["nodes"].size());
    double node_err = 0, w_err = 0;
    for (std::size_t k = 0; k < q.nodes.size(); ++k) {
      node_err = std::max(node_err, std::abs(q.nodes[k] - r["nodes"][k].get<double>()));
      w_err = std::max(w_err, std::abs(q.weights[k] - r["weights"][k].get<double>()));
    }
    const double node_tol = dt == "float64" ? 1e-8 : 1e-3;
    EXPECT_LT(node_err, node_tol) << dt;
    EXPECT_LT(w_err, node_tol) << dt;
    EXPECT_NEAR(s.esd.grid.front(), r["grid_min"].get<double>(), node_tol) << dt;
    EXPECT_NEAR(s.esd.grid.back(), r["grid_max"].get<double>(), node_tol) << dt;
    EXPECT_EQ(s.hvp_count, r["hvp_count"].get<std::int64_t>()) << dt;
    // density_generate(): the smoothed ESD every 500 grid points.
    const auto& dref = r["density_every_500"];
    ASSERT_EQ(s.esd.grid.size(), 10000u);
    double d_err = 0;
    for (std::size_t i = 0; i < dref.size(); ++i) {
      const double want = dref[i].get<double>();
      d_err = std::max(d_err, std::abs(s.esd.density[500 * i] - want) / std::max(1e-3, std::abs(want)));
    }
    EXPECT_LT(d_err, dt == "float64" ? 1e-8 : 1e-2) << dt;
    std::printf("[compat %s] max |Δnode| %.3g max |Δweight| %.3g density rel %.3g λ %.12g vs %.12g\n", dt.c_str(),
                node_err, w_err, d_err,
                s.eigenpairs[0].value, r["eigenvalues"][0].get<double>());
  }
}

namespace {
// An in-process stand-in for a 2-rank c10d allreduce(SUM) (threads as ranks).
struct TwoRankSum {
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0, gen = 0;
  std::vector<double> sum, result;
  void operator()(double* d, std::int64_t n) {
    std::unique_lock<std::mutex> l(m);
    const int my = gen;
    if (arrived == 0)
      sum.assign(d, d + n);
    else
      for (std::int64_t i = 0; i < n; ++i) sum[static_cast<std::size_t>(i)] += d[i];
    if (++arrived == 2) {
      arrived = 0;
      result = sum;
      ++gen;
      cv.notify_all();
    } else {
      cv.wait(l, [&] { return gen != my; });
    }
    std::copy(result.begin(), result.end(), d);
  }
};
}  // namespace

TEST(DataParallel, TwoRankShardsEqualOneRank) {
  auto f = mlp();
  fh::OperatorOptions o;
  o.dtype = "float64";
  fh::HessianOperator one(f.model, f.data, o);
  const Mat H1 = explicit_h(one);
  std::vector<double> g1(135);
  const double l1 = one.loss_and_gradient(g1.data());
  TwoRankSum reducer;
  Mat H[2];
  double loss[2];
  std::int64_t n_seen[2];
  auto rank = [&](int r) {
    auto g = mlp();
    const auto x = r == 0 ? g.data.x.narrow(0, 0, 20) : g.data.x.narrow(0, 20, 12);  // unequal shards
    const auto y = r == 0 ? g.data.y.narrow(0, 0, 20) : g.data.y.narrow(0, 20, 12);
    fh::OperatorOptions ro = o;
    ro.batch_size = 7;
    ro.allreduce_sum = [&reducer](double* d, std::int64_t n) { reducer(d, n); };
    fh::HessianOperator h(g.model, {x, y}, ro);
    n_seen[r] = h.n_samples();
    H[r] = explicit_h(h);
    loss[r] = h.loss_and_gradient(nullptr);
  };
  std::thread t0(rank, 0), t1(rank, 1);
  t0.join();
  t1.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(n_seen[r], 32);
    EXPECT_LT(rel_err(H[r], H1), 1e-12) << r;
    EXPECT_NEAR(loss[r], l1, 1e-12 * std::abs(l1));
  }
}

#ifdef FLATMIN_HAVE_GLOO
TEST(DataParallel, TwoRanksOverC10dGlooOnLoopbackEqualOneRank) {
  auto f = mlp();
  fh::OperatorOptions o;
  o.dtype = "float64";
  fh::HessianOperator one(f.model, f.data, o);
  const Mat H1 = explicit_h(one);
  fh::AnalyzeOptions ao;
  ao.top_k.k = 2;
  ao.trace = true;
  ao.hutchinson.max_samples = 40;
  const auto s1 = fh::analyze(one.as_operator(), ao);
  flatmin::common::testing_support::TempDir dir;
  Mat H[2];
  fh::Summary s[2];
  const auto errors = flatmin::common::testing_support::run_gloo_ranks(2, dir, [&](int r, const auto& comm) {
    auto g = mlp();
    const auto [b, e] = comm->shard(g.data.x.size(0));
    fh::OperatorOptions ro = o;
    ro.batch_size = 5;
    ro.allreduce_sum = [comm](double* v, std::int64_t n) { comm->allreduce_sum(v, static_cast<size_t>(n)); };
    fh::HessianOperator h(g.model, {g.data.x.slice(0, b, e), g.data.y.slice(0, b, e)}, ro);
    H[r] = explicit_h(h);
    s[r] = fh::analyze(h.as_operator(), ao);
  });
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int r = 0; r < 2; ++r) {
    EXPECT_LT(rel_err(H[r], H1), 1e-12) << r;
    for (int k = 0; k < 2; ++k)
      EXPECT_NEAR(s[r].eigenpairs[k].value, s1.eigenpairs[k].value, 1e-10 * std::abs(s1.eigenpairs[0].value));
    EXPECT_NEAR(s[r].trace.estimate, s1.trace.estimate, 1e-10 * std::abs(s1.trace.estimate));
  }
  EXPECT_EQ(s[0].eigenpairs[0].value, s[1].eigenpairs[0].value);  // bit-identical on every rank
}
#endif
