#pragma once
/// \file
/// Definitions of ElementwiseOptimizer (optim/elementwise.h). Included by an optimizer's .cpp, which
/// ends with `FLATMIN_INSTANTIATE_ELEMENTWISE(Adamax, AdamaxRule);`.
#include <array>
#include <utility>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/kernel_isa.h"
#include "optim/elementwise.h"
#include "optim/tensor_ops.h"

namespace flatmin::optim {

namespace detail {

template <class Rule, class = void>
struct HasGate : std::false_type {};
template <class Rule>
struct HasGate<Rule, std::void_t<decltype(Rule::kGate)>> : std::true_type {};

/// The flag that gates state tensor k (its tensor exists only while the flag is on), or -1.
template <class Rule>
constexpr int gate(size_t k) {
  if constexpr (HasGate<Rule>::value) {
    return Rule::kGate[k];
  } else {
    (void)k;
    return -1;
  }
}

template <class Rule, class S>
constexpr size_t flag_count() {
  return Rule::template kFlags<S>.size();
}

/// The rule's flags of c, read at run time.
template <class Rule, class S>
std::array<bool, flag_count<Rule, S>()> read_flags(const typename Rule::template Coeffs<S>& c) {
  std::array<bool, flag_count<Rule, S>()> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = c.*(Rule::template kFlags<S>[i]);
  return out;
}

/// State tensor k is used under the flags F (compile time).
template <class Rule, size_t k, bool... F>
constexpr bool live() {
  if constexpr (k >= Rule::kState.size()) {
    return false;
  } else {
    constexpr bool flags[] = {F..., false};
    constexpr int g = gate<Rule>(k);
    return g < 0 || flags[g];
  }
}

/// Sets flag I of c to the constant V (so the rule's branches on it fold away in the kernel).
template <class Rule, class T, size_t I, bool V>
inline void pin(typename Rule::template Coeffs<T>& c) {
  constexpr auto member = Rule::template kFlags<T>[I];
  c.*member = V;
}
template <class Rule, class T, bool... F, size_t... I>
inline void pin_all(typename Rule::template Coeffs<T>& c, std::index_sequence<I...>) {
  (pin<Rule, T, I, F>(c), ...);
}

constexpr size_t kMaxStateTensors = 4;

/// Element loop over one chunk. A separate function with __restrict pointers and every flag a
/// compile-time constant, so GCC vectorises it whether or not the caller's lambda is outlined by OpenMP.
template <class Rule, class T, bool... F>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void elementwise_chunk(T* __restrict theta, const T* __restrict grad,
                                                                     T* __restrict s0, T* __restrict s1,
                                                                     T* __restrict s2, T* __restrict s3, int64_t n,
                                                                     const typename Rule::template Coeffs<T>& c) {
  constexpr size_t N = Rule::kState.size();
  static_assert(N >= 1 && N <= kMaxStateTensors, "1 to 4 state tensors");
  typename Rule::template Coeffs<T> cc = c;
  pin_all<Rule, T, F...>(cc, std::make_index_sequence<sizeof...(F)>{});
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i];
    T s[N] = {};
    if constexpr (live<Rule, 0, F...>()) s[0] = s0[i];
    if constexpr (live<Rule, 1, F...>()) s[1] = s1[i];
    if constexpr (live<Rule, 2, F...>()) s[2] = s2[i];
    if constexpr (live<Rule, 3, F...>()) s[3] = s3[i];
    Rule::update(th, grad[i], s, cc);
    theta[i] = th;
    if constexpr (live<Rule, 0, F...>()) s0[i] = s[0];
    if constexpr (live<Rule, 1, F...>()) s1[i] = s[1];
    if constexpr (live<Rule, 2, F...>()) s2[i] = s[2];
    if constexpr (live<Rule, 3, F...>()) s3[i] = s[3];
  }
}

template <class Rule, class T, bool... F>
void elementwise_pass(const torch::Tensor& p, const torch::Tensor& g, const ElementwiseState<Rule>& st,
                      const typename Rule::template Coeffs<T>& c) {
  std::array<T*, kMaxStateTensors> s{};
  auto set = [&](auto k_tag) {
    constexpr size_t k = decltype(k_tag)::value;
    if constexpr (live<Rule, k, F...>()) s[k] = st.tensors[k].template data_ptr<T>();
  };
  set(std::integral_constant<size_t, 0>{});
  set(std::integral_constant<size_t, 1>{});
  set(std::integral_constant<size_t, 2>{});
  set(std::integral_constant<size_t, 3>{});
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    auto off = [&](T* q) { return q == nullptr ? nullptr : q + begin; };
    elementwise_chunk<Rule, T, F...>(theta + begin, grad + begin, off(s[0]), off(s[1]), off(s[2]), off(s[3]),
                                     end - begin, c);
  });
}

/// Turns the run-time flags into template arguments, one at a time.
template <class Rule, class T, size_t I, size_t K, bool... F>
void dispatch(const std::array<bool, K>& flags, const torch::Tensor& p, const torch::Tensor& g,
              const ElementwiseState<Rule>& st, const typename Rule::template Coeffs<T>& c) {
  if constexpr (I == K) {
    elementwise_pass<Rule, T, F...>(p, g, st, c);
  } else {
    flags[I] ? dispatch<Rule, T, I + 1, K, F..., true>(flags, p, g, st, c)
             : dispatch<Rule, T, I + 1, K, F..., false>(flags, p, g, st, c);
  }
}

}  // namespace detail

// ---- state -------------------------------------------------------------------------------------

template <class Rule>
const torch::Tensor& ElementwiseState<Rule>::tensor(const std::string& name) const {
  for (size_t k = 0; k < kTensors; ++k) {
    if (name == Rule::kState[k]) return tensors[k];
  }
  throw std::out_of_range("no state tensor '" + name + "'");
}

template <class Rule>
void ElementwiseState<Rule>::serialize(torch::serialize::OutputArchive& archive) const {
  archive.write("step", c10::IValue(step()));
  for (size_t k = 0; k < kTensors; ++k) {
    if (tensors[k].defined()) archive.write(Rule::kState[k], tensors[k]);
  }
  if constexpr (kScalars > 0) {
    for (size_t k = 0; k < kScalars; ++k) archive.write(Rule::kScalars[k].first, c10::IValue(scalars[k]));
  }
}

template <class Rule>
void ElementwiseState<Rule>::serialize(torch::serialize::InputArchive& archive) {
  c10::IValue v;
  if (archive.try_read("step", v)) step(v.toInt());
  for (size_t k = 0; k < kTensors; ++k) {
    torch::Tensor t;
    if (archive.try_read(Rule::kState[k], t)) tensors[k] = t;
  }
  if constexpr (kScalars > 0) {
    for (size_t k = 0; k < kScalars; ++k) {
      if (archive.try_read(Rule::kScalars[k].first, v)) scalars[k] = v.toDouble();
    }
  }
}

template <class Rule>
void ElementwiseState<Rule>::adopt(const torch::Tensor& p) {
  const std::string who = Rule::Options::kName;
  for (size_t k = 0; k < kTensors; ++k) {
    auto& t = tensors[k];
    FLATMIN_CHECK(t.defined() || detail::gate<Rule>(k) >= 0,
                  "optimizer checkpoint: " << who << " state lacks " << Rule::kState[k]);
    t = adopt_state_tensor(t, p, who + " " + Rule::kState[k]);
  }
}

// ---- step --------------------------------------------------------------------------------------

template <class Derived, class Rule>
torch::Tensor ElementwiseOptimizer<Derived, Rule>::step(torch::optim::Optimizer::LossClosure closure) {
  auto on_group = [&](size_t gi, const Options&) {
    if (gi == 0) static_cast<Derived&>(*this).begin_step();  // once per call, after the closure
  };
  return this->template step_each<Options>(closure, on_group, [&](size_t gi, const Options& o, size_t, const torch::Tensor& p) {
    auto& st = this->template state_for<State>(p, [&] {
      State s;
      for (size_t k = 0; k < State::kTensors; ++k) {
        if (detail::gate<Rule>(k) < 0) s.tensors[k] = zeros_state(p);
      }
      return s;
    });
    st.step(st.step() + 1);
    if constexpr (State::kScalars > 0) Rule::advance(o, st.step(), st.scalars.data());
    update_param(o, gi, p, st);
  });
}

template <class Derived, class Rule>
void ElementwiseOptimizer<Derived, Rule>::update_param(const Options& o, size_t group, const torch::Tensor& p,
                                                      State& st) {
  const auto& g = p.grad();
  const StepContext ctx = static_cast<const Derived&>(*this).context(group, st);
  auto run = [&](auto type_tag) {
    using S = decltype(type_tag);
    const auto c = Rule::template coeffs<S>(o, ctx);
    const auto flags = detail::read_flags<Rule, S>(c);
    for (size_t k = 0; k < State::kTensors; ++k) {  // gated state: created when its flag first turns on
      const int gk = detail::gate<Rule>(k);
      if (gk >= 0 && flags[static_cast<size_t>(gk)] && !st.tensors[k].defined()) {
        st.tensors[k] = zeros_state(p);
      }
    }
    if (fused_eligible(p, g, st.tensors)) {
      if constexpr (std::is_same_v<S, float>) {
        if (p.scalar_type() == torch::kFloat) return detail::dispatch<Rule, float, 0>(flags, p, g, st, c);
      } else {
        if (p.scalar_type() == torch::kDouble) return detail::dispatch<Rule, double, 0>(flags, p, g, st, c);
      }
    }
    // Device-generic path: the same rule on whole tensors (in double scalars), written back in place.
    typename Rule::template Coeffs<double> cd;
    if constexpr (std::is_same_v<S, double>) {
      cd = c;
    } else {
      cd = Rule::template coeffs<double>(o, ctx);
    }
    torch::Tensor theta = p.detach();
    std::array<torch::Tensor, State::kTensors> s = st.tensors;
    Rule::update(theta, g, s.data(), cd);
    p.detach().copy_(theta);
    for (size_t k = 0; k < State::kTensors; ++k) {
      if (st.tensors[k].defined() && !s[k].is_same(st.tensors[k])) st.tensors[k].copy_(s[k]);
    }
  };
  if (p.scalar_type() == torch::kFloat) {
    run(float{});
  } else {
    run(double{});
  }
}

}  // namespace flatmin::optim

/// Explicit instantiation of an elementwise optimizer (in its .cpp).
#define FLATMIN_INSTANTIATE_ELEMENTWISE(Optimizer, Rule)   \
  template struct ::flatmin::optim::ElementwiseState<Rule>; \
  template class ::flatmin::optim::ElementwiseOptimizer<Optimizer, Rule>
