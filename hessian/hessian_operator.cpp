#include "hessian/hessian_operator.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include "common/error.h"
#include "common/library_error.h"
#include "common/limits.h"
#include "common/zip_archive.h"

namespace flatmin::hessian {

namespace {

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

/// InputError unless `path` is a readable regular file: "no such file" / "is a folder, not a file" /
/// "is not a regular file".
void check_input_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  FLATMIN_CHECK(fs::exists(st), what << " file '" << path << "': no such file");
  FLATMIN_CHECK(!fs::is_directory(st), what << " file '" << path << "' is a folder, not a file");
  FLATMIN_CHECK(fs::is_regular_file(st), what << " file '" << path << "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  FLATMIN_CHECK(in.good(), what << " file '" << path << "': cannot be read (permission denied?)");
}

std::vector<char> read_bytes(const std::string& path, const std::string& what) {
  check_input_file(path, what);
  std::ifstream in(path, std::ios::binary);
  FLATMIN_CHECK(in.good(), "cannot read " << what << " file '" << path << "'");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

torch::Dtype parse_dtype(const std::string& s) {
  if (s == "float32") return torch::kFloat32;
  if (s == "float64") return torch::kFloat64;
  FLATMIN_CHECK(false, "--dtype '" << s << "' must be float32 or float64");
  return torch::kFloat32;
}

torch::Tensor compute_loss(Loss loss, const torch::Tensor& out, const torch::Tensor& y, Reduction red) {
  const int64_t r = red == Reduction::Mean ? at::Reduction::Mean : at::Reduction::Sum;
  switch (loss) {
    case Loss::CrossEntropy: return at::cross_entropy_loss(out, y, {}, r);
    case Loss::MSE: return at::mse_loss(out, y, r);
    case Loss::BCEWithLogits: return at::binary_cross_entropy_with_logits(out, y, {}, {}, r);
  }
  return {};
}

}  // namespace

Loss parse_loss(const std::string& name) {
  if (name == "cross_entropy") return Loss::CrossEntropy;
  if (name == "mse") return Loss::MSE;
  if (name == "bce_with_logits") return Loss::BCEWithLogits;
  FLATMIN_CHECK(false, "--loss '" << name << "' must be cross_entropy, mse or bce_with_logits");
  return Loss::CrossEntropy;
}

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  FLATMIN_CHECK(false, "--reduction '" << name << "' must be mean or sum");
  return Reduction::Mean;
}

std::string to_string(Reduction r) { return r == Reduction::Mean ? "mean" : "sum"; }

nlohmann::json OperatorOptions::to_json() const {
  return {{"loss", to_string(loss)},       {"reduction", to_string(reduction)}, {"batch_size", batch_size},
          {"param_filter", param_regex},   {"weight_decay", weight_decay},      {"train_mode", train_mode},
          {"dtype", dtype},                {"device", device},                  {"graph_cache", graph_cache}};
}

std::string to_string(Loss l) {
  switch (l) {
    case Loss::CrossEntropy: return "cross_entropy";
    case Loss::MSE: return "mse";
    case Loss::BCEWithLogits: return "bce_with_logits";
  }
  return "?";
}

Model load_torchscript(const std::string& path) {
  check_input_file(path, "model");
  if (auto why = common::zip_file_problem(path))
    FLATMIN_CHECK(false, "cannot load TorchScript model '" << path << "' (torch.jit.save format expected): " << *why);
  auto m = std::make_shared<torch::jit::Module>();
  try {
    *m = torch::jit::load(path);
  } catch (const std::exception& e) {
    FLATMIN_CHECK(false, "cannot load TorchScript model '" << path << "' (torch.jit.save format expected): "
                                                          << common::short_library_error(e.what()));
  }
  Model model;
  model.forward = [m](const torch::Tensor& x) {
    auto out = m->forward({x});
    FLATMIN_CHECK(out.isTensor(), "the model's forward() must return one Tensor");
    return out.toTensor();
  };
  model.named_parameters = [m] {
    NamedTensors ps;
    for (const auto& p : m->named_parameters(/*recurse=*/true)) ps.emplace_back(p.name, p.value);
    return ps;
  };
  model.set_train = [m](bool t) { m->train(t); };
  model.to_dtype = [m](torch::Dtype d) { m->to(d); };
  model.to_device = [m](torch::Device d) { m->to(d); };
  return model;
}

Dataset load_dataset(const std::string& path) {
  const auto bytes = read_bytes(path, "data");
  if (auto why = common::zip_archive_problem(std::string_view(bytes.data(), bytes.size())))
    FLATMIN_CHECK(false, "cannot load data '" << path << "' (a torch.save'd dict {\"x\": Tensor, \"y\": Tensor}): " << *why);
  c10::IValue iv;
  try {
    iv = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    const std::string why = common::short_library_error(e.what());
    // LibTorch's unpickler reads only a dict of two or more entries (one entry is pickled with SETITEM)
    FLATMIN_CHECK(why.find("Unknown opcode") == std::string::npos,
                  "cannot load data '" << path << "': not a torch.save'd dict {\"x\": Tensor, \"y\": Tensor} (is the key "
                                          "'x' or 'y' missing? LibTorch: "
                                       << why << ")");
    FLATMIN_CHECK(false, "cannot load data '" << path << "' (a torch.save'd dict {\"x\": Tensor, \"y\": Tensor}): " << why);
  }
  FLATMIN_CHECK(iv.isGenericDict(), "data '" << path << "' is not a dict {\"x\": Tensor, \"y\": Tensor}");
  Dataset d;
  for (const auto& kv : iv.toGenericDict()) {
    if (!kv.key().isString()) continue;
    const std::string k = kv.key().toStringRef();
    if (k != "x" && k != "y") continue;
    FLATMIN_CHECK(kv.value().isTensor(), "data '" << path << "': entry '" << k << "' is not a Tensor");
    (k == "x" ? d.x : d.y) = kv.value().toTensor();
  }
  FLATMIN_CHECK(d.x.defined(), "data '" << path << "' has no key 'x' (a dict {\"x\": Tensor, \"y\": Tensor} is expected)");
  FLATMIN_CHECK(d.y.defined(), "data '" << path << "' has no key 'y' (a dict {\"x\": Tensor, \"y\": Tensor} is expected)");
  return d;
}

struct HessianOperator::Impl {
  Model model;
  OperatorOptions opt;
  torch::Device device{torch::kCPU};
  torch::Dtype dtype = torch::kFloat32;
  std::vector<torch::Tensor> params;
  std::vector<std::int64_t> numels;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
  std::vector<double> weights;                    // n_b/N (mean) or 1 (sum)
  std::vector<std::vector<torch::Tensor>> cached;  // first-order grads with graph, per batch
  std::vector<std::vector<std::size_t>> cached_idx;

  torch::Tensor batch_loss(std::size_t b) {
    const auto& [xb, yb] = batches[b];
    torch::Tensor out;
    try {
      out = model.forward(xb);
    } catch (const common::InputError&) {
      throw;
    } catch (const std::exception& e) {
      FLATMIN_CHECK(false, "the model's forward failed on data x of shape " << shape_str(xb) << ": "
                                                                             << common::short_library_error(e.what()));
    }
    return compute_loss(opt.loss, out, yb, opt.reduction);
  }

  // First-order gradients with graph; `idx` = parameters whose gradient depends on θ (others: H row 0).
  std::vector<torch::Tensor> first_order(std::size_t b, std::vector<std::size_t>& idx) {
    const auto loss = batch_loss(b);
    auto g = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/true, /*create_graph=*/true,
                                   /*allow_unused=*/true);
    std::vector<torch::Tensor> outs;
    idx.clear();
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i].defined() && g[i].requires_grad()) {
        outs.push_back(g[i]);
        idx.push_back(i);
      }
    return outs;
  }

  std::vector<torch::Tensor> split(const double* x) const {
    auto flat = torch::from_blob(const_cast<double*>(x), {static_cast<std::int64_t>(total())}, torch::kFloat64)
                    .to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    std::vector<torch::Tensor> vs;
    std::int64_t off = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      vs.push_back(flat.narrow(0, off, numels[i]).view(params[i].sizes()));
      off += numels[i];
    }
    return vs;
  }

  std::int64_t total() const {
    std::int64_t t = 0;
    for (auto n : numels) t += n;
    return t;
  }

  void products(const double* x, double* y, int k) {
    const std::int64_t n = total();
    std::vector<std::vector<torch::Tensor>> vs;
    for (int j = 0; j < k; ++j) vs.push_back(split(x + j * n));
    std::vector<torch::Tensor> acc(static_cast<std::size_t>(k));
    for (auto& a : acc) a = torch::zeros({n}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    const bool cache = !cached.empty() || opt.graph_cache == "on" || (opt.graph_cache == "auto" && batches.size() == 1);
    if (cache && cached.empty()) {
      cached.resize(batches.size());
      cached_idx.resize(batches.size());
      for (std::size_t b = 0; b < batches.size(); ++b) cached[b] = first_order(b, cached_idx[b]);
    }
    for (std::size_t b = 0; b < batches.size(); ++b) {
      std::vector<std::size_t> idx_local;
      std::vector<torch::Tensor> outs = cache ? cached[b] : first_order(b, idx_local);
      const auto& idx = cache ? cached_idx[b] : idx_local;
      if (outs.empty()) continue;  // loss linear in θ on this batch: H_b = 0
      for (int j = 0; j < k; ++j) {
        std::vector<torch::Tensor> go;
        for (auto i : idx) go.push_back(vs[static_cast<std::size_t>(j)][i]);
        const bool retain = cache || j + 1 < k;
        auto hv = torch::autograd::grad(outs, params, go, retain, /*create_graph=*/false, /*allow_unused=*/true);
        std::vector<torch::Tensor> flat;
        for (std::size_t i = 0; i < params.size(); ++i)
          flat.push_back(hv[i].defined() ? hv[i].reshape({-1}) : torch::zeros({numels[i]}, params[i].options()));
        acc[static_cast<std::size_t>(j)].add_(torch::cat(flat).to(torch::kFloat64), weights[b]);
      }
    }
    for (int j = 0; j < k; ++j) {
      auto r = acc[static_cast<std::size_t>(j)].to(torch::kCPU).contiguous();
      double* yj = y + j * n;
      std::memcpy(yj, r.data_ptr<double>(), sizeof(double) * static_cast<std::size_t>(n));
    }
    if (opt.allreduce_sum) opt.allreduce_sum(y, n * k);  // Σ over ranks of Σ_b (n_b/N)·H_b v
    for (int j = 0; j < k; ++j) {
      double* yj = y + j * n;
      if (opt.weight_decay != 0.0)
        for (std::int64_t i = 0; i < n; ++i) yj[i] += opt.weight_decay * x[j * n + i];
    }
  }

  double loss_grad(double* g) {
    const std::int64_t n = total();
    double loss = 0.0;
    auto acc = torch::zeros({n}, torch::kFloat64);
    for (std::size_t b = 0; b < batches.size(); ++b) {
      const auto l = batch_loss(b);
      loss += weights[b] * l.item<double>();
      if (!g) continue;
      auto gr = torch::autograd::grad({l}, params, {}, false, false, true);
      std::vector<torch::Tensor> flat;
      for (std::size_t i = 0; i < params.size(); ++i)
        flat.push_back(gr[i].defined() ? gr[i].reshape({-1}) : torch::zeros({numels[i]}, params[i].options()));
      acc.add_(torch::cat(flat).to(torch::kCPU, torch::kFloat64), weights[b]);
    }
    if (g) std::memcpy(g, acc.data_ptr<double>(), sizeof(double) * static_cast<std::size_t>(n));
    if (opt.allreduce_sum) {
      opt.allreduce_sum(&loss, 1);
      if (g) opt.allreduce_sum(g, n);
    }
    return loss;
  }
};

HessianOperator::~HessianOperator() = default;

HessianOperator::HessianOperator(Model model, Dataset data, OperatorOptions opt) : impl_(std::make_unique<Impl>()) {
  auto& I = *impl_;
  I.opt = opt;
  FLATMIN_CHECK(model.forward && model.named_parameters, "model without forward() or parameters");
  FLATMIN_CHECK(opt.graph_cache == "auto" || opt.graph_cache == "on" || opt.graph_cache == "off",
                "--graph-cache '" << opt.graph_cache << "' must be auto, on or off");
  FLATMIN_CHECK(std::isfinite(opt.weight_decay), "--weight-decay must be finite");
  FLATMIN_CHECK(opt.batch_size >= 0 && opt.batch_size <= common::limits::kSamples,
                "--batch-size " << opt.batch_size << " must be in [0, " << common::format_count(common::limits::kSamples) << "] (0 = whole dataset)");
  try {
    I.device = torch::Device(opt.device);
  } catch (const std::exception& e) {
    FLATMIN_CHECK(false, "--device '" << opt.device << "': " << common::short_library_error(e.what()));
  }
  FLATMIN_CHECK(!I.device.is_cuda() || torch::cuda::is_available(),
                "--device " << opt.device << " requested but CUDA is not available");
  if (!opt.dtype.empty()) {
    const auto d = parse_dtype(opt.dtype);
    if (model.to_dtype) model.to_dtype(d);
  }
  if (model.to_device && !I.device.is_cpu()) model.to_device(I.device);
  if (model.set_train) model.set_train(opt.train_mode);
  I.model = model;

  // Parameters: trainable ones matching the filter, in parameters() order.
  std::regex re;
  try {
    re = std::regex(opt.param_regex.empty() ? std::string(".*") : opt.param_regex);
  } catch (const std::regex_error& e) {
    FLATMIN_CHECK(false, "--param-filter '" << opt.param_regex << "' is not a valid regex: " << e.what());
  }
  std::string all_names;
  for (const auto& [name, p] : model.named_parameters()) {
    all_names += (all_names.empty() ? "" : ", ") + name;
    if (!p.requires_grad() || !std::regex_search(name, re)) continue;
    I.params.push_back(p);
    I.numels.push_back(p.numel());
    names_.push_back(name);
  }
  FLATMIN_CHECK(!I.params.empty(), "parameter filter '" << opt.param_regex << "' selects no trainable parameter (have: "
                                                        << (all_names.empty() ? "none" : all_names) << ")");
  I.dtype = I.params.front().scalar_type();
  for (std::size_t i = 0; i < I.params.size(); ++i)
    FLATMIN_CHECK(I.params[i].scalar_type() == I.dtype && I.params[i].is_floating_point(),
                  "parameters of mixed or non-float dtype (" << names_[i] << "); pass --dtype float32|float64");
  if (!opt.dtype.empty())
    FLATMIN_CHECK(I.dtype == parse_dtype(opt.dtype), "the model cannot be cast to --dtype " << opt.dtype);
  n_ = static_cast<Eigen::Index>(I.total());

  // Data: shapes, dtypes, finiteness, label range.
  auto& x = data.x;
  auto& y = data.y;
  FLATMIN_CHECK(x.dim() >= 1 && x.size(0) >= 1, "data x must have a leading sample dimension (got " << shape_str(x) << ")");
  FLATMIN_CHECK(y.dim() >= 1 && y.size(0) == x.size(0),
                "data x has " << x.size(0) << " samples but y has shape " << shape_str(y));
  if (x.is_floating_point()) {
    x = x.to(I.dtype);
    FLATMIN_CHECK(torch::isfinite(x).all().item<bool>(), "data x contains NaN or Inf");
  }
  n_samples_ = x.size(0);
  double n_global = static_cast<double>(n_samples_);
  if (opt.allreduce_sum) opt.allreduce_sum(&n_global, 1);  // data-parallel: global sample count
  if (opt.loss == Loss::CrossEntropy) {
    FLATMIN_CHECK(!y.is_floating_point() && !y.is_complex() && y.scalar_type() != torch::kBool && y.dim() == 1,
                  "cross_entropy needs integer class labels y of shape [N] (got " << y.scalar_type() << " "
                                                                                   << shape_str(y) << ")");
    y = y.to(torch::kLong);
  } else {
    FLATMIN_CHECK(y.is_floating_point(), to_string(opt.loss) << " needs floating-point targets y (got "
                                                              << y.scalar_type() << ")");
    y = y.to(I.dtype);
    FLATMIN_CHECK(torch::isfinite(y).all().item<bool>(), "data y contains NaN or Inf");
    if (opt.loss == Loss::BCEWithLogits)
      FLATMIN_CHECK(((y >= 0) & (y <= 1)).all().item<bool>(), "bce_with_logits targets y must lie in [0, 1]");
  }
  x = x.to(I.device);
  y = y.to(I.device);
  const std::int64_t B = opt.batch_size > 0 ? opt.batch_size : n_samples_;
  for (std::int64_t s = 0; s < n_samples_; s += B) {
    const auto len = std::min(B, n_samples_ - s);
    I.batches.emplace_back(x.narrow(0, s, len), y.narrow(0, s, len));
    I.weights.push_back(opt.reduction == Reduction::Mean ? double(len) / n_global : 1.0);
  }
  // Output shape against the loss (first batch).
  {
    torch::NoGradGuard ng;
    torch::Tensor out;
    try {
      out = I.model.forward(I.batches[0].first);
    } catch (const common::InputError&) {
      throw;
    } catch (const std::exception& e) {
      FLATMIN_CHECK(false, "the model's forward failed on data x of shape " << shape_str(I.batches[0].first) << ": "
                                                                             << common::short_library_error(e.what()));
    }
    const auto& yb = I.batches[0].second;
    if (opt.loss == Loss::CrossEntropy) {
      FLATMIN_CHECK(out.dim() == 2 && out.size(0) == yb.size(0),
                    "cross_entropy needs model outputs [B, C]; got " << shape_str(out) << " for x " << shape_str(I.batches[0].first));
      const auto C = out.size(1);
      const auto mn = y.min().item<std::int64_t>(), mx = y.max().item<std::int64_t>();
      FLATMIN_CHECK(mn >= 0 && mx < C, "labels out of range: y in [" << mn << ", " << mx << "] but the model has "
                                                                    << C << " classes");
    } else {
      FLATMIN_CHECK(out.sizes() == yb.sizes(), to_string(opt.loss) << ": model output shape " << shape_str(out)
                                                                   << " differs from target shape " << shape_str(yb));
    }
  }
  cache_ = opt.graph_cache == "on" || (opt.graph_cache == "auto" && I.batches.size() == 1);
  n_samples_ = static_cast<std::int64_t>(n_global);

  if (opt.check_determinism) {  // curvlinops _check_deterministic (spec §8.1)
    std::vector<double> g1(static_cast<std::size_t>(n_)), g2(g1.size());
    const double l1 = I.loss_grad(g1.data());
    const double l2 = I.loss_grad(g2.data());
    FLATMIN_CHECK(std::isfinite(l1), "the loss is not finite (" << l1 << ") at these parameters");
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < g1.size(); ++i) {
      diff = std::max(diff, std::abs(g1[i] - g2[i]));
      scale = std::max(scale, std::abs(g1[i]));
    }
    FLATMIN_CHECK(std::abs(l1 - l2) <= 5e-5 * std::abs(l1) + 1e-6 && diff <= 5e-5 * scale + 1e-6,
                  "the model is not deterministic (loss " << l1 << " vs " << l2 << ", max gradient difference "
                                                          << diff << "): dropout, train-mode BatchNorm or random ops? "
                                                             "Hessians need a fixed function (use eval mode)");
  }
}

std::int64_t HessianOperator::n_batches() const { return static_cast<std::int64_t>(impl_->batches.size()); }

std::string HessianOperator::dtype_name() const { return impl_->dtype == torch::kFloat64 ? "float64" : "float32"; }

void HessianOperator::apply(const double* x, double* y) { apply_block(x, y, 1); }

void HessianOperator::apply_block(const double* x, double* y, int k) {
  impl_->products(x, y, k);
  products_ += k;
}

double HessianOperator::loss_and_gradient(double* g) { return impl_->loss_grad(g); }

Operator HessianOperator::as_operator() {
  Operator op;
  op.n = n_;
  op.apply = [this](const double* x, double* y) { apply(x, y); };
  op.apply_block = [this](const double* x, double* y, int k) { apply_block(x, y, k); };
  // PyHessian: [torch.randn(p.size()) for p in params] (CPU generator, default dtype float32).
  op.randn = [this](double* out) {
    std::int64_t off = 0;
    for (const auto& p : impl_->params) {
      auto r = torch::randn(p.sizes(), torch::kFloat32).to(torch::kFloat64).contiguous();
      std::memcpy(out + off, r.data_ptr<double>(), sizeof(double) * static_cast<std::size_t>(p.numel()));
      off += p.numel();
    }
  };
  // PyHessian: [torch.randint_like(p, high=2) for p in params]; v[v == 0] = -1.
  op.rademacher = [this](double* out) {
    std::int64_t off = 0;
    for (const auto& p : impl_->params) {
      auto r = torch::randint_like(p, 2).to(torch::kCPU, torch::kFloat64).contiguous();
      const double* d = r.data_ptr<double>();
      for (std::int64_t i = 0; i < p.numel(); ++i) out[off + i] = d[i] == 0.0 ? -1.0 : d[i];
      off += p.numel();
    }
  };
  return op;
}

nlohmann::json summary_json(const Summary& s, const AnalyzeOptions& aopt, const HessianOperator& h,
                            const OperatorOptions& oopt) {
  nlohmann::json j = s.to_json(aopt);
  j["n_params"] = h.n();
  j["n_samples"] = h.n_samples();
  j["model"] = {{"dtype", h.dtype_name()}, {"n_params", h.n()}, {"parameters", h.parameter_names()},
                {"param_filter", oopt.param_regex}};
  j["data"] = {{"n_samples", h.n_samples()}, {"n_batches", h.n_batches()}, {"batch_size", oopt.batch_size},
               {"mode", oopt.train_mode ? "train" : "eval"}, {"graph_cache", h.graph_cached()}};
  j["loss"] = {{"name", to_string(oopt.loss)}, {"reduction", to_string(oopt.reduction)}, {"weight_decay", oopt.weight_decay}};
  if (s.has_trace) j["trace"]["samples"] = s.trace.samples;
  return j;
}

Summary analyze(Model model, Dataset data, const OperatorOptions& oopt, const AnalyzeOptions& aopt) {
  HessianOperator h(std::move(model), std::move(data), oopt);
  torch::manual_seed(aopt.seed);
  return analyze(h.as_operator(), aopt);
}

}  // namespace flatmin::hessian
