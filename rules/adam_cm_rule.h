#pragma once
/// \file
/// Adam+CM (critical momenta) and Adam+CG (critical gradients) element-wise update rules — the one
/// place their equations live. Malviya et al., TMLR 2024 (arXiv 2307.09638) and McRae et al.
/// (arXiv 2106.10708); the paper text was not available, so the rules are the official code's:
/// chandar-lab/CMOptimizer@bdc7731 cmoptimizer/optim.py (classes Adam_CM, Adam_C) and
/// cmoptimizer/prioritydict.py (TensorList), spec optimizers.md §11.3 / §11.4.
///
/// The buffer bookkeeping that is not element-wise (priorities, which slot to write, the
/// uniform draw of the "FIFO" mode) is decided by the caller (optim/adam_cm.cpp) before the
/// element pass; the rule only receives the outcome as `c.mode` and the slot to read/write.
/// Notation: S = TensorList.aggr_sum (running sum of the stored items), n = TensorList.size()
/// before this step's insertion, item = the slot being written (`_heap[smallest]` or
/// `_heap[curr_k]`). Deviations: docs/deviations.md#adamcm--adamcg.
#include "rules/moments.h"
#include "rules/ops.h"

namespace flatmin::rules {

/// What happens to the buffer of one tensor in one step (decided by the caller).
enum class CriticalMode : int {
  kFirst = 0,    ///< state initialisation: buffer ← {raw g}; no aggregation (optim.py "State initialization")
  kKeep = 1,     ///< buffer full, new priority not larger than the minimum: buffer unchanged
  kAppend = 2,   ///< buffer not full: item written to the next free slot (TensorList.add_item, not full)
  kReplace = 3,  ///< buffer full: item overwrites slot `smallest` (TensorList.add_item, full)
};

/// Per-step coefficients, computed in double by the caller and cast to the element type S.
template <class S>
struct CriticalCoeffs : MomentCoeffs<S> {  // + β1, 1−β1, β2, 1−β2, ε; weight_decay: wd (Adam_C coupled L2)
  S step_size;        ///< lr/(1−β1^t)   (optim.py: step_size = group['lr'] / bias_correction1)
  S sqrt_bc2;         ///< √(1−β2^t)     (optim.py: math.sqrt(bias_correction2))
  S count;            ///< n = buffer size before this step's insertion (≥ 1 unless kFirst)
  S one_minus_lr_wd;  ///< 1 − lr·wd     (Adam_CM decoupled decay)
  bool has_weight_decay, amsgrad;
  CriticalMode mode;
};

/// Adds this step's item to the running sum and writes it to its slot (TensorList.add_item):
/// full → aggr_sum.add_(-_heap[smallest]); _heap[smallest] = val;  not full → _heap[curr_k] = val;
/// then aggr_sum.add_(val). The sum is kept incrementally, with the same two roundings.
template <class V, class S>
inline void critical_insert(V& sum, V* item, const V& val, const CriticalCoeffs<S>& c) {
  if (c.mode == CriticalMode::kReplace) sum = sum - *item;  // aggr_sum.add_(-_heap[smallest])
  if (c.mode != CriticalMode::kKeep) {
    sum = sum + val;                                        // aggr_sum.add_(val, alpha=1)
    *item = val;                                            // _heap[slot] = val (a copy)
  }
}

/// v, the amsgrad max and the denominator, shared by both rules (torch-form ε, spec §1).
template <class V, class S>
inline V critical_denom(const V& x, V& v, V* v_max, const CriticalCoeffs<S>& c) {
  using O = Ops<V>;
  v = v * c.beta2 + (x * c.one_minus_beta2) * x;      // exp_avg_sq.mul_(β2).addcmul_(x, x, value=1−β2)
  if (c.amsgrad) {
    *v_max = O::max(*v_max, v);                       // torch.max(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    return O::sqrt(*v_max) / c.sqrt_bc2 + c.eps;      // (max_exp_avg_sq.sqrt() / √bc2).add_(eps)
  }
  return O::sqrt(v) / c.sqrt_bc2 + c.eps;             // (exp_avg_sq.sqrt() / √bc2).add_(eps)
}

/// One Adam_CM step for one element (scalar V) or one tensor (V = torch::Tensor).
/// `item` is the buffer slot written in kFirst/kAppend/kReplace (read in kReplace), unused in kKeep.
template <class V, class S>
inline void adam_cm_update(V& theta, const V& g, V& m, V& v, V* v_max, V& sum, V* item,
                           const CriticalCoeffs<S>& c) {
  if (c.has_weight_decay) theta = theta * c.one_minus_lr_wd;  // p.mul_(1 − lr·wd), decoupled, before all else
  V m_used = m;
  if (c.mode == CriticalMode::kFirst) {
    critical_insert(sum, item, g, c);      // add_item(gnorm, deepcopy(grad)): the RAW gradient; m stays 0
  } else {
    m = m * c.beta1 + g * c.one_minus_beta1;  // exp_avg.mul_(β1).add_(grad, alpha=1−β1)
    m_used = m + sum / c.count;               // aggr_grad = exp_avg + aggr_sum/size(), BEFORE insertion
    critical_insert(sum, item, m, c);         // add_item(gnorm, deepcopy(exp_avg)): the MOMENTUM m_t
  }
  const V denom = critical_denom(m_used, v, v_max, c);  // v from the AGGREGATED momentum
  theta = theta - (m_used * c.step_size) / denom;       // p.addcdiv_(exp_avg, denom, value=−step_size)
}

/// One Adam_C (critical gradients) step for one element (scalar V) or one tensor (V = torch::Tensor).
template <class V, class S>
inline void adam_cg_update(V& theta, const V& g, V& m, V& v, V* v_max, V& sum, V* item,
                           const CriticalCoeffs<S>& c) {
  V g_used = g;
  if (c.mode != CriticalMode::kFirst) g_used = g + sum / c.count;  // aggr_grad = grad + aggr_sum/size(), BEFORE insertion
  critical_insert(sum, item, g, c);   // add_item(gnorm, deepcopy(grad)): always the RAW gradient
  if (c.has_weight_decay) g_used = g_used + theta * c.weight_decay;  // grad.add(wd, p): coupled L2 AFTER aggregation
  m = m * c.beta1 + g_used * c.one_minus_beta1;          // exp_avg.mul_(β1).add_(grad, alpha=1−β1)
  const V denom = critical_denom(g_used, v, v_max, c);   // exp_avg_sq from g_used
  theta = theta - (m * c.step_size) / denom;             // p.addcdiv_(exp_avg, denom, value=−step_size)
}

}  // namespace flatmin::rules
