#include "optim/miadam.h"

#include <array>
#include <cmath>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/registry_entry.h"
#include "rules/miadam_rule.h"
#include "optim/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options




// ---------------------------------------------------------------------------------------------
// State

void MIAdamParamState::serialize(torch::serialize::OutputArchive& archive) const {
  write_fields(archive);
  archive.write("bufs/size", c10::IValue(static_cast<int64_t>(bufs().size())));
  for (size_t j = 0; j < bufs().size(); ++j) archive.write("bufs/" + std::to_string(j), bufs()[j]);
}

void MIAdamParamState::serialize(torch::serialize::InputArchive& archive) {
  read_fields(archive);
  c10::IValue n;
  archive.read("bufs/size", n);
  std::vector<torch::Tensor> b(static_cast<size_t>(n.toInt()));
  for (size_t j = 0; j < b.size(); ++j) archive.read("bufs/" + std::to_string(j), b[j]);
  bufs(std::move(b));
}

void MIAdamParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined(), "optimizer checkpoint: miadam state lacks moments");
  adopt_fields(p, "miadam");
  auto b = bufs();
  for (size_t j = 0; j < b.size(); ++j) b[j] = adopt_state_tensor(b[j], p, "miadam buf " + std::to_string(j));
  bufs(std::move(b));
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

constexpr int kMaxStaticOrder = 3;
constexpr int kMaxFusedOrder = 16;  // higher orders take the tensor path

/// Element loop over [0, n) of one chunk. Separate function with __restrict pointers and every
/// option a compile-time constant, so GCC vectorises it (no alias versioning, no control flow)
/// whether or not the caller's lambda is outlined by OpenMP.
template <class T, int K, bool kAms, bool kMi, bool kWd, bool kEpsIn>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void fused_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, T* __restrict vmax, T* __restrict b0,
                                           T* __restrict b1, T* __restrict b2, int64_t n,
                                           const rules::MIAdamCoeffs<T>& c) {
  static_assert(K >= 0 && K <= kMaxStaticOrder, "static orders only");
  rules::MIAdamCoeffs<T> cc = c;
  cc.amsgrad = kAms;
  cc.mi_phase = kMi;
  cc.has_weight_decay = kWd;
  cc.eps_inside_sqrt = kEpsIn;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i], vm = kAms ? vmax[i] : T(0);
    T b[K > 0 ? K : 1];
    if constexpr (kMi && K >= 1) b[0] = b0[i];
    if constexpr (kMi && K >= 2) b[1] = b1[i];
    if constexpr (kMi && K >= 3) b[2] = b2[i];
    rules::miadam_update<K>(th, grad[i], mi, vi, &vm, b, K, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAms) vmax[i] = vm;
    if constexpr (kMi && K >= 1) b0[i] = b[0];
    if constexpr (kMi && K >= 2) b1[i] = b[1];
    if constexpr (kMi && K >= 3) b2[i] = b[2];
  }
}

/// Fused single pass over one contiguous CPU tensor (orders 0..3 here; see fused_pass_dynamic).
template <class T, int K, bool kAms, bool kMi, bool kWd, bool kEpsIn>
void fused_pass_static(const torch::Tensor& p, const torch::Tensor& g, MIAdamParamState& st,
                       const rules::MIAdamCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  T* vmax = kAms ? st.max_exp_avg_sq().data_ptr<T>() : nullptr;
  std::array<T*, 3> buf{};
  if (kMi) {
    for (int j = 0; j < K; ++j) buf[static_cast<size_t>(j)] = st.bufs()[static_cast<size_t>(j)].data_ptr<T>();
  }
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    auto off = [&](T* q) { return q == nullptr ? nullptr : q + begin; };
    fused_chunk<T, K, kAms, kMi, kWd, kEpsIn>(theta + begin, grad + begin, m + begin, v + begin, off(vmax),
                                              off(buf[0]), off(buf[1]), off(buf[2]), end - begin, c);
  });
}

/// Orders > 3 (unchanged generic loop).
template <class T, bool kAms>
void fused_pass_dynamic(const torch::Tensor& p, const torch::Tensor& g, MIAdamParamState& st, int order,
                        rules::MIAdamCoeffs<T> c) {
  c.amsgrad = kAms;
  c.mi_phase = true;
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  T* vmax = kAms ? st.max_exp_avg_sq().data_ptr<T>() : nullptr;
  std::array<T*, kMaxFusedOrder> buf{};
  for (int j = 0; j < order; ++j) buf[j] = st.bufs()[j].data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    const rules::MIAdamCoeffs<T> cc = c;
    for (int64_t i = begin; i < end; ++i) {
      T th = theta[i], mi = m[i], vi = v[i], vm = kAms ? vmax[i] : T(0);
      std::array<T, kMaxFusedOrder> b{};
      for (int j = 0; j < order; ++j) b[j] = buf[j][i];
      rules::miadam_update<-1>(th, grad[i], mi, vi, &vm, b.data(), order, cc);
      theta[i] = th;
      m[i] = mi;
      v[i] = vi;
      if (kAms) vmax[i] = vm;
      for (int j = 0; j < order; ++j) buf[j][i] = b[j];
    }
  });
}

template <class T>
void fused_dispatch(const torch::Tensor& p, const torch::Tensor& g, MIAdamParamState& st, int order,
                    const rules::MIAdamCoeffs<T>& c) {
  const int k = c.mi_phase ? order : 0;
  if (k > kMaxStaticOrder) {
    c.amsgrad ? fused_pass_dynamic<T, true>(p, g, st, order, c) : fused_pass_dynamic<T, false>(p, g, st, order, c);
    return;
  }
  // k × amsgrad × weight decay × eps placement, all compile-time in the loop.
  auto go = [&](auto k_tag, auto ams_tag, auto wd_tag, auto eps_tag) {
    constexpr int K = decltype(k_tag)::value;
    fused_pass_static<T, K, decltype(ams_tag)::value, (K > 0), decltype(wd_tag)::value, decltype(eps_tag)::value>(
        p, g, st, c);
  };
  using F = std::false_type;
  using Tr = std::true_type;
  auto with_k = [&](auto ams_tag, auto wd_tag, auto eps_tag) {
    switch (k) {
      case 0: go(std::integral_constant<int, 0>{}, ams_tag, wd_tag, eps_tag); break;
      case 1: go(std::integral_constant<int, 1>{}, ams_tag, wd_tag, eps_tag); break;
      case 2: go(std::integral_constant<int, 2>{}, ams_tag, wd_tag, eps_tag); break;
      default: go(std::integral_constant<int, 3>{}, ams_tag, wd_tag, eps_tag); break;
    }
  };
  auto with_eps = [&](auto ams_tag, auto wd_tag) {
    c.eps_inside_sqrt ? with_k(ams_tag, wd_tag, Tr{}) : with_k(ams_tag, wd_tag, F{});
  };
  auto with_wd = [&](auto ams_tag) { c.has_weight_decay ? with_eps(ams_tag, Tr{}) : with_eps(ams_tag, F{}); };
  c.amsgrad ? with_wd(Tr{}) : with_wd(F{});
}

template <class S>
rules::MIAdamCoeffs<S> make_coeffs(const MIAdamOptions& o, int64_t t, bool mi) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = rules::bias_correction(beta1, t);
  const double bc2 = rules::bias_correction(beta2, t);
  const double n = static_cast<double>(o.order());
  // Alg. 1 l.11 (α_t ← α^n) vs official code lr^(K+1); after the switch α_t = α (l.14).
  const double power = !mi ? 1.0 : (o.alpha_power() == AlphaPower::kOfficial ? n + 1.0 : n);
  const double step_size = std::pow(o.lr(), power) / bc1;
  rules::MIAdamCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.kappa = static_cast<S>(o.kappa());
  c.step_size = static_cast<S>(step_size);
  c.sqrt_bc2 = static_cast<S>(std::sqrt(bc2));
  c.bc2 = static_cast<S>(bc2);
  c.has_weight_decay = o.weight_decay() != 0.0;
  c.amsgrad = o.amsgrad();
  c.eps_inside_sqrt = o.eps_inside_sqrt();
  c.mi_phase = mi;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

bool MIAdam::in_mi_phase(const MIAdamOptions& o, int64_t t) const {
  if (o.switch_step() >= 0) return t < o.switch_step();  // Alg. 1 l.6: t < ζ (steps)
  return epoch_ < o.switch_epoch();                      // official: epoch < sub_epoch (1-based epochs)
}

torch::Tensor MIAdam::step(LossClosure closure) {
  return step_each<MIAdamOptions>(closure, [&](size_t, const MIAdamOptions& o, size_t, const torch::Tensor& p) {
    const auto& g = p.grad();
    auto& st = adam_state_for<MIAdamParamState>(p, o.amsgrad());
    st.step(st.step() + 1);
    const int64_t t = st.step();
    const bool mi = in_mi_phase(o, t);
    const int order = static_cast<int>(o.order());
    if (mi && static_cast<int>(st.bufs().size()) != order) {
      // Alg. 1 init: m̄_0 ← m_0 = 0. Created at the first MI step (a tensor whose order changed
      // mid-run keeps the accumulators it has and gets zero ones for the new orders).
      auto b = st.bufs();
      b.resize(static_cast<size_t>(order));
      for (auto& x : b) {
        if (!x.defined()) x = zeros_state(p);
      }
      st.bufs(std::move(b));
    }
    std::vector<torch::Tensor> bufs_view = mi ? st.bufs() : std::vector<torch::Tensor>{};
    std::vector<torch::Tensor> state = {st.exp_avg(), st.exp_avg_sq(), st.max_exp_avg_sq()};
    state.insert(state.end(), bufs_view.begin(), bufs_view.end());
    auto tensor_path = [&] {  // device-generic: the same rule on whole tensors, then written back in place
      const auto c = make_coeffs<double>(o, t, mi);
      torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq(), vmax = st.max_exp_avg_sq();
      std::vector<torch::Tensor> b = bufs_view;
      rules::miadam_update<-1>(theta, g, m, v, &vmax, b.data(), order, c);
      p.detach().copy_(theta);
      st.exp_avg().copy_(m);
      st.exp_avg_sq().copy_(v);
      if (o.amsgrad()) st.max_exp_avg_sq().copy_(vmax);
      for (size_t j = 0; j < b.size(); ++j) st.bufs()[j].copy_(b[j]);
    };
    if (order > kMaxFusedOrder) return tensor_path();
    auto fused = [&](auto type_tag) {
      using T = decltype(type_tag);
      fused_dispatch<T>(p, g, st, order, make_coeffs<T>(o, t, mi));
    };
    run_path(p, g, state, fused, tensor_path);
  });
}

void register_miadam(detail::RegistryTable& table) {
  table["miadam"] = detail::entry<MIAdam>();
  for (int k = 1; k <= 3; ++k) {
    Preset fixed_order;
    fixed_order.fixed = {{"order", k}};
    fixed_order.fixed_hint = " (use 'miadam' with 'order')";
    table["miadam" + std::to_string(k)] = detail::entry<MIAdam>(fixed_order);
  }
}

}  // namespace flatmin::optim
