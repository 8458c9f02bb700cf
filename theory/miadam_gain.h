#pragma once
/// \file
/// Closed-form response of MIAdam's K chained κ-accumulators.
///
/// MIAdam (official code) keeps K buffers updated every step, in order j = 1..K, as
///   b_j <- κ b_j + b_{j-1},  with b_0 = m (the Adam first moment of the current step),
/// so b_K at step t is the multiple-integral filter
///   b_{K,t} = Σ_{s=1..t} C(t-s+K-1, K-1) κ^{t-s} m_s.

#include <cstdint>
#include <vector>

namespace flatmin::theory {

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
/// Gain of the K-th accumulator after `t` steps of constant input m ≡ 1 (buffers zero before
/// step 1): G(κ, K, t) = Σ_{n=0..t-1} C(n+K-1, K-1) κ^n. G(κ, K, 0) = 0; for κ < 1,
/// G -> (1-κ)^(-K) as t -> ∞; for κ = 1, G = C(t+K-1, K).
///
/// Numerics: for κ < 1 the binomial series is summed directly in double — terms by the exact
/// ratio recursion c_{n+1} = c_n κ (n+K)/(n+1) (no lgamma), Neumaier-compensated — and truncated
/// once the geometric tail bound c_n r/(1-r) (valid because the ratio r is non-increasing) is below
/// eps/4 of the sum. If that would take more than 2^22 terms (κ extremely close to 1 and huge t) the
/// equivalent negative-binomial closed form G = I_{1-κ}(K, t) (1-κ)^(-K) is evaluated with Boost's
/// regularized incomplete beta instead. κ = 1 uses the exact product C(t+K-1, K) = Π_{i=1..K}(t-1+i)/i.
///
/// Throws common::InputError unless 0 < κ <= 1, K >= 1 and t >= 0.
double miadam_buffer_gain(double kappa, int order_K, std::int64_t t);

// optimizers spec §12.3 (derived): b_K,t = Σ C(t−s+K−1,K−1) κ^{t−s} m_s
/// Steady-state step ratio (lr / (1-κ))^K: lr^K times the t -> ∞ limit of miadam_buffer_gain.
/// Throws common::InputError unless 0 < κ < 1, K >= 1 and lr is finite and > 0.
double miadam_steady_step_ratio(double lr, double kappa, int order_K);

/// Frequency response of the same K chained κ-accumulators (rules::miadam_accumulate) in steady state:
/// each is y_t = κ y_{t−1} + x_t, transfer function H(ω) = 1/(1 − κ e^{−iω}), so the K-fold chain has
/// |H(ω)|^K = (1 − 2κ cos ω + κ²)^{−K/2}. At ω = 0 this is (1−κ)^{−K}, the t → ∞ limit of
/// miadam_buffer_gain; it falls monotonically to (1+κ)^{−K} at ω = π (the low-pass "filtering effect" of the
/// MIAdam paper's Fig. 1). Throws common::InputError unless 0 < κ < 1, K >= 1 and ω is finite.
double miadam_transfer_gain(double kappa, int order_K, double omega);

/// The `flatmin-theory miadam-gain` table (also flatmin.theory.miadam_gain): for t = 1..steps the
/// buffer gain G(κ, n, t) and the MI/Adam step ratio for a constant first moment, lr^n·G (official
/// step multiplier α^(n+1) over Adam's α); `steady_step_ratio` = (lr/(1−κ))^n, NaN for κ = 1.
struct GainTable {
  std::vector<std::int64_t> step;
  std::vector<double> buffer_gain, step_ratio;
  double steady_step_ratio = 0;
};
/// Throws common::InputError unless 0 < κ <= 1, n >= 1, steps >= 1 and lr is finite and >= 0.
GainTable miadam_gain_table(double kappa, int order, double lr, std::int64_t steps);

namespace detail {

/// The truncated direct series used by miadam_buffer_gain (κ in (0,1), K >= 1, t >= 0, no checks).
/// Returns a negative value if more than `max_terms` terms would be needed.
double miadam_buffer_gain_series(double kappa, int order_K, std::int64_t t, std::int64_t max_terms);

/// The incomplete-beta closed form used by miadam_buffer_gain for very long sums
/// (κ in (0,1), K >= 1, t >= 1, no checks).
double miadam_buffer_gain_ibeta(double kappa, int order_K, std::int64_t t);

}  // namespace detail

}  // namespace flatmin::theory
