#include "optim/ndadam.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <type_traits>

#include <ATen/Parallel.h>
#include <torch/optim/serialize.h>
#include <torch/torch.h>

#include "common/error.h"
#include "optim/detail/registry_entry.h"
#include "rules/ndadam_rule.h"
#include "optim/tensor_ops.h"
#include "optim/detail/kernel_isa.h"

namespace flatmin::optim {

namespace {

std::string axes_str(const std::vector<int64_t>& a) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < a.size(); ++i) os << (i ? ", " : "") << a[i];
  os << "]";
  return os.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options




// ---------------------------------------------------------------------------------------------
// State

void NDAdamParamState::adopt(const torch::Tensor& p) {
  FLATMIN_CHECK(exp_avg().defined() && exp_avg_sq().defined(), "optimizer checkpoint: ndadam state lacks moments");
  adopt_fields(p, "ndadam");
  exp_avg_sq(exp_avg_sq().to(p.device()).contiguous());
  // v is per element or per vector (size 1 on the vec_axes): same dim, each size p's or 1. Whether
  // it fits the group's vec_axes is checked at the next step.
  const auto& v = exp_avg_sq();
  bool fits = v.dim() == p.dim() && v.scalar_type() == p.scalar_type();
  for (int64_t d = 0; fits && d < p.dim(); ++d) fits = v.size(d) == p.size(d) || v.size(d) == 1;
  FLATMIN_CHECK(fits, "optimizer checkpoint: ndadam exp_avg_sq has shape " << v.sizes() << " and dtype "
                                                                          << v.scalar_type() << ", the parameter has "
                                                                          << p.sizes() << " " << p.scalar_type());
}

std::vector<int64_t> ndadam_vector_dims(const std::vector<int64_t>& vec_axes, const torch::Tensor& p, size_t group,
                                        size_t param) {
  const int64_t dim = p.dim();
  std::vector<int64_t> dims;
  for (int64_t a : vec_axes) {
    const int64_t d = a < 0 ? a + dim : a;
    FLATMIN_CHECK(d >= 0 && d < dim, "ndadam: vec_axes = " << axes_str(vec_axes) << " do not fit parameter " << param
                                                           << " of group " << group << " (shape " << p.sizes()
                                                           << "): axis " << a << " is out of range for dim " << dim
                                                           << " (put such tensors in a group without vec_axes)");
    dims.push_back(d);
  }
  std::sort(dims.begin(), dims.end());
  FLATMIN_CHECK(std::adjacent_find(dims.begin(), dims.end()) == dims.end(),
                "ndadam: vec_axes = " << axes_str(vec_axes) << " name the same axis twice for parameter " << param
                                      << " of group " << group << " (shape " << p.sizes() << ")");
  return dims;
}

// ---------------------------------------------------------------------------------------------
// Kernels

namespace {

template <class S>
rules::NDAdamCoeffs<S> make_coeffs(const NDAdamOptions& o, int64_t t) {
  const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
  const double bc1 = rules::bias_correction(beta1, t);
  const double bc2 = rules::bias_correction(beta2, t);
  rules::NDAdamCoeffs<S> c{};
  rules::set_moment_coeffs(c, o);
  c.neg_step_size = static_cast<S>(-(o.lr() * std::sqrt(bc2) / bc1));  // step_size = lr * sqrt(bc2) / bc1
  c.has_wd = o.weight_decay() != 0.0;
  return c;
}

/// Plain branch, one chunk (no branches in the loop: the weight-decay flag is a template flag).
template <class T, bool kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void plain_chunk(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, int64_t n, const rules::NDAdamCoeffs<T>& c) {
  rules::NDAdamCoeffs<T> cc = c;
  cc.has_wd = kWd;
  for (int64_t i = 0; i < n; ++i) {
    T th = theta[i], mi = m[i], vi = v[i];
    rules::ndadam_plain_update(th, grad[i], mi, vi, cc);
    theta[i] = th;
    m[i] = mi;
    v[i] = vi;
  }
}

template <class T>
void plain_fused(const torch::Tensor& p, const torch::Tensor& g, NDAdamParamState& st, const rules::NDAdamCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  at::parallel_for(0, p.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
    if (c.has_wd) {
      plain_chunk<T, true>(theta + begin, grad + begin, m + begin, v + begin, end - begin, c);
    } else {
      plain_chunk<T, false>(theta + begin, grad + begin, m + begin, v + begin, end - begin, c);
    }
  });
}

/// Vector branch, fused CPU kernel for vec_axes that are the trailing dims of a contiguous tensor
/// (conv [out,in,k,k] with [1,2,3], linear [out,in] with [1]): the vectors are the rows of a
/// [rows, len] view. Each row is handled by one thread from start to end (its three sums are
/// accumulated in double over kLanes interleaved lanes in a fixed order), so the result does not
/// depend on the thread split; main-memory traffic is that of one Adam step (θ, g, m; v per row).
/// Same stage functions, same element arithmetic and same cast points as the tensor path below.
constexpr int kLanes = 8;

template <class T, class F>
inline double lane_sum(int64_t len, F&& term) {
  double acc[kLanes] = {};
  int64_t e = 0;
  for (; e + kLanes <= len; e += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(term(e + j));
  }
  for (; e < len; ++e) acc[0] += static_cast<double>(term(e));
  double s = 0.0;
  for (double a : acc) s += a;
  return s;
}

template <class T, bool kWd>
__attribute__((noinline)) FLATMIN_KERNEL_ISA void vector_rows(T* __restrict theta, const T* __restrict grad, T* __restrict m,
                                           T* __restrict v, int64_t rows, int64_t len,
                                           const rules::NDAdamCoeffs<T>& c) {
  rules::NDAdamCoeffs<T> cc = c;
  cc.has_wd = kWd;
  for (int64_t r = 0; r < rows; ++r) {
    T* __restrict th = theta + r * len;
    const T* __restrict g = grad + r * len;
    T* __restrict mr = m + r * len;
    // radial = Σ ḡ·w
    const T radial = static_cast<T>(lane_sum<T>(len, [&](int64_t e) { return rules::ndadam_l2(th[e], g[e], cc) * th[e]; }));
    // g_tan = ḡ − radial·w;  m ← β1 m + (1−β1) g_tan;  Σ g_tan²
    const T sq = static_cast<T>(lane_sum<T>(len, [&](int64_t e) {
      const T gt = rules::ndadam_project(rules::ndadam_l2(th[e], g[e], cc), th[e], radial);
      T mi = mr[e];
      rules::ndadam_first_moment(mi, gt, cc);
      mr[e] = mi;
      return gt * gt;
    }));
    T vr = v[r];
    rules::ndadam_second_moment_vector(vr, sq, cc);
    v[r] = vr;
    // w̄ = w − step·m/(√v+ε);  ‖w̄‖
    const T norm = static_cast<T>(std::sqrt(lane_sum<T>(len, [&](int64_t e) {
      T t = th[e];
      rules::ndadam_step(t, mr[e], vr, cc);
      th[e] = t;
      return t * t;
    })));
    for (int64_t e = 0; e < len; ++e) th[e] = th[e] / norm;  // w = w̄/‖w̄‖
  }
}

template <class T>
void vector_fused(const torch::Tensor& p, const torch::Tensor& g, NDAdamParamState& st, int64_t len,
                  const rules::NDAdamCoeffs<T>& c) {
  T* theta = p.data_ptr<T>();
  const T* grad = g.data_ptr<T>();
  T* m = st.exp_avg().data_ptr<T>();
  T* v = st.exp_avg_sq().data_ptr<T>();
  const int64_t rows = p.numel() / len;
  at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / len), [&](int64_t r0, int64_t r1) {
    if (c.has_wd) {
      vector_rows<T, true>(theta + r0 * len, grad + r0 * len, m + r0 * len, v + r0, r1 - r0, len, c);
    } else {
      vector_rows<T, false>(theta + r0 * len, grad + r0 * len, m + r0 * len, v + r0, r1 - r0, len, c);
    }
  });
}

/// Whether the vector branch of `p` can take the fused kernel: contiguous CPU float/double
/// tensors and vec dims = the trailing dims.
bool vector_fused_eligible(const torch::Tensor& p, const torch::Tensor& g, const NDAdamParamState& st,
                           const std::vector<int64_t>& dims) {
  if (!fused_eligible(p, g, {st.exp_avg()})) return false;
  const auto& v = st.exp_avg_sq();
  if (!v.device().is_cpu() || !v.is_contiguous() || v.scalar_type() != p.scalar_type()) return false;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[dims.size() - 1 - k] != p.dim() - 1 - static_cast<int64_t>(k)) return false;
  }
  return p.numel() > 0;
}

/// Σ over `dims` (keepdim) accumulated in double, returned in `dtype`.
torch::Tensor vec_sum(const torch::Tensor& x, const std::vector<int64_t>& dims, c10::ScalarType dtype) {
  return x.sum(dims, /*keepdim=*/true, torch::kDouble).to(dtype);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

void NDAdam::prepare_group(NDAdamOptions& o, const std::vector<torch::Tensor>& params, size_t group) {
  o.validate();  // the axes are checked against the parameters only once the options are valid
  if (o.vec_axes().empty()) return;
  for (size_t j = 0; j < params.size(); ++j) ndadam_vector_dims(o.vec_axes(), params[j], group, j);
}

torch::Tensor NDAdam::step(LossClosure closure) {
  return step_each<NDAdamOptions>(closure, [&](size_t gi, const NDAdamOptions& o, size_t j, const torch::Tensor& p) {
    const bool vectors = !o.vec_axes().empty();  // ndadam.py: `if group['vec_axes']:` ([] and None are plain Adam)
    const auto& g = p.grad();
    std::vector<int64_t> dims;
    std::vector<int64_t> v_shape = p.sizes().vec();
    if (vectors) {
      dims = ndadam_vector_dims(o.vec_axes(), p, gi, j);
      for (int64_t d : dims) v_shape[static_cast<size_t>(d)] = 1;  // one v per vector
    }
    auto& st = state_for<NDAdamParamState>(p, [&] {
      NDAdamParamState s;
      s.exp_avg(zeros_state(p));
      s.exp_avg_sq(torch::zeros(v_shape, p.options()));
      return s;
    });
    FLATMIN_CHECK(st.exp_avg_sq().sizes() == c10::IntArrayRef(v_shape),
                  "ndadam: parameter " << j << " of group " << gi << " has a second-moment state of shape "
                                       << st.exp_avg_sq().sizes() << ", but vec_axes = " << axes_str(o.vec_axes())
                                       << " need " << c10::IntArrayRef(v_shape)
                                       << " (vec_axes changed after the state was created?)");
    st.step(st.step() + 1);
    const int64_t t = st.step();

    if (!vectors) {
      run_path(
          p, g, {st.exp_avg(), st.exp_avg_sq()},
          [&](auto type_tag) {
            using T = decltype(type_tag);
            plain_fused<T>(p, g, st, make_coeffs<T>(o, t));
          },
          [&] {
            const auto c = make_coeffs<double>(o, t);
            torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq();
            rules::ndadam_plain_update(theta, g, m, v, c);
            p.detach().copy_(theta);
            st.exp_avg().copy_(m);
            st.exp_avg_sq().copy_(v);
          });
      return;
    }

    if (vector_fused_eligible(p, g, st, dims)) {
      int64_t len = 1;
      for (int64_t d : dims) len *= p.size(d);
      if (p.scalar_type() == torch::kFloat) {
        vector_fused<float>(p, g, st, len, make_coeffs<float>(o, t));
      } else {
        vector_fused<double>(p, g, st, len, make_coeffs<double>(o, t));
      }
      return;
    }
    // Vector branch, device-generic: reductions over vec_axes with torch ops in double, the
    // elementwise stages from the rule with the per-vector factors broadcast.
    const auto c = make_coeffs<double>(o, t);
    const auto dtype = p.scalar_type();
    torch::Tensor theta = p.detach(), m = st.exp_avg(), v = st.exp_avg_sq();
    const torch::Tensor g_bar = rules::ndadam_l2(theta, g, c);
    const torch::Tensor radial = vec_sum(g_bar * theta, dims, dtype);  // g_proj = Σ grad·p over vec_axes
    const torch::Tensor g_tan = rules::ndadam_project(g_bar, theta, radial);
    rules::ndadam_first_moment(m, g_tan, c);
    rules::ndadam_second_moment_vector(v, vec_sum(g_tan * g_tan, dims, dtype), c);  // g_sqr = Σ grad² over vec_axes
    rules::ndadam_step(theta, m, v, c);
    // ndadam.py: norm = Σ p² over vec_axes; norm.sqrt_(); p.data.div_(norm)
    const torch::Tensor norm = (theta * theta).sum(dims, /*keepdim=*/true, torch::kDouble).sqrt().to(dtype);
    theta = theta / norm;
    p.detach().copy_(theta);
    st.exp_avg().copy_(m);
    st.exp_avg_sq().copy_(v);
  });
}

void NDAdamOptions::check(const std::string& who) const {
  const std::set<int64_t> unique(vec_axes().begin(), vec_axes().end());
  FLATMIN_CHECK(unique.size() == vec_axes().size(), who << ": vec_axes = " << axes_str(vec_axes()) << " violates 'distinct axes'");
}

void register_ndadam(detail::RegistryTable& table) { table["ndadam"] = detail::entry<NDAdam>(); }

}  // namespace flatmin::optim
