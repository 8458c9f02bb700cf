// flatmin-bench-optim: wall time of ONE optimizer step on CIFAR-ResNet18-sized float32 parameters,
// reported against memory-bandwidth rooflines measured in the same run and against
// torch::optim::Adam. A benchmark, not a test: it asserts only that each variant runs in the phase
// it claims (MI / Adam / blend), never a speed. Method and anchors: docs/benchmarks.md.
#include <algorithm>
#include <array>
#include <atomic>
#include <bitset>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>  // at::internal::GRAIN_SIZE
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <torch/version.h>

#include "common/allocator.h"
#include "common/cli_parse.h"
#include "common/error.h"
#include "common/json_io.h"
#include "optim/detail/kernel_isa.h"
#include "optim/dualadam.h"
#include "optim/miadam.h"
#include "optim/optimizer_base.h"
#include "optim/registry.h"
#include "optim/swats.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Parameters: the CIFAR ResNet18 (kuangliu/pytorch-cifar layout; 3x3 stem, no max-pool) in
// named_parameters() order. BatchNorm running stats are buffers, not parameters.

struct Shapes {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  void add(const std::string& n, std::vector<int64_t> s) {
    names.push_back(n);
    shapes.push_back(std::move(s));
  }
};

Shapes resnet18_cifar_shapes() {
  Shapes s;
  auto bn = [&](const std::string& n, int64_t c) {
    s.add(n + ".weight", {c});
    s.add(n + ".bias", {c});
  };
  s.add("conv1.weight", {64, 3, 3, 3});
  bn("bn1", 64);
  int64_t in = 64;
  const std::array<int64_t, 4> planes = {64, 128, 256, 512};
  for (int layer = 0; layer < 4; ++layer) {
    const int64_t out = planes[static_cast<size_t>(layer)];
    for (int block = 0; block < 2; ++block) {
      const std::string p = "layer" + std::to_string(layer + 1) + "." + std::to_string(block);
      const int64_t block_in = block == 0 ? in : out;
      const bool stride2 = block == 0 && layer > 0;
      s.add(p + ".conv1.weight", {out, block_in, 3, 3});
      bn(p + ".bn1", out);
      s.add(p + ".conv2.weight", {out, out, 3, 3});
      bn(p + ".bn2", out);
      if (stride2 || block_in != out) {  // 1x1 projection shortcut + its BN
        s.add(p + ".shortcut.0.weight", {out, block_in, 1, 1});
        bn(p + ".shortcut.1", out);
      }
    }
    in = out;
  }
  s.add("linear.weight", {10, 512});
  s.add("linear.bias", {10});
  return s;
}

// ---------------------------------------------------------------------------------------------
// Roofline: one fused pass per tensor moving exactly the bytes an Adam-family step must move
// (read θ, g, m, v; write θ, m, v) plus K extra κ-accumulator-like buffers (read + write each),
// with the cheapest arithmetic of the same shape (one sqrt + one division per element, as Adam).
// Threading: at::parallel_for with GRAIN_SIZE, i.e. what flatmin's fused kernels call. This file
// is compiled with OpenMP (bench/CMakeLists.txt), so at::parallel_for really uses the intra-op
// threads here; without _OPENMP, ATen's header falls back to a serial loop.
//
// The element loop is a separate function with __restrict pointer parameters: written inline in
// the parallel_for lambda, GCC 12 does not vectorise it for K >= 2 (see docs/benchmarks.md), and a
// scalar anchor would flatter the kernels it judges.

#ifndef _OPENMP
#error "optim_step_bench.cpp must be compiled with OpenMP, or at::parallel_for runs the roofline serially"
#endif

template <int K>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void roofline_chunk(float* __restrict th, const float* __restrict g, float* __restrict m,
                                              float* __restrict v, float* __restrict b0, float* __restrict b1,
                                              float* __restrict b2, int64_t n) {
  constexpr float a = 0.9f, b = 0.1f, c = 0.999f, d = 0.001f, e = 1e-8f, f = 1e-8f, kappa = 0.98f;
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    const float mi = a * m[i] + b * gi;
    const float vi = c * v[i] + d * gi * gi;
    float prev = mi;
    if constexpr (K >= 1) {
      prev = kappa * b0[i] + prev;
      b0[i] = prev;
    }
    if constexpr (K >= 2) {
      prev = kappa * b1[i] + prev;
      b1[i] = prev;
    }
    if constexpr (K >= 3) {
      prev = kappa * b2[i] + prev;
      b2[i] = prev;
    }
    m[i] = mi;
    v[i] = vi;
    th[i] -= e * prev / (std::sqrt(vi) + f);
  }
}

/// Bit mask of the intra-op thread ids that ran roofline chunks (evidence that it is parallel).
std::atomic<uint64_t> g_roofline_threads{0};

template <int K>
void roofline_pass(float* theta, const float* grad, float* m, float* v, const std::array<float*, 3>& bufs, int64_t n) {
  at::parallel_for(0, n, at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    g_roofline_threads.fetch_or(uint64_t{1} << (at::get_thread_num() & 63), std::memory_order_relaxed);
    auto at_begin = [&](float* p) { return p == nullptr ? nullptr : p + begin; };
    roofline_chunk<K>(theta + begin, grad + begin, m + begin, v + begin, at_begin(bufs[0]), at_begin(bufs[1]),
                      at_begin(bufs[2]), end - begin);
  });
}

/// The roofline as an "optimizer": own m, v and K buffers per parameter, θ and g shared.
class Roofline {
 public:
  Roofline(std::vector<torch::Tensor> params, int k) : params_(std::move(params)), k_(k) {
    for (const auto& p : params_) {
      std::vector<torch::Tensor> s;
      for (int j = 0; j < 2 + k_; ++j) s.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
      state_.push_back(std::move(s));
    }
  }
  void step() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i];
      const auto& g = p.grad();
      auto& s = state_[i];
      std::array<float*, 3> b{};
      for (int j = 0; j < k_; ++j) b[static_cast<size_t>(j)] = s[static_cast<size_t>(2 + j)].data_ptr<float>();
      float* th = p.data_ptr<float>();
      const float* gp = g.data_ptr<float>();
      float* m = s[0].data_ptr<float>();
      float* v = s[1].data_ptr<float>();
      switch (k_) {
        case 0: roofline_pass<0>(th, gp, m, v, b, p.numel()); break;
        case 1: roofline_pass<1>(th, gp, m, v, b, p.numel()); break;
        case 2: roofline_pass<2>(th, gp, m, v, b, p.numel()); break;
        default: roofline_pass<3>(th, gp, m, v, b, p.numel()); break;
      }
    }
  }

 private:
  std::vector<torch::Tensor> params_;
  int k_;
  std::vector<std::vector<torch::Tensor>> state_;
};

// ---------------------------------------------------------------------------------------------
// Variants

struct Variant {
  std::string name;
  std::string anchor;     ///< the roofline it is judged against (moves the same bytes)
  int arrays_moved = 7;   ///< minimal float arrays moved per element: reads + writes
  std::string phase;      ///< what the step computes, for the table
  std::function<void()> step;
  std::function<void()> check;  ///< throws if the variant is not in the phase it claims
  std::vector<double> ms;
  int64_t minor_faults = 0;  ///< page faults during the timed steps (fresh allocations touched)
};

/// The issues' speed goal for a variant, as a ratio to its anchor (0: none). MIAdam/DualAdam/InvAdam:
/// 1.3x (foundation issue); the other elementwise optimizers 1.5x; Adai (two passes) and Adam+CM/CG
/// (buffer of topC copies) 2.5x. A goal is reported, never asserted.
double goal_for(const std::string& name) {
  if (name.rfind("roofline", 0) == 0 || name.rfind("torch_", 0) == 0) return 0.0;
  if (name.rfind("miadam", 0) == 0 || name.rfind("dualadam", 0) == 0 || name == "invadam") return 1.3;
  if (name.rfind("adai", 0) == 0 || name == "adam_cm" || name == "adam_cg") return 2.5;
  return 1.5;
}

int64_t process_minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_minflt);
}

/// Runs an empty parallel region so the intra-op workers are awake (spinning) when a timed step
/// starts, as they are in training, where the step follows the parallel backward pass. Without it
/// a parallel variant that follows a serial one pays the workers' wake-up, an ordering artefact.
void wake_intra_op_pool() {
  at::parallel_for(0, at::get_num_threads(), 1, [](int64_t, int64_t) {});
}

/// 1-minute load average (other processes compete for the cores and the memory bus).
double load_average_1min() {
  double l[1] = {-1.0};
  return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

/// Internal invariant (not user input): std::logic_error, exit code 1.
#define BENCH_REQUIRE(cond, msg)                         \
  do {                                                   \
    if (!(cond)) {                                       \
      std::ostringstream bench_require_stream_;          \
      bench_require_stream_ << msg;                      \
      throw std::logic_error(bench_require_stream_.str()); \
    }                                                    \
  } while (false)

/// Largest median/min of a roofline's samples for a run to count as undisturbed.
constexpr double kMaxAnchorSpread = 1.25;

std::string roofline_name(int k) { return k == 0 ? "roofline" : "roofline_miadam" + std::to_string(k); }

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 == 1 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  return flatmin::common::run_main("flatmin-bench-optim", [&]() -> int {
    namespace fo = flatmin::optim;
    CLI::App app{"flatmin-bench-optim: time one optimizer step on CIFAR-ResNet18-sized float32 parameters "
                 "against a memory-bandwidth roofline and torch::optim::Adam"};
    int reps = 20, warmup = 3;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    uint64_t seed = 0;
    std::string out;
    std::vector<std::string> only;
    bool tune_malloc = false;
    app.add_option("--reps", reps, "timed steps per variant (interleaved round-robin)")->capture_default_str();
    app.add_option("--threads", threads, "intra-op threads (at::set_num_threads)")->capture_default_str();
    app.add_option("--warmup", warmup, "untimed steps per variant before timing (>= 3)")->capture_default_str();
    app.add_option("--seed", seed, "seed of the random parameters and gradients")->capture_default_str();
    app.add_option("--out", out, "write results JSON to this file");
    app.add_option("--variants", only,
                   "run only these variants (comma-separated; roofline, torch_adam and each one's anchor are always run)")
        ->delimiter(',');
    app.add_flag("--tune-malloc", tune_malloc,
                 "apply common::tune_allocator() first, as flatmin's executables do (default: glibc defaults)");
    if (auto code = flatmin::common::parse_cli(app, argc, argv)) return *code;
    FLATMIN_CHECK(reps >= 1, "--reps = " << reps << " must be >= 1");
    FLATMIN_CHECK(threads >= 1, "--threads = " << threads << " must be >= 1");
    FLATMIN_CHECK(warmup >= 3, "--warmup = " << warmup << " must be >= 3 (state allocation + steady state)");

    at::set_num_threads(threads);
    const std::string malloc_setting = tune_malloc ? flatmin::common::tune_allocator() : "glibc defaults";
    torch::manual_seed(seed);
    fo::set_kernel_path(fo::KernelPath::kAuto);

    // θ and g are shared by all variants (each keeps its own state), so every variant reads the
    // same gradient; θ drifts by small (lr-scaled) steps, which does not change the cost of a step.
    const Shapes shapes = resnet18_cifar_shapes();
    std::vector<torch::Tensor> params;
    int64_t numel = 0;
    for (const auto& s : shapes.shapes) {
      auto p = (torch::randn(s) * 0.05).set_requires_grad(true);
      p.mutable_grad() = torch::randn(s);
      numel += p.numel();
      params.push_back(p);
    }
    std::cerr << "flatmin-bench-optim: " << params.size() << " tensors, " << numel << " float32 values, "
              << threads << " thread(s), " << reps << " reps, warmup " << warmup << "\n";

    const int64_t total_steps = warmup + reps;  // per-variant step counter t at the last timed step
    std::vector<Variant> variants;
    std::vector<std::unique_ptr<Roofline>> rooflines;
    std::vector<std::unique_ptr<torch::optim::Optimizer>> optimizers;

    for (int k = 0; k <= 3; ++k) {
      rooflines.push_back(std::make_unique<Roofline>(params, k));
      Roofline* r = rooflines.back().get();
      variants.push_back({roofline_name(k), roofline_name(k), 7 + 2 * k,
                          k == 0 ? "fused pass, Adam's bytes" : "fused pass, Adam's bytes + " + std::to_string(k) + " buffer(s)",
                          [r] { r->step(); }, [] {}, {}});
    }
    auto add_opt = [&](const std::string& name, const std::string& reg, const json& opts, const std::string& anchor,
                       int arrays, const std::string& phase) -> torch::optim::Optimizer* {
      optimizers.push_back(fo::make_optimizer(reg, opts, params));
      torch::optim::Optimizer* o = optimizers.back().get();
      variants.push_back({name, anchor, arrays, phase, [o] { o->step(); }, [] {}, {}});
      return o;
    };
    add_opt("torch_adam", "adam", json::object(), "roofline", 7, "torch::optim::Adam");
    add_opt("torch_adamw", "adamw", json::object(), "roofline", 7, "torch::optim::AdamW (wd 1e-2)");

    // MIAdam K: MI phase (epoch 1 < switch_epoch) and Adam phase (epoch > switch_epoch; buffers
    // created by one MI warm-up step first, then frozen, as in a real run past the switch).
    constexpr int64_t kNeverSwitch = int64_t{1} << 40;
    constexpr int64_t kSwitchEpoch = 20;
    for (int k = 1; k <= 3; ++k) {
      const std::string name = "miadam" + std::to_string(k);
      auto* mi = add_opt(name, name, json{{"switch_epoch", kNeverSwitch}}, roofline_name(k), 7 + 2 * k,
                         "MI phase, " + std::to_string(k) + " buffer(s)");
      fo::set_epoch(*mi, 1);
      auto* ad = add_opt(name + "_adam_phase", name, json{{"switch_epoch", kSwitchEpoch}}, "roofline", 7,
                         "after the switch (buffers frozen)");
      fo::set_epoch(*ad, 1);
      variants.back().step = [ad, first = true]() mutable {
        ad->step();
        if (first) {  // the first warm-up step runs in the MI phase and allocates the buffers
          fo::set_epoch(*ad, kSwitchEpoch + 1);
          first = false;
        }
      };
      auto phase_check = [k](torch::optim::Optimizer* o, bool want_mi, const std::string& n) {
        auto* m = dynamic_cast<fo::MIAdam*>(o);
        BENCH_REQUIRE(m != nullptr, n << ": registry did not return an MIAdam");
        for (auto& group : m->param_groups()) {
          const auto& opt = static_cast<const fo::MIAdamOptions&>(group.options());
          for (const auto& p : group.params()) {
            auto it = m->state().find(fo::detail::state_key(p));
            BENCH_REQUIRE(it != m->state().end(), n << ": no state after the run");
            const auto& st = static_cast<const fo::MIAdamParamState&>(*it->second);
            BENCH_REQUIRE(m->in_mi_phase(opt, st.step()) == want_mi,
                          n << ": not in the " << (want_mi ? "MI" : "Adam") << " phase at t = " << st.step());
            BENCH_REQUIRE(static_cast<int>(st.bufs().size()) == k, n << ": has " << st.bufs().size() << " buffers");
            bool fused = fo::fused_eligible(p, p.grad(), {st.exp_avg(), st.exp_avg_sq()});
            for (const auto& b : st.bufs()) fused = fused && fo::fused_eligible(p, p.grad(), {b});
            BENCH_REQUIRE(fused, n << ": a tensor is not eligible for the fused kernel");
          }
        }
      };
      variants[variants.size() - 2].check = [phase_check, mi, name] { phase_check(mi, true, name); };
      variants.back().check = [phase_check, ad, name] { phase_check(ad, false, name + "_adam_phase"); };
    }

    // DualAdam: blend while r_t = 1 − t·s ≥ s. s = 1e-6 keeps it blending for 10^6 steps;
    // s = 1 gives r_1 = 0 < s, i.e. Adam from the first step.
    const double s_blend = 1e-6;
    FLATMIN_CHECK(fo::dualadam_r(total_steps, s_blend) >= s_blend,
                  "--warmup + --reps = " << total_steps << " steps would take dualadam past its blend phase");
    auto dual_check = [](torch::optim::Optimizer* o, bool want_blend, const std::string& n) {
      auto* d = dynamic_cast<fo::DualAdam*>(o);
      BENCH_REQUIRE(d != nullptr, n << ": registry did not return a DualAdam");
      const auto& opt = static_cast<const fo::DualAdamOptions&>(d->param_groups()[0].options());
      const bool blend = opt.fixed_r().has_value() || fo::dualadam_r(d->global_step(), opt.switch_rate()) >= opt.switch_rate();
      const bool blend_first = opt.fixed_r().has_value() || fo::dualadam_r(1, opt.switch_rate()) >= opt.switch_rate();
      BENCH_REQUIRE(blend == want_blend && blend_first == want_blend,
                    n << ": not in the " << (want_blend ? "blend" : "Adam") << " phase throughout");
    };
    auto* dual = add_opt("dualadam", "dualadam", json{{"switch_rate", s_blend}}, "roofline", 7, "blend phase (r_t >= s)");
    variants.back().check = [dual, dual_check] { dual_check(dual, true, "dualadam"); };
    auto* dual_ad = add_opt("dualadam_adam_phase", "dualadam", json{{"switch_rate", 1.0}}, "roofline", 7,
                            "past the cut-off (r_t < s)");
    variants.back().check = [dual_ad, dual_check] { dual_check(dual_ad, false, "dualadam_adam_phase"); };
    auto* inv = add_opt("invadam", "invadam", json::object(), "roofline", 7, "r = 1");
    variants.back().check = [inv, dual_check] { dual_check(inv, true, "invadam"); };

    // The rest of the family (issue 4), each in its default (official) configuration at the
    // MIAdam paper's settings. Minimal traffic per element beyond Adam's 7 arrays: AMSBound's
    // max-v (+2), Adai's first pass over v for the global mean v̄ (read g, read+write v: +3),
    // Adam+CM/CG's buffer of topC copies (read each once: +topC). SWATS stays in its Adam phase
    // (the switch needs the projected-lr estimate to settle, which random gradients never do).
    const int64_t top_c = 5;
    add_opt("adam_cm", "adam_cm", json{{"topC", top_c}}, "roofline", 7 + static_cast<int>(top_c),
            "critical momenta, buffer of topC=5");
    add_opt("adam_cg", "adam_cg", json{{"topC", top_c}}, "roofline", 7 + static_cast<int>(top_c),
            "critical gradients, buffer of topC=5");
    add_opt("adai", "adai", json{{"lr", 0.1}}, "roofline", 10, "two passes (global mean of v)");
    add_opt("adaiw", "adaiw", json{{"lr", 0.1}, {"weight_decay", 5e-4}}, "roofline", 10, "Adai, decoupled wd");
    add_opt("adaiv2", "adaiv2", json{{"lr", 0.1}}, "roofline", 10, "AdaiV2 (dampening)");
    add_opt("nadam", "nadam", json::object(), "roofline", 7, "torch >= 2.0 NAdam");
    add_opt("nadam_keras", "nadam_keras", json::object(), "roofline", 7, "Keras-style NAdam (MIAdam repo)");
    add_opt("adamax", "adamax", json::object(), "roofline", 7, "infinity-norm v");
    add_opt("adabound", "adabound", json::object(), "roofline", 7, "clipped lr bounds");
    add_opt("amsbound", "amsbound", json::object(), "roofline", 9, "AdaBound + max v");
    add_opt("adaboundw", "adaboundw", json{{"weight_decay", 5e-4}}, "roofline", 7, "AdaBound, decoupled wd");
    add_opt("adabelief", "adabelief", json{{"weight_decay", 5e-4}}, "roofline", 7,
            "AdaBelief (official 0.2.0 defaults: rectified, decoupled wd)");
    // SWATS switches to SGD as soon as its projected lr settles, which a fixed gradient makes
    // immediate. lr = 0 keeps the Adam phase (γ = pᵀp/(−pᵀg) = 0/0 is NaN, so the switch test
    // fails) with the same loads, arithmetic and stores; the SGD phase is timed separately.
    auto* swats = add_opt("swats", "swats", json{{"lr", 0.0}}, "roofline", 7, "Adam phase + projection dot products");
    variants.back().check = [swats] {
      for (const auto& group : swats->param_groups()) {
        BENCH_REQUIRE(static_cast<const fo::SwatsOptions&>(group.options()).phase() == fo::SwatsPhase::kAdam,
                      "swats: switched to its SGD phase during the run (it claims the Adam phase)");
      }
    };
    auto* swats_sgd = add_opt("swats_sgd_phase", "swats", json::object(), "roofline", 5,
                              "after the switch: SGD with momentum");
    auto swats_sgd_first = std::make_shared<int64_t>(-1);  // steps taken when it was first seen in SGD
    variants.back().step = [swats_sgd, swats_sgd_first, n = int64_t{0}]() mutable {
      swats_sgd->step();
      ++n;
      const auto& o = static_cast<const fo::SwatsOptions&>(swats_sgd->param_groups()[0].options());
      if (*swats_sgd_first < 0 && o.phase() == fo::SwatsPhase::kSgd) *swats_sgd_first = n;
    };
    variants.back().check = [swats_sgd, swats_sgd_first, warmup] {
      BENCH_REQUIRE(*swats_sgd_first >= 1 && *swats_sgd_first <= warmup,
                    "swats_sgd_phase: not in the SGD phase throughout the timed steps (switched after step "
                        << *swats_sgd_first << ", warm-up " << warmup << ")");
      for (const auto& group : swats_sgd->param_groups()) {
        BENCH_REQUIRE(static_cast<const fo::SwatsOptions&>(group.options()).phase() == fo::SwatsPhase::kSgd,
                      "swats_sgd_phase: a group is still in the Adam phase");
      }
    };
    add_opt("ndadam", "ndadam", json::object(), "roofline", 7, "no vec_axes (as the MIAdam repo ran it)");

    if (!only.empty()) {
      std::vector<std::string> keep = {"roofline", "torch_adam"};
      for (const auto& n : only) {
        auto it = std::find_if(variants.begin(), variants.end(), [&](const Variant& v) { return v.name == n; });
        FLATMIN_CHECK(it != variants.end(), "--variants: unknown variant '" << n << "'");
        keep.push_back(n);
        keep.push_back(it->anchor);
      }
      variants.erase(std::remove_if(variants.begin(), variants.end(),
                                    [&](const Variant& v) { return std::find(keep.begin(), keep.end(), v.name) == keep.end(); }),
                     variants.end());
    }

    const double load_before = load_average_1min();
    if (load_before > 0.5) {
      std::cerr << "warning: 1-min load average is " << load_before
                << " before the run; other processes share the cores and the memory bus\n";
    }

    // Warm-up: allocates state, faults pages in, reaches the steady state of every variant.
    for (int w = 0; w < warmup; ++w) {
      for (auto& v : variants) v.step();
    }
    std::cerr << "warm-up done (" << variants.size() << " variants)\n";

    // Timed rounds: every round runs each variant once, in an order shuffled per round (seeded), so
    // slow drift (other load, frequency, memory placement) is spread over all variants and no
    // variant always follows the same one.
    const size_t nv = variants.size();
    std::vector<size_t> order(nv);
    for (size_t j = 0; j < nv; ++j) order[j] = j;
    std::mt19937_64 order_rng(seed);
    for (int r = 0; r < reps; ++r) {
      std::shuffle(order.begin(), order.end(), order_rng);
      for (size_t j = 0; j < nv; ++j) {
        auto& v = variants[order[j]];
        wake_intra_op_pool();
        const int64_t f0 = process_minor_faults();
        const auto t0 = Clock::now();
        v.step();
        const auto t1 = Clock::now();
        v.minor_faults += process_minor_faults() - f0;
        v.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
      std::cerr << "\rround " << (r + 1) << "/" << reps << std::flush;
    }
    std::cerr << "\n";
    for (auto& v : variants) v.check();
    const double load_after = load_average_1min();
    const auto roofline_threads = static_cast<int>(std::bitset<64>(g_roofline_threads.load()).count());
    std::cerr << "roofline ran on " << roofline_threads << " intra-op thread(s); load average " << load_before
              << " before, " << load_after << " after\n";

    // Results.
    auto find_median = [&](const std::string& n) {
      for (const auto& v : variants)
        if (v.name == n) return median(v.ms);
      throw std::logic_error("no variant " + n);
    };
    auto find_min = [&](const std::string& n) {
      for (const auto& v : variants)
        if (v.name == n) return *std::min_element(v.ms.begin(), v.ms.end());
      throw std::logic_error("no variant " + n);
    };
    const double roof_med = find_median("roofline"), roof_min = find_min("roofline");
    const double adam_med = find_median("torch_adam"), adam_min = find_min("torch_adam");

    json jv = json::array();
    std::printf("%-22s %-38s %9s %9s %8s %10s %-18s %8s %6s %11s %11s\n", "variant", "what", "median_ms", "min_ms", "GB/s",
                "x roofline", "anchor", "x anchor", "goal", "x torchAdam", "faults/step");
    int goals = 0, goals_met = 0;
    for (const auto& v : variants) {
      const double med = median(v.ms), mn = *std::min_element(v.ms.begin(), v.ms.end());
      const double bytes = static_cast<double>(v.arrays_moved) * static_cast<double>(numel) * sizeof(float);
      const double anchor_med = find_median(v.anchor), anchor_min = find_min(v.anchor);
      const double gbs = bytes / (med * 1e-3) / 1e9;
      const double faults = static_cast<double>(v.minor_faults) / static_cast<double>(v.ms.size());
      const double goal = goal_for(v.name);
      const bool met = goal > 0 && med / anchor_med <= goal;
      goals += goal > 0;
      goals_met += met;
      const std::string goal_s = goal > 0 ? (met ? "<=" : ">") + std::to_string(goal).substr(0, 3) : "-";
      std::printf("%-22s %-38s %9.3f %9.3f %8.2f %10.3f %-18s %8.3f %6s %11.3f %11.0f\n", v.name.c_str(), v.phase.c_str(), med,
                  mn, gbs, med / roof_med, v.anchor.c_str(), med / anchor_med, goal_s.c_str(), med / adam_med, faults);
      jv.push_back({{"name", v.name},
                    {"what", v.phase},
                    {"median_ms", med},
                    {"min_ms", mn},
                    {"samples_ms", v.ms},
                    {"ratio_to_roofline", med / roof_med},
                    {"ratio_to_roofline_min", mn / roof_min},
                    {"anchor", v.anchor},
                    {"ratio_to_anchor", med / anchor_med},
                    {"ratio_to_anchor_min", mn / anchor_min},
                    {"goal_ratio_to_anchor", goal > 0 ? json(goal) : json(nullptr)},
                    {"meets_goal", goal > 0 ? json(met) : json(nullptr)},
                    {"ratio_to_torch_adam", med / adam_med},
                    {"ratio_to_torch_adam_min", mn / adam_min},
                    {"bytes_moved", bytes},
                    {"effective_gb_per_s", gbs},
                    {"minor_page_faults_per_step", faults}});
    }
    std::printf("ratios are median/median; bytes_moved = minimal float32 traffic of one step "
                "(reads + writes of each array once), GB/s = bytes_moved / median\n");
    // A disturbed run (another process on a core during the parallel anchors) shows as a wide
    // spread of the anchors' samples; the ratios of such a run are not trustworthy.
    std::vector<std::string> disturbed;
    for (const auto& v : variants) {
      if (v.anchor != v.name) continue;  // the rooflines
      const double spread = median(v.ms) / *std::min_element(v.ms.begin(), v.ms.end());
      if (spread > kMaxAnchorSpread) disturbed.push_back(v.name);
    }
    if (!disturbed.empty()) {
      std::printf("WARNING: disturbed run: median/min > %.2f for", kMaxAnchorSpread);
      for (const auto& n : disturbed) std::printf(" %s", n.c_str());
      std::printf(" (load average %.2f before, %.2f after); rerun on an idle machine or with --threads 1\n",
                  load_before, load_after);
    }

    std::printf("goals met (x anchor, median): %d of %d%s\n", goals_met, goals,
                disturbed.empty() ? "" : " -- NOT MEANINGFUL: disturbed run");

    if (!out.empty()) {
      json j;
      j["benchmark"] = "flatmin-bench-optim";
      j["machine"] = {{"threads", at::get_num_threads()},
                      {"hardware_concurrency", std::thread::hardware_concurrency()},
                      {"libtorch_version", TORCH_VERSION},
                      {"cpu_model", cpu_model()},
                      {"roofline_threads_used", roofline_threads},
                      {"load_average_1min_before", load_before},
                      {"load_average_1min_after", load_after},
                      {"parallel_info", at::get_parallel_info()},
                      {"malloc", malloc_setting}};
      j["params"] = {{"model", "resnet18-cifar"}, {"param_count", numel}, {"tensor_count", params.size()},
                     {"dtype", "float32"}};
      j["method"] = {{"reps", reps}, {"warmup", warmup}, {"seed", seed}, {"interleaved", "every round runs each variant once, order shuffled per round (seeded)"},
                     {"clock", "std::chrono::steady_clock"}, {"grain_size", at::internal::GRAIN_SIZE}};
      j["disturbed_anchors"] = disturbed;
      j["max_anchor_spread"] = kMaxAnchorSpread;
      j["variants"] = jv;
      j["goals"] = {{"count", goals}, {"met", goals_met}};
      flatmin::common::write_json_atomic(out, j);
      std::cerr << "wrote " << out << "\n";
    }
    return 0;
  });
}
