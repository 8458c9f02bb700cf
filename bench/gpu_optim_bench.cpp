// flatmin-bench-gpu (issue 13 item 4a): wall time of ONE optimizer step on the CIFAR ResNet18's
// 11.17 M float32 parameters (kuangliu layout) on a device, against anchors measured in the same run:
// a device-to-device copy moving the same bytes (the bandwidth roofline), torch's Adam as LibTorch's
// C++ optimizer, a replica of torch.optim.Adam(foreach=True) (the _foreach ops its _multi_tensor_adam
// calls), and torch.optim.Adam(fused=True)'s kernel aten::_fused_adam_ (called through the dispatcher,
// so it builds against LibTorch 1.13, which lacks it: then "unavailable"). A benchmark, not a test: the
// goals (MIAdam1 and DualAdam <= 1.5x the roofline and <= 1.0x fused Adam) are reported, never asserted.
// `--device cpu --tiny` is the smoke test here (ctest bench_gpu_smoke). docs/gpu-benchmarks.md.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/record_function.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "common/cli_parse.h"
#include "common/error.h"
#include "common/json_io.h"
#include "common/library_error.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

/// ATen operators one step issues (count_ops below).
struct OpCount {
  int64_t top = 0, all = 0;
};

/// The CIFAR ResNet18's parameter shapes (3x3 stem, no max-pool; BatchNorm weight and bias), widths
/// 64..512 — or /8 with `tiny` (the CPU smoke test).
std::vector<std::vector<int64_t>> resnet18_shapes(bool tiny) {
  const int64_t d = tiny ? 8 : 1;
  std::vector<std::vector<int64_t>> s;
  auto bn = [&](int64_t c) {
    s.push_back({c});
    s.push_back({c});
  };
  s.push_back({64 / d, 3, 3, 3});
  bn(64 / d);
  int64_t in = 64 / d;
  for (int64_t planes : {64, 128, 256, 512}) {
    const int64_t out = planes / d;
    for (int block = 0; block < 2; ++block) {
      const int64_t block_in = block == 0 ? in : out;
      s.push_back({out, block_in, 3, 3});
      bn(out);
      s.push_back({out, out, 3, 3});
      bn(out);
      if (block == 0 && block_in != out) {  // 1x1 projection shortcut + its BN
        s.push_back({out, block_in, 1, 1});
        bn(out);
      }
    }
    in = out;
  }
  s.push_back({10, 512 / d});
  s.push_back({10});
  return s;
}

struct Variant {
  std::string name;
  int words = 7;            ///< float32 arrays moved per parameter element (read + write counted apiece)
  std::string note;
  std::function<void()> step;
  std::vector<double> seconds;
  std::string unavailable;  ///< why it could not run ("" = it ran)
  OpCount ops;
};

/// torch.optim.Adam(foreach=True)'s _multi_tensor_adam (no weight decay, no amsgrad), in _foreach ops.
struct ForeachAdam {
  std::vector<at::Tensor> params, grads, m, v;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t t = 0;
  void step() {
    ++t;
    at::_foreach_mul_(m, beta1);
    at::_foreach_add_(m, grads, 1 - beta1);
    at::_foreach_mul_(v, beta2);
    at::_foreach_addcmul_(v, grads, grads, 1 - beta2);
    const double bc1 = 1 - std::pow(beta1, double(t)), bc2 = 1 - std::pow(beta2, double(t));
    auto denom = at::_foreach_sqrt(v);
    at::_foreach_div_(denom, std::sqrt(bc2));
    at::_foreach_add_(denom, eps);
    at::_foreach_addcdiv_(params, m, denom, -lr / bc1);
  }
};

/// torch.optim.Adam(fused=True)'s step: _foreach_add_(steps, 1) then aten::_fused_adam_, called boxed
/// with its arguments filled by name from the registered schema (so no LibTorch 2.x declaration is needed).
struct FusedAdam {
  std::vector<at::Tensor> params, grads, m, v, steps;
  c10::optional<c10::OperatorHandle> op;
  std::string why;
  explicit FusedAdam(const std::vector<at::Tensor>& ps) {
    op = c10::Dispatcher::singleton().findSchema({"aten::_fused_adam_", ""});
    if (!op) {
      why = "aten::_fused_adam_ is not in LibTorch " TORCH_VERSION;
      return;
    }
    for (const auto& p : ps) {
      params.push_back(p.detach());
      grads.push_back(p.grad());
      m.push_back(torch::zeros_like(p));
      v.push_back(torch::zeros_like(p));
      steps.push_back(torch::zeros({}, p.options()));
    }
  }
  void step() {
    at::_foreach_add_(steps, 1);
    torch::jit::Stack stack;
    for (const auto& a : op->schema().arguments()) {
      const std::string& n = a.name();
      if (n == "self") stack.emplace_back(params);
      else if (n == "grads") stack.emplace_back(grads);
      else if (n == "exp_avgs") stack.emplace_back(m);
      else if (n == "exp_avg_sqs") stack.emplace_back(v);
      else if (n == "max_exp_avg_sqs") stack.emplace_back(std::vector<at::Tensor>{});
      else if (n == "state_steps") stack.emplace_back(steps);
      else if (n == "lr") stack.emplace_back(1e-3);
      else if (n == "beta1") stack.emplace_back(0.9);
      else if (n == "beta2") stack.emplace_back(0.999);
      else if (n == "weight_decay") stack.emplace_back(0.0);
      else if (n == "eps") stack.emplace_back(1e-8);
      else if (n == "amsgrad" || n == "maximize") stack.emplace_back(false);
      else if (a.default_value()) stack.push_back(*a.default_value());
      else throw std::runtime_error("aten::_fused_adam_: unknown argument '" + n + "'");
    }
    op->callBoxed(&stack);
  }
};

// ATen operators one step issues, counted by a RecordFunction callback: `top` = those called from
// outside any other operator (what the optimizer code issues; on a GPU each is at least one kernel
// launch, so ops x launch latency bounds a launch-bound step), `all` = including nested ones.
std::atomic<int64_t> g_ops_top{0}, g_ops_all{0};
thread_local int g_op_depth = 0;

OpCount count_ops(const std::function<void()>& step, const std::function<void()>& sync) {
  g_ops_top = 0;
  g_ops_all = 0;
  auto handle = at::addGlobalCallback(at::RecordFunctionCallback(
      [](const at::RecordFunction&) -> std::unique_ptr<at::ObserverContext> {
        if (g_op_depth++ == 0) ++g_ops_top;
        ++g_ops_all;
        return nullptr;
      },
      [](const at::RecordFunction&, at::ObserverContext*) { --g_op_depth; }));
  step();
  sync();
  at::removeCallback(handle);
  return {g_ops_top.load(), g_ops_all.load()};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"flatmin-bench-gpu: one optimizer step on ResNet18-sized float32 parameters on a device, against a "
               "copy roofline and torch's Adam (C++, foreach, fused) measured in the same run"};
  std::string device_name = "cuda", out;
  int reps = 20, warmup = 3, threads = 0;
  bool tiny = false;
  app.add_option("--device", device_name, "cuda, cuda:N or cpu")->capture_default_str();
  app.add_option("--out", out, "write the results as JSON");
  app.add_option("--reps", reps, "timed steps per variant (interleaved rounds)")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed steps per variant first")->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_flag("--tiny", tiny, "channel widths / 8 (about 175 K parameters; the CPU smoke test)");
  app.add_option("--threads", threads, "intra-op threads (0 = all cores)")->check(CLI::Range(0, 4096));
  std::string path = "auto";
  app.add_option("--kernel-path", path, "flatmin's path: auto (fused CPU kernels where eligible; the tensor path on a "
                                        "GPU) or tensor (the GPU's path, also on the CPU: its op count predicts the GPU's)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "tensor"}));
  try {
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    torch::Device device(torch::kCPU);
    try {
      device = torch::Device(device_name);
    } catch (const std::exception&) {
      throw flatmin::common::InputError("--device '" + device_name + "' is not cpu, cuda or cuda:N");
    }
    FLATMIN_CHECK(!device.is_cuda() || torch::cuda::is_available(),
                  "--device " << device_name << " requested but CUDA is not available");
    if (threads > 0) torch::set_num_threads(threads);
    flatmin::optim::set_kernel_path(path == "tensor" ? flatmin::optim::KernelPath::kTensor : flatmin::optim::KernelPath::kAuto);
    const auto sync = [&] {
      if (device.is_cuda()) torch::cuda::synchronize();
    };

    // Parameters and fixed gradients (each variant owns a copy of θ; gradients are shared).
    torch::manual_seed(1);
    const auto shapes = resnet18_shapes(tiny);
    std::vector<at::Tensor> grads;
    int64_t n = 0;
    for (const auto& s : shapes) {
      grads.push_back(torch::randn(s, torch::TensorOptions().device(device)) * 1e-2);
      n += grads.back().numel();
    }
    auto fresh_params = [&] {
      std::vector<at::Tensor> ps;
      torch::manual_seed(2);
      for (size_t i = 0; i < shapes.size(); ++i) {
        auto p = torch::randn(shapes[i], torch::TensorOptions().device(device)).set_requires_grad(true);
        p.mutable_grad() = grads[i];
        ps.push_back(p);
      }
      return ps;
    };

    std::vector<Variant> variants;
    std::vector<std::vector<at::Tensor>> keep;  // parameters the variants step
    std::vector<std::shared_ptr<void>> owners;

    // Copy rooflines: dst.copy_(src) of words/2 floats per parameter element moves words·4·n bytes.
    for (int words : {7, 9, 10, 11, 12, 13}) {
      const int64_t count = words * n / 2;
      auto src = torch::randn({count}, torch::TensorOptions().device(device)), dst = torch::empty_like(src);
      variants.push_back({"copy_" + std::to_string(words) + "w", words, "device-to-device copy of the same bytes",
                          [src, dst]() mutable { dst.copy_(src); }, {}, "", {}});
    }
    auto add_registry = [&](const std::string& label, const std::string& name, const json& options, int words,
                            const std::string& note) {
      keep.push_back(fresh_params());
      std::shared_ptr<torch::optim::Optimizer> opt = flatmin::optim::make_optimizer(name, options, keep.back());
      flatmin::optim::set_epoch(*opt, 1);
      owners.push_back(opt);
      variants.push_back({label, words, note, [opt] { opt->step(); }, {}, "", {}});
    };
    add_registry("torch_adam_cpp", "adam", json::object(), 7, "torch::optim::Adam (LibTorch C++, per tensor)");
    {
      keep.push_back(fresh_params());
      auto fe = std::make_shared<ForeachAdam>();
      for (auto& p : keep.back()) {
        fe->params.push_back(p.detach());
        fe->m.push_back(torch::zeros_like(p));
        fe->v.push_back(torch::zeros_like(p));
      }
      fe->grads = grads;
      owners.push_back(fe);
      variants.push_back({"torch_adam_foreach", 7, "torch.optim.Adam(foreach=True)'s _foreach ops", [fe] { fe->step(); }, {}, "", {}});
    }
    {
      keep.push_back(fresh_params());
      auto fu = std::make_shared<FusedAdam>(keep.back());
      owners.push_back(fu);
      variants.push_back({"torch_adam_fused", 7, "aten::_fused_adam_ (torch.optim.Adam(fused=True))", [fu] { fu->step(); }, {}, fu->why, {}});
    }
    constexpr int64_t kNeverSwitch = int64_t{1} << 40;
    for (int k = 1; k <= 3; ++k) {
      add_registry("miadam" + std::to_string(k), "miadam" + std::to_string(k), json{{"switch_epoch", kNeverSwitch}},
                   7 + 2 * k, "MI phase, " + std::to_string(k) + " kappa buffer(s)");
    }
    add_registry("dualadam", "dualadam", json{{"switch_rate", 1e-6}}, 7, "blend phase (r_t >= s)");
    add_registry("adai", "adai", json{{"lr", 0.1}}, 10, "global mean of v: two passes");
    add_registry("adam_cm", "adam_cm", json{{"topC", 5}}, 12, "critical momenta, buffer of topC=5");

    // Warm-up, then interleaved rounds (one timed step of every variant per round).
    for (auto& v : variants) {
      if (!v.unavailable.empty()) continue;
      try {
        for (int i = 0; i < warmup; ++i) v.step();
        sync();
      } catch (const std::exception& e) {
        v.unavailable = flatmin::common::short_library_error(e.what());
      }
    }
    for (int r = 0; r < reps; ++r) {
      for (auto& v : variants) {
        if (!v.unavailable.empty()) continue;
        sync();
        const auto t0 = Clock::now();
        v.step();
        sync();
        v.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    }
    for (auto& v : variants) {  // after the timing: the callback would slow the timed steps
      if (v.unavailable.empty()) v.ops = count_ops(v.step, sync);
    }
    for (auto& ps : keep) {
      for (const auto& p : ps) FLATMIN_CHECK(torch::isfinite(p).all().item<bool>(), "a variant produced a non-finite parameter");
    }

    std::map<std::string, double> med;
    for (const auto& v : variants) {
      if (v.unavailable.empty()) med[v.name] = median(v.seconds);
    }
    auto ratio = [&](double t, const std::string& anchor) -> json {
      auto it = med.find(anchor);
      return it == med.end() || it->second <= 0 ? json() : json(t / it->second);
    };
    json rows = json::array();
    std::printf("%-20s %6s %12s %10s %10s %10s %10s %8s\n", "variant", "words", "median ms", "x roofline", "x fused",
                "x foreach", "x C++ Adam", "ops");
    for (const auto& v : variants) {
      json row = {{"name", v.name}, {"words_per_param", v.words}, {"bytes", double(v.words) * 4.0 * double(n)}, {"note", v.note}};
      if (!v.unavailable.empty()) {
        row["unavailable"] = v.unavailable;
        std::printf("%-20s unavailable: %s\n", v.name.c_str(), v.unavailable.c_str());
        rows.push_back(row);
        continue;
      }
      const double t = med[v.name];
      const std::string roof = "copy_" + std::to_string(v.words) + "w";
      row["median_s"] = t;
      row["min_s"] = *std::min_element(v.seconds.begin(), v.seconds.end());
      row["samples_s"] = v.seconds;
      row["gbytes_per_s"] = double(v.words) * 4.0 * double(n) / t / 1e9;
      row["aten_ops_per_step"] = v.ops.top;
      row["aten_ops_per_step_incl_nested"] = v.ops.all;
      row["roofline"] = roof;
      row["ratio_to_roofline"] = ratio(t, roof);
      row["ratio_to_torch_adam_fused"] = ratio(t, "torch_adam_fused");
      row["ratio_to_torch_adam_foreach"] = ratio(t, "torch_adam_foreach");
      row["ratio_to_torch_adam_cpp"] = ratio(t, "torch_adam_cpp");
      auto num = [](const json& j) { return j.is_number() ? j.get<double>() : NAN; };
      std::printf("%-20s %6d %12.4f %10.3f %10.3f %10.3f %10.3f %8lld\n", v.name.c_str(), v.words, t * 1e3,
                  num(row["ratio_to_roofline"]), num(row["ratio_to_torch_adam_fused"]),
                  num(row["ratio_to_torch_adam_foreach"]), num(row["ratio_to_torch_adam_cpp"]),
                  static_cast<long long>(v.ops.top));
      rows.push_back(row);
    }
    // The goals, reported (null where an anchor is unavailable).
    json goals = json::object();
    for (const std::string name : {"miadam1", "dualadam"}) {
      const json& row = *std::find_if(rows.begin(), rows.end(), [&](const json& r) { return r["name"] == name; });
      const json roof = row.value("ratio_to_roofline", json()), fused = row.value("ratio_to_torch_adam_fused", json());
      goals[name] = {{"ratio_to_roofline", roof},
                     {"goal_roofline", 1.5},
                     {"ratio_to_torch_adam_fused", fused},
                     {"goal_fused", 1.0},
                     {"met", roof.is_number() && fused.is_number() ? json(roof.get<double>() <= 1.5 && fused.get<double>() <= 1.0) : json()}};
    }
    json result = {{"benchmark", "flatmin-bench-gpu"},
                   {"device", device.str()},
                   {"cuda_available", torch::cuda::is_available()},
                   {"torch_version", TORCH_VERSION},
                   {"tiny", tiny},
                   {"n_params", n},
                   {"n_tensors", shapes.size()},
                   {"dtype", "float32"},
                   {"reps", reps},
                   {"warmup", warmup},
                   {"threads", torch::get_num_threads()},
                   {"kernel_path", path},
                   {"timing", device.is_cuda() ? "torch::cuda::synchronize() around each step, steady_clock; median of reps"
                                               : "steady_clock around each step; median of reps"},
                   {"variants", rows},
                   {"goals", goals}};
    if (!out.empty()) flatmin::common::write_json_atomic(out, result);
    return 0;
  } catch (const flatmin::common::InputError& e) {
    std::cerr << "flatmin-bench-gpu: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "flatmin-bench-gpu: failed: " << flatmin::common::short_library_error(e.what()) << "\n";
    return 1;
  }
}
