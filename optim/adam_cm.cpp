#include "optim/adam_cm.h"

#include <cmath>
#include <sstream>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/registry_entry.h"
#include "rules/adam_cm_rule.h"
#include "optim/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

using rules::CriticalCoeffs;
using rules::CriticalMode;

// ---------------------------------------------------------------------------------------------
// Options




template struct AdamCriticalOptions<CriticalKind::kMomenta>;
template struct AdamCriticalOptions<CriticalKind::kGradients>;

// ---------------------------------------------------------------------------------------------
// State

void AdamCriticalParamState::serialize(torch::serialize::OutputArchive& archive) const {
  write_fields(archive);
  buffer.save(archive);
}

void AdamCriticalParamState::serialize(torch::serialize::InputArchive& archive) {
  read_fields(archive);
  buffer.load(archive);
}

void AdamCriticalParamState::adopt(const torch::Tensor& p) {
  const std::string who = "adam_cm/adam_cg";
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined() && step() >= 1,
                "optimizer checkpoint: " << who << " state lacks moments or its step count");
  adopt_fields(p, who);
  buffer.adopt(p, who);
}

// ---------------------------------------------------------------------------------------------
// Randomness and the gradient norm

double critical_uniform(std::mt19937_64& gen) {
  return static_cast<double>(gen() >> 11) * 0x1.0p-53;  // 53 random bits → [0, 1), exactly representable
}

namespace {

constexpr int64_t kNormChunk = 1 << 14;  // fixed reduction chunk: the result does not depend on threads

/// Σ x² of one chunk in double, with 8 fixed interleaved accumulators (vectorisable, deterministic).
template <class T>
__attribute__((noinline)) FLATMIN_KERNEL_ISA double sumsq_chunk(const T* __restrict x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const double y = static_cast<double>(x[i + j]);
      acc[j] += y * y;
    }
  }
  for (; i < n; ++i) {
    const double y = static_cast<double>(x[i]);
    acc[0] += y * y;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <class T>
double sumsq_fused(const torch::Tensor& g) {
  const T* x = g.data_ptr<T>();
  const int64_t n = g.numel();
  const int64_t chunks = (n + kNormChunk - 1) / kNormChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  at::parallel_for(0, chunks, std::max<int64_t>(1, at::internal::GRAIN_SIZE / kNormChunk),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t k = begin; k < end; ++k) {
                       const int64_t lo = k * kNormChunk;
                       partial[static_cast<size_t>(k)] = sumsq_chunk(x + lo, std::min(kNormChunk, n - lo));
                     }
                   });
  double s = 0.0;
  for (double v : partial) s += v;
  return s;
}

}  // namespace

double critical_grad_norm(const torch::Tensor& g) {
  const bool fast = g.device().is_cpu() && g.is_contiguous() && !g.is_sparse() &&
                    (g.scalar_type() == torch::kFloat || g.scalar_type() == torch::kDouble);
  if (fast) return std::sqrt(g.scalar_type() == torch::kFloat ? sumsq_fused<float>(g) : sumsq_fused<double>(g));
  return g.to(torch::kFloat64).square().sum().sqrt().item<double>();
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

/// Element loop over [0, n) of one chunk: __restrict pointers and every option a compile-time
/// constant, so the loop has no control flow. Only the buffer slot being written is touched.
template <class T, CriticalKind K, CriticalMode M, bool kAms, bool kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, T* __restrict vmax, T* __restrict sum,
                                           T* __restrict item, int64_t n, const CriticalCoeffs<T>& c) {
  CriticalCoeffs<T> cc = c;
  cc.mode = M;
  cc.amsgrad = kAms;
  cc.has_weight_decay = kWd;
  constexpr bool kWritesM = K == CriticalKind::kGradients || M != CriticalMode::kFirst;  // CM init: m stays 0
  constexpr bool kWritesBuffer = M != CriticalMode::kKeep;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i], vm = T(0), s = sum[i], it = T(0);
    if constexpr (kAms) vm = vmax[i];
    if constexpr (M == CriticalMode::kReplace) it = item[i];
    if constexpr (K == CriticalKind::kMomenta) {
      rules::adam_cm_update(th, grad[i], mi, vi, &vm, s, &it, cc);
    } else {
      rules::adam_cg_update(th, grad[i], mi, vi, &vm, s, &it, cc);
    }
    theta[i] = th;
    if constexpr (kWritesM) m[i] = mi;
    v[i] = vi;
    if constexpr (kAms) vmax[i] = vm;
    if constexpr (kWritesBuffer) {
      sum[i] = s;
      item[i] = it;
    }
  }
}

/// Fused single pass over one contiguous CPU tensor, parallel over the intra-op pool. Element
/// results do not depend on the split, so the output is bit-identical for any thread count.
template <class T, CriticalKind K, CriticalMode M, bool kAms, bool kWd>
void fused_pass(const torch::Tensor& p, const torch::Tensor& g, AdamCriticalParamState& st, const torch::Tensor& item,
                const CriticalCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  T* vmax = kAms ? st.max_exp_avg_sq().data_ptr<T>() : nullptr;
  T* sum = st.buffer.aggr_sum().data_ptr<T>();
  T* it = M == CriticalMode::kKeep ? nullptr : item.data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    auto off = [&](T* q) { return q == nullptr ? nullptr : q + begin; };
    fused_chunk<T, K, M, kAms, kWd>(theta + begin, grad + begin, m + begin, v + begin, off(vmax), sum + begin,
                                    off(it), end - begin, c);
  });
}

template <class T, CriticalKind K>
void fused_dispatch(const torch::Tensor& p, const torch::Tensor& g, AdamCriticalParamState& st,
                    const torch::Tensor& item, const CriticalCoeffs<T>& c) {
  using F = std::false_type;
  using Tr = std::true_type;
  auto go = [&](auto mode_tag, auto ams_tag, auto wd_tag) {
    fused_pass<T, K, decltype(mode_tag)::value, decltype(ams_tag)::value, decltype(wd_tag)::value>(p, g, st, item, c);
  };
  auto with_mode = [&](auto ams_tag, auto wd_tag) {
    switch (c.mode) {
      case CriticalMode::kFirst: go(std::integral_constant<CriticalMode, CriticalMode::kFirst>{}, ams_tag, wd_tag); break;
      case CriticalMode::kKeep: go(std::integral_constant<CriticalMode, CriticalMode::kKeep>{}, ams_tag, wd_tag); break;
      case CriticalMode::kAppend: go(std::integral_constant<CriticalMode, CriticalMode::kAppend>{}, ams_tag, wd_tag); break;
      case CriticalMode::kReplace: go(std::integral_constant<CriticalMode, CriticalMode::kReplace>{}, ams_tag, wd_tag); break;
    }
  };
  auto with_wd = [&](auto ams_tag) { c.has_weight_decay ? with_mode(ams_tag, Tr{}) : with_mode(ams_tag, F{}); };
  c.amsgrad ? with_wd(Tr{}) : with_wd(F{});
}

template <class S, CriticalKind K>
CriticalCoeffs<S> make_coeffs(const AdamCriticalOptions<K>& o, int64_t t, int64_t count, CriticalMode mode) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = rules::bias_correction(beta1, t);  // bias_correction1 = 1 − β1**step
  const double bc2 = rules::bias_correction(beta2, t);  // bias_correction2 = 1 − β2**step
  CriticalCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.step_size = static_cast<S>(o.lr() / bc1);
  c.sqrt_bc2 = static_cast<S>(std::sqrt(bc2));
  c.count = static_cast<S>(count);
  c.one_minus_lr_wd = static_cast<S>(1.0 - o.lr() * o.weight_decay());
  c.has_weight_decay = o.weight_decay() != 0.0;
  c.amsgrad = o.amsgrad();
  c.mode = mode;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

template <CriticalKind K>
std::mt19937_64& AdamCritical<K>::generator(size_t group) {
  if (generators_.size() < param_groups_.size()) generators_.resize(param_groups_.size());
  auto& gen = generators_[group];
  if (!gen) {
    const auto& o = static_cast<const Options&>(param_groups_[group].options());
    gen.emplace(static_cast<std::mt19937_64::result_type>(o.seed()));
  }
  return *gen;
}

template <CriticalKind K>
const AdamCriticalParamState* AdamCritical<K>::param_state(const torch::Tensor& p) const {
  auto it = state_.find(detail::state_key(p));
  return it == state_.end() ? nullptr : static_cast<const AdamCriticalParamState*>(it->second.get());
}

template <CriticalKind K>
torch::Tensor AdamCritical<K>::step(LossClosure closure) {
  double group_norm = 0.0;
  auto on_group = [&](size_t gi, const Options& o) {
    // Pass 1 (synced): priority = Σ_tensors ‖g‖₂ of the raw gradients, before any update.
    group_norm = 0.0;
    if (!o.synced()) return;
    for (const auto& p : param_groups_[gi].params()) {
      if (p.grad().defined()) group_norm += critical_grad_norm(p.grad());
    }
  };
  return this->template step_each<Options>(closure, on_group, [&](size_t gi, const Options& o, size_t, const torch::Tensor& p) {
    const auto& g = p.grad();
    const double gnorm = o.synced() ? group_norm : critical_grad_norm(g);  // unsynced: grad.norm()
    // "State initialization": step 0, m = v = 0, TensorList(decay, K = topC)
    auto& st = this->template adam_state_for<AdamCriticalParamState>(
        p, o.amsgrad(), [&](AdamCriticalParamState& s) { s.buffer = CriticalBuffer(p, o.topC(), o.decay()); });
    // np.random.uniform() is drawn only when the buffer is full and critical_test > 0.
    const auto plan = st.buffer.plan(gnorm, [&] {
      return o.critical_test() > 0.0 && critical_uniform(generator(gi)) < o.critical_test();
    });
    st.step(st.step() + 1);
    const int64_t t = st.step();
    const torch::Tensor& sum = st.buffer.aggr_sum();
    run_path(
        p, g, {st.exp_avg(), st.exp_avg_sq(), st.max_exp_avg_sq(), sum, plan.item},
        [&](auto type_tag) {
          using T = decltype(type_tag);
          fused_dispatch<T, K>(p, g, st, plan.item, make_coeffs<T>(o, t, plan.count, plan.mode));
        },
        [&] {  // device-generic path: the same rule on whole tensors, then written back in place
          const auto c = make_coeffs<double>(o, t, plan.count, plan.mode);
          torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq(), vmax = st.max_exp_avg_sq();
          torch::Tensor s = sum, it = plan.item;
          if constexpr (K == CriticalKind::kMomenta) {
            rules::adam_cm_update(theta, g, m, v, &vmax, s, &it, c);
          } else {
            rules::adam_cg_update(theta, g, m, v, &vmax, s, &it, c);
          }
          p.detach().copy_(theta);
          st.exp_avg().copy_(m);
          st.exp_avg_sq().copy_(v);
          if (o.amsgrad()) st.max_exp_avg_sq().copy_(vmax);
          if (plan.mode != CriticalMode::kKeep) {
            sum.copy_(s);
            plan.item.copy_(it);
          }
        });
    st.buffer.age();  // TensorList.decay(): _heap_key *= decay_rate
  });
}

template <CriticalKind K>
void AdamCritical<K>::save_extra(torch::serialize::OutputArchive& archive) const {
  OptimizerBase::save_extra(archive);
  const auto n = static_cast<int64_t>(param_groups_.size());
  archive.write("flatmin/critical_rng/groups", c10::IValue(n));
  for (int64_t i = 0; i < n; ++i) {
    std::string text;
    if (static_cast<size_t>(i) < generators_.size() && generators_[static_cast<size_t>(i)]) {
      std::ostringstream os;
      os << *generators_[static_cast<size_t>(i)];  // the standard's portable text form of the engine state
      text = os.str();
    }
    archive.write("flatmin/critical_rng/" + std::to_string(i), c10::IValue(text));
  }
}

template <CriticalKind K>
void AdamCritical<K>::load_extra(torch::serialize::InputArchive& archive) {
  OptimizerBase::load_extra(archive);
  c10::IValue v;
  archive.read("flatmin/critical_rng/groups", v);
  const auto n = v.toInt();
  FLATMIN_CHECK(n == static_cast<int64_t>(param_groups_.size()),
                "optimizer checkpoint has generators for " << n << " groups, the optimizer has " << param_groups_.size());
  generators_.assign(static_cast<size_t>(n), std::nullopt);
  for (int64_t i = 0; i < n; ++i) {
    archive.read("flatmin/critical_rng/" + std::to_string(i), v);
    const auto& text = v.toStringRef();
    if (text.empty()) continue;
    std::mt19937_64 gen;
    std::istringstream is(text);
    is >> gen;
    FLATMIN_CHECK(!is.fail(), "optimizer checkpoint: unreadable generator state of group " << i);
    generators_[static_cast<size_t>(i)] = gen;
  }
}

template class AdamCritical<CriticalKind::kMomenta>;
template class AdamCritical<CriticalKind::kGradients>;

void register_adam_cm(detail::RegistryTable& table) {
  table["adam_cm"] = detail::entry<AdamCM>();
  table["adam_cg"] = detail::entry<AdamCG>();
}

}  // namespace flatmin::optim
