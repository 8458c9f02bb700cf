#include "optim/adai.h"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/registry_entry.h"
#include "rules/moments.h"
#include "rules/adai_rule.h"
#include "optim/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

// ---------------------------------------------------------------------------------------------
// Options




// ---------------------------------------------------------------------------------------------
// State

void AdaiParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined() && beta1_prod().defined(),
                "optimizer checkpoint: adai state lacks exp_avg, exp_avg_sq or beta1_prod");
  adopt_fields(p, "adai");
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

/// Fixed block of the deterministic reduction (elements). Partial sums are per block, whatever the
/// thread split, and are added in block order.
constexpr int64_t kBlock = 2048;
constexpr int kLanes = 8;

/// Double sum of one block with kLanes independent accumulators (vectorisable without
/// reassociation), combined in a fixed tree.
template <class T>
inline double block_sum(const T* __restrict x, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(x[i + j]);
  }
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/// Runs `block(begin, len) -> double` over the fixed blocks of [0, n) in parallel and adds the
/// block results in block order.
template <class Block>
double blocked_sum(int64_t n, Block&& block) {
  const int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(nb), 0.0);
  at::parallel_for(0, nb, std::max<int64_t>(1, at::internal::GRAIN_SIZE / kBlock), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t begin = b * kBlock;
      partial[static_cast<size_t>(b)] = block(begin, std::min(kBlock, n - begin));
    }
  });
  double s = 0.0;
  for (double x : partial) s += x;
  return s;
}

template <class T>
__attribute__((noinline)) FLATMIN_KERNEL_ISA double sum_chunk(const T* __restrict x, int64_t n) {
  return block_sum(x, n);
}

/// Pass 1 over one block: v update (element-wise), then the block's double sum of v.
template <class T, bool kCoupled>
__attribute__((noinline)) FLATMIN_KERNEL_ISA double pass1_chunk(const T* __restrict theta, const T* __restrict grad, T* __restrict v,
                                             int64_t n, const rules::AdaiCoeffs<T>& c) {
  rules::AdaiCoeffs<T> cc = c;
  cc.coupled_wd = kCoupled;
  for (int64_t i = 0; i < n; ++i) {
    T vi = v[i];
    rules::adai_pass1(kCoupled ? theta[i] : T(0), grad[i], vi, cc);
    v[i] = vi;
  }
  return block_sum(v, n);
}

template <class T, bool kCoupled>
double fused_pass1(const torch::Tensor& p, const torch::Tensor& g, AdaiParamState& st, const rules::AdaiCoeffs<T>& c) {
  const T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  return blocked_sum(p.numel(), [&](int64_t begin, int64_t len) {
    return pass1_chunk<T, kCoupled>(kCoupled ? theta + begin : nullptr, grad + begin, v + begin, len, c);
  });
}

enum WdMode : int { kNoWd = 0, kCoupledWd = 1, kDecoupledWd = 2 };

/// Pass 2 over one chunk: β1, Π, m, θ (element-wise; every option a compile-time flag).
template <class T, int kWd, bool kDampened>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void pass2_chunk(T* __restrict theta, const T* __restrict grad, const T* __restrict v,
                                           T* __restrict m, T* __restrict bp, int64_t n,
                                           const rules::AdaiCoeffs<T>& c) {
  rules::AdaiCoeffs<T> cc = c;
  cc.coupled_wd = kWd == kCoupledWd;
  cc.decoupled_wd = kWd == kDecoupledWd;
  cc.dampened = kDampened;
  cc.vbar_zero = false;  // the guard and the unfolded form take the tensor path
  cc.fold = true;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], bi = bp[i];
    rules::adai_pass2(th, grad[i], v[i], mi, bi, cc);
    theta[i] = th;
    m[i] = mi;
    bp[i] = bi;
  }
}

template <class T, int kWd, bool kDampened>
void fused_pass2(const torch::Tensor& p, const torch::Tensor& g, AdaiParamState& st, const rules::AdaiCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  const T* v = st.exp_avg_sq().data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* bp = st.beta1_prod().data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    pass2_chunk<T, kWd, kDampened>(theta + begin, grad + begin, v + begin, m + begin, bp + begin, end - begin, c);
  });
}

template <class T>
double fused_pass1_dispatch(const torch::Tensor& p, const torch::Tensor& g, AdaiParamState& st,
                            const rules::AdaiCoeffs<T>& c) {
  return c.coupled_wd ? fused_pass1<T, true>(p, g, st, c) : fused_pass1<T, false>(p, g, st, c);
}

template <class T>
void fused_pass2_dispatch(const torch::Tensor& p, const torch::Tensor& g, AdaiParamState& st,
                          const rules::AdaiCoeffs<T>& c) {
  auto with_wd = [&](auto damp_tag) {
    constexpr bool kD = decltype(damp_tag)::value;
    if (c.coupled_wd) {
      fused_pass2<T, kCoupledWd, kD>(p, g, st, c);
    } else if (c.decoupled_wd) {
      fused_pass2<T, kDecoupledWd, kD>(p, g, st, c);
    } else {
      fused_pass2<T, kNoWd, kD>(p, g, st, c);
    }
  };
  c.dampened ? with_wd(std::true_type{}) : with_wd(std::false_type{});
}

template <class S>
rules::AdaiCoeffs<S> make_coeffs(const AdaiOptions& o, int64_t t, double vbar) {
  const double beta0 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double d = o.dampening();
  rules::AdaiCoeffs<S> c{};
  c.beta0 = static_cast<S>(beta0);
  c.beta2 = static_cast<S>(beta2);
  c.one_minus_beta2 = static_cast<S>(1.0 - beta2);
  const double bc2 = rules::bias_correction(beta2, t);  // bias_correction2 = 1 − β2^t
  c.inv_bc2_vbar = static_cast<S>(1.0 / (bc2 * vbar));
  c.bc2 = static_cast<S>(bc2);
  c.vbar = static_cast<S>(vbar);
  // The folded reciprocal must be a normal number of the element type (v̄ of tiny or huge gradients
  // in float32 can make it overflow or lose precision); otherwise divide twice, as the official code.
  c.fold = std::isnormal(c.inv_bc2_vbar);
  c.one_minus_eps = static_cast<S>(1.0 - o.eps());
  c.weight_decay = static_cast<S>(o.weight_decay());
  c.decay = static_cast<S>(1.0 - o.lr() * o.weight_decay());
  c.neg_lr = static_cast<S>(-o.lr());
  c.inv_exponent = static_cast<S>(1.0 / (3.0 - 2.0 * d));  // adaiv2.py: 1. / (3 − 2·dampening)
  c.dampening = static_cast<S>(d);
  c.beta0_pow = static_cast<S>(std::pow(beta0, 1.0 - d));  // adaiv2.py: math.pow(β0, 1 − dampening)
  c.coupled_wd = o.weight_decay() != 0.0 && !o.decoupled();
  c.decoupled_wd = o.weight_decay() != 0.0 && o.decoupled();
  c.dampened = d != 1.0;
  c.vbar_zero = vbar == 0.0;
  return c;
}

/// Σv (double) of a state tensor on the tensor path: the same blocked sum on CPU (so both paths see
/// the same v̄), torch's double sum elsewhere.
double tensor_sum(const torch::Tensor& v) {
  const auto dt = v.scalar_type();
  if (v.device().is_cpu() && v.is_contiguous() && (dt == torch::kFloat || dt == torch::kDouble)) {
    return adai_deterministic_sum(v);
  }
  return v.sum(torch::kDouble).item<double>();
}

}  // namespace

double adai_deterministic_sum(const torch::Tensor& t) {
  FLATMIN_CHECK(t.device().is_cpu() && t.is_contiguous() &&
                    (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble),
                "adai_deterministic_sum: needs a contiguous CPU float32/float64 tensor");
  if (t.scalar_type() == torch::kFloat) {
    const float* x = t.data_ptr<float>();
    return blocked_sum(t.numel(), [&](int64_t b, int64_t len) { return sum_chunk(x + b, len); });
  }
  const double* x = t.data_ptr<double>();
  return blocked_sum(t.numel(), [&](int64_t b, int64_t len) { return sum_chunk(x + b, len); });
}

// ---------------------------------------------------------------------------------------------
// Optimizer

torch::Tensor Adai::step(LossClosure closure) {
  torch::NoGradGuard no_grad;  // for pass 2 (step_each guards pass 1)
  struct Item {
    torch::Tensor p, g;
    AdaiParamState* st;
    const AdaiOptions* o;
    bool fused;
  };
  std::vector<Item> items;
  std::vector<double> sums;  // Σv_p / (1 − β2^t_p), in parameter order
  int64_t count = 0;         // N

  // PASS 1 (adai.py first loop): every group, every parameter with a gradient.
  torch::Tensor loss = step_each<AdaiOptions>(closure, [&](size_t, const AdaiOptions& o, size_t, const torch::Tensor& p) {
    const auto& g = p.grad();
    auto& st = state_for<AdaiParamState>(p, [&] {
      AdaiParamState s;
      s.exp_avg(zeros_state(p));
      s.exp_avg_sq(zeros_state(p));
      s.beta1_prod(torch::ones_like(p, torch::MemoryFormat::Contiguous));
      return s;
    });
    st.step(st.step() + 1);
    const int64_t t = st.step();
    const double bc2 = rules::bias_correction(std::get<1>(o.betas()), t);
    bool fused = true;
    const double s = run_path(
        p, g, {st.exp_avg(), st.exp_avg_sq(), st.beta1_prod()},
        [&](auto type_tag) {
          using T = decltype(type_tag);
          return fused_pass1_dispatch<T>(p, g, st, make_coeffs<T>(o, t, 0.0));
        },
        [&] {
          fused = false;
          torch::Tensor v = st.exp_avg_sq();
          rules::adai_pass1(p.detach(), g, v, make_coeffs<double>(o, t, 0.0));
          st.exp_avg_sq().copy_(v);
          return tensor_sum(st.exp_avg_sq());
        });
    sums.push_back(s / bc2);  // exp_avg_sq.sum() / bias_correction2
    count += p.numel();
    items.push_back({p, g, &st, &o, fused});
  });
  last_count_ = count;
  if (count == 0) {
    last_mean_v_hat_ = std::numeric_limits<double>::quiet_NaN();
    return loss;
  }
  double total = 0.0;
  for (double s : sums) total += s;
  const double vbar = total / static_cast<double>(count);  // exp_avg_sq_hat_mean
  last_mean_v_hat_ = vbar;

  // PASS 2 (adai.py second loop), same order.
  for (auto& it : items) {
    auto& st = *it.st;
    const int64_t t = st.step();
    const auto c = make_coeffs<double>(*it.o, t, vbar);
    const auto cf = make_coeffs<float>(*it.o, t, vbar);
    if (it.fused && !c.vbar_zero && it.p.scalar_type() == torch::kFloat && cf.fold) {
      fused_pass2_dispatch<float>(it.p, it.g, st, cf);
    } else if (it.fused && !c.vbar_zero && it.p.scalar_type() == torch::kDouble && c.fold) {
      fused_pass2_dispatch<double>(it.p, it.g, st, c);
    } else {
      torch::Tensor theta = it.p.detach(), m = st.exp_avg(), bp = st.beta1_prod();
      auto ct = c;
      if (it.p.scalar_type() != torch::kDouble) ct.fold = cf.fold;  // the reciprocal must be normal in float too
      rules::adai_pass2(theta, it.g, st.exp_avg_sq(), m, bp, ct);
      it.p.detach().copy_(theta);
      st.exp_avg().copy_(m);
      st.beta1_prod().copy_(bp);
    }
  }
  return loss;
}

void AdaiOptions::check(const std::string& who) const {
  schema::Traits<double>::check(who, "betas[0]", std::get<0>(betas()), schema::at_least(0));  // official: 0 <= beta0
  schema::Traits<double>::check(who, "betas[1]", std::get<1>(betas()), schema::unit_interval());
}

void register_adai(detail::RegistryTable& table) {
  Preset adai;
  adai.hidden = {"dampening"};
  adai.required = {"lr"};
  adai.required_hint = " (the official Adai has no default lr; its README: SGD's lr, or 10x SGD-momentum's)";
  table["adai"] = detail::entry<Adai>(adai);
  Preset w = adai;
  w.fixed = {{"decoupled", true}};
  w.fixed_hint = " (use 'adai' for coupled weight decay)";
  table["adaiw"] = detail::entry<Adai>(w);
  Preset v2 = adai;
  v2.hidden = {};
  v2.defaults = {{"decoupled", true}};  // official AdaiV2 default
  table["adaiv2"] = detail::entry<Adai>(v2);
}

}  // namespace flatmin::optim
