#include "optim/swats.h"

#include <cmath>
#include <type_traits>
#include <utility>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/registry_entry.h"
#include "rules/swats_rule.h"
#include "optim/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options




// ---------------------------------------------------------------------------------------------
// State

void SwatsParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined(), "optimizer checkpoint: swats state lacks moments");
  adopt_fields(p, "swats");
}

bool swats_switch_test(int64_t step, double corrected, double scaling) {
  // optim.py: state['step'] > 1 and corrected_exp_avg.allclose(scaling, rtol=1e-6) and corrected_exp_avg > 0
  // allclose(a, b) ⇔ |a − b| ≤ atol + rtol·|b| with atol = 1e-8 (torch default), b = scaling.
  constexpr double kRtol = 1e-6, kAtol = 1e-8;
  return step > 1 && std::abs(corrected - scaling) <= kAtol + kRtol * std::abs(scaling) && corrected > 0.0;
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

/// The Adam-phase reductions pᵀp and pᵀg are formed per fixed block of kBlock elements and the
/// block sums are added in block order, so the result does not depend on how at::parallel_for
/// splits the blocks over threads. Inside a block: kLanes interleaved lanes; each lane sums
/// kRun/kLanes products in the parameter's dtype, then the lane sums are accumulated in double.
/// (float32: 8-term float partial sums — the official code does the whole dot in float32 — so the
/// loop stays vectorised; float64: all in double.)
constexpr int64_t kBlock = 2048;
constexpr int kLanes = 8;
constexpr int64_t kRun = 64;

struct Dots {
  double pp = 0.0, pg = 0.0;
};

template <class S>
rules::SwatsCoeffs<S> make_coeffs(const SwatsOptions& o, int64_t t, bool first_sgd) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = rules::bias_correction(beta1, t);
  const double bc2 = rules::bias_correction(beta2, t);
  rules::SwatsCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.neg_step_size = static_cast<S>(-(o.lr() * std::sqrt(bc2) / bc1));  // step_size = lr * bc2 ** 0.5 / bc1
  c.neg_lr = static_cast<S>(-o.lr());
  c.neg_scaled_lr = static_cast<S>(-((1.0 - beta1) * o.lr()));
  c.has_wd = o.weight_decay() != 0.0;
  c.amsgrad = o.amsgrad();
  c.nesterov = o.nesterov();
  c.fix_momentum = o.fix_sgd_momentum();
  c.first_sgd = first_sgd;
  return c;
}

/// Adam phase over one block (n ≤ kBlock): the elementwise update fused with the two dot products.
template <class T, bool kAms, bool kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA Dots adam_block(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                          T* __restrict v, T* __restrict vmax, int64_t n,
                                          const rules::SwatsCoeffs<T>& c) {
  rules::SwatsCoeffs<T> cc = c;
  cc.amsgrad = kAms;
  cc.has_wd = kWd;
  double app[kLanes] = {}, apg[kLanes] = {};
  auto element = [&](int64_t i, T& p, T& g) {
    T th = theta[i], mi = m[i], vi = v[i], vm = T(0);
    g = grad[i];
    if constexpr (kAms) vm = vmax[i];
    rules::swats_adam_update(th, g, mi, vi, &vm, p, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
    if constexpr (kAms) vmax[i] = vm;
  };
  int64_t i0 = 0;
  for (; i0 + kRun <= n; i0 += kRun) {
    T fpp[kLanes] = {}, fpg[kLanes] = {};
    for (int64_t i = i0; i < i0 + kRun; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) {
        T p, g;
        element(i + j, p, g);
        fpp[j] += p * p;
        fpg[j] += p * g;
      }
    }
    for (int j = 0; j < kLanes; ++j) {
      app[j] += static_cast<double>(fpp[j]);
      apg[j] += static_cast<double>(fpg[j]);
    }
  }
  for (int64_t i = i0; i < n; ++i) {  // tail (the last block of a tensor)
    T p, g;
    element(i, p, g);
    app[0] += static_cast<double>(p) * static_cast<double>(p);
    apg[0] += static_cast<double>(p) * static_cast<double>(g);
  }
  Dots d;
  for (int j = 0; j < kLanes; ++j) {
    d.pp += app[j];
    d.pg += apg[j];
  }
  return d;
}

template <class T, bool kAms, bool kWd>
Dots adam_pass(const torch::Tensor& p, const torch::Tensor& g, SwatsParamState& st, const rules::SwatsCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  T* vmax = kAms ? st.max_exp_avg_sq().data_ptr<T>() : nullptr;
  const int64_t n = p.numel();
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<Dots> partial(static_cast<size_t>(blocks));
  at::parallel_for(0, blocks, std::max<int64_t>(1, at::internal::GRAIN_SIZE / kBlock), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t off = b * kBlock, len = std::min(kBlock, n - off);
      partial[static_cast<size_t>(b)] = adam_block<T, kAms, kWd>(theta + off, grad + off, m + off, v + off,
                                                                 kAms ? vmax + off : nullptr, len, c);
    }
  });
  Dots d;
  for (const auto& x : partial) {
    d.pp += x.pp;
    d.pg += x.pg;
  }
  return d;
}

template <class T>
Dots adam_dispatch(const torch::Tensor& p, const torch::Tensor& g, SwatsParamState& st, const rules::SwatsCoeffs<T>& c) {
  if (c.amsgrad) return c.has_wd ? adam_pass<T, true, true>(p, g, st, c) : adam_pass<T, true, false>(p, g, st, c);
  return c.has_wd ? adam_pass<T, false, true>(p, g, st, c) : adam_pass<T, false, false>(p, g, st, c);
}

template <class T, bool kWd, bool kNesterov, bool kFix, bool kFirst>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void sgd_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict buf, int64_t n,
                                         const rules::SwatsCoeffs<T>& c) {
  rules::SwatsCoeffs<T> cc = c;
  cc.has_wd = kWd;
  cc.nesterov = kNesterov;
  cc.fix_momentum = kFix;
  cc.first_sgd = kFirst;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], b = kFirst ? T(0) : buf[i];
    rules::swats_sgd_update(th, grad[i], b, cc);
    theta[i] = th;
    buf[i] = b;
  }
}

template <class T>
void sgd_dispatch(const torch::Tensor& p, const torch::Tensor& g, SwatsParamState& st, const rules::SwatsCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* buf = st.momentum_buffer().data_ptr<T>();
  auto go = [&](auto wd, auto nesterov, auto fix, auto first) {
    constexpr bool kWd = decltype(wd)::value, kNes = decltype(nesterov)::value, kFix = decltype(fix)::value,
                   kFirst = decltype(first)::value;
    at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
      sgd_chunk<T, kWd, kNes, kFix, kFirst>(theta + begin, grad + begin, buf + begin, end - begin, c);
    });
  };
  using F = std::false_type;
  using Tr = std::true_type;
  auto with_first = [&](auto wd, auto nesterov, auto fix) {
    if constexpr (decltype(fix)::value) {
      go(wd, nesterov, fix, F{});  // paper rule: the buffer starts at 0, no first-step special case
    } else {
      c.first_sgd ? go(wd, nesterov, fix, Tr{}) : go(wd, nesterov, fix, F{});
    }
  };
  auto with_fix = [&](auto wd, auto nesterov) {
    c.fix_momentum ? with_first(wd, nesterov, Tr{}) : with_first(wd, nesterov, F{});
  };
  auto with_nesterov = [&](auto wd) { c.nesterov ? with_fix(wd, Tr{}) : with_fix(wd, F{}); };
  c.has_wd ? with_nesterov(Tr{}) : with_nesterov(F{});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

torch::Tensor Swats::step(LossClosure closure) {
  return step_each<SwatsOptions>(closure, [&](size_t, SwatsOptions& o, size_t, const torch::Tensor& p) {
    const auto& g = p.grad();
    auto& st = adam_state_for<SwatsParamState>(p, o.amsgrad());
    st.step(st.step() + 1);  // official: state['step'] += 1 before the phase test (counts SGD steps too)
    const int64_t t = st.step();

    if (o.phase() == SwatsPhase::kSgd) {
      // Re-read per tensor: a tensor earlier in this step() may just have flipped the group.
      const bool first = !st.momentum_buffer().defined();
      if (first) {
        // official: buf = clone(grad) (written by the rule); paper: v = 0 at the switch.
        st.momentum_buffer(o.fix_sgd_momentum() ? zeros_state(p)
                                                : torch::empty_like(p, torch::MemoryFormat::Contiguous));
      }
      run_path(
          p, g, {st.momentum_buffer()},
          [&](auto type_tag) {
            using T = decltype(type_tag);
            sgd_dispatch<T>(p, g, st, make_coeffs<T>(o, t, first));
          },
          [&] {
            const auto c = make_coeffs<double>(o, t, first);
            torch::Tensor theta = p.detach(), buf = st.momentum_buffer();
            rules::swats_sgd_update(theta, g, buf, c);
            p.detach().copy_(theta);
            st.momentum_buffer().copy_(buf);
          });
      return;
    }

    const Dots d = run_path(
        p, g, {st.exp_avg(), st.exp_avg_sq(), o.amsgrad() ? st.max_exp_avg_sq() : torch::Tensor()},
        [&](auto type_tag) {
          using T = decltype(type_tag);
          return adam_dispatch<T>(p, g, st, make_coeffs<T>(o, t, false));
        },
        [&] {
          const auto c = make_coeffs<double>(o, t, false);
          torch::Tensor theta = p.detach(), gw = g, m = st.exp_avg(), v = st.exp_avg_sq(), vmax = st.max_exp_avg_sq(), upd;
          rules::swats_adam_update(theta, gw, m, v, &vmax, upd, c);
          p.detach().copy_(theta);
          st.exp_avg().copy_(m);
          st.exp_avg_sq().copy_(v);
          if (o.amsgrad()) st.max_exp_avg_sq().copy_(vmax);
          // Reductions in double (the fused path sums per block; the two differ by double rounding only).
          const auto pd = upd.to(torch::kDouble).reshape(-1), gd = gw.to(torch::kDouble).reshape(-1);
          return Dots{pd.dot(pd).item<double>(), pd.dot(gd).item<double>()};
        });

    // The projection step (optim.py, after w.data.add_(p)); per tensor (spec §9).
    if (d.pg != 0.0) {
      const double beta2 = std::get<1>(o.betas());
      const double bc2 = rules::bias_correction(beta2, t);
      const double scaling = d.pp / -d.pg;                               // Alg. 1: γ_k = pᵀp / (−pᵀg)
      st.exp_avg2(st.exp_avg2() * beta2 + (1.0 - beta2) * scaling);     // λ_k = β2 λ_{k−1} + (1−β2) γ_k
      const double corrected = st.exp_avg2() / bc2;                      // Λ = λ_k/(1−β2^k)
      if (swats_switch_test(t, corrected, scaling)) {
        o.phase(SwatsPhase::kSgd);                                       // group['phase'] = 'SGD'
        o.lr(corrected);                                                 // group['lr'] = corrected_exp_avg.item()
      }
    }
  });
}

void register_swats(detail::RegistryTable& table) { table["swats"] = detail::entry<Swats>(); }

}  // namespace flatmin::optim
