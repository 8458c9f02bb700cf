#pragma once
/// \file
/// LibTorch-free Krylov / Monte-Carlo core of flatmin::hessian: top-k eigenpairs (Spectra 1.0.1
/// SymEigsSolver), PyHessian-compatible power iteration, Lanczos + SLQ, Gaussian smoothing of the
/// ESD, Hutchinson / Hutch++ trace estimators and the explicit (dense) Hessian for small n.
///
/// Everything works on an abstract symmetric operator y = H x on host float64 arrays, so the same
/// code serves a LibTorch HVP (hessian_operator.h), a C++ std::function forward, or a dense test
/// matrix. All vectors, dot products and tridiagonals are float64.
/// Design and sources: docs/hessian.md, ../shared/spec/hessian.md (§2 PyHessian, §6 Spectra, §8).

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/status.h"

namespace flatmin::hessian {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;

/// A symmetric linear operator on R^n (float64 host arrays, length n).
struct Operator {
  Eigen::Index n = 0;
  /// y = H x.
  std::function<void(const double* x, double* y)> apply;
  /// Optional: k products in one pass (x, y are n×k column-major). A LibTorch operator builds each
  /// batch's first-order graph once for all k vectors. Defaults to k calls of apply.
  std::function<void(const double* x, double* y, int k)> apply_block;
  /// Optional PyHessian-compat samplers (torch CPU generator, one draw per parameter tensor in
  /// parameters() order): `randn` = torch.randn(p.size()); `rademacher` = randint_like(p, high=2)
  /// with 0 → −1. Required only by the pyhessian_* functions.
  std::function<void(double* out)> randn;
  std::function<void(double* out)> rademacher;
};

/// Thrown by an operator's apply / apply_block, before the product, when an HVP or wall-clock budget is
/// spent (analyze(): AnalyzeOptions::max_hvps, max_seconds). hutchinson(), pyhessian_trace() and slq()
/// catch it and return what they have (the samples so far; the finished SLQ runs); the other solvers
/// let it through.
class BudgetExhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Wraps a dense symmetric matrix (tests, explicit Hessians). The matrix must outlive the operator.
Operator dense_operator(const Mat& a);

/// H built column by column from n products with unit vectors, then symmetrised ((H+Hᵀ)/2).
/// Costs n products; only for small n. `asymmetry` (if non-null) receives max|H−Hᵀ|/max|H|.
Mat explicit_matrix(const Operator& op, double* asymmetry = nullptr);

/// Counter-based deterministic probe streams: stream `s` of seed `seed` is a fixed sequence of
/// values independent of every other stream (SplitMix64 hashing of (seed, s, index)); Gaussian
/// values by Box–Muller. Identical on every platform (no std:: distributions).
void rademacher_probe(std::uint64_t seed, std::uint64_t stream, double* out, Eigen::Index n);
void gaussian_probe(std::uint64_t seed, std::uint64_t stream, double* out, Eigen::Index n);

// ------------------------------------------------------------------------------------ top-k

/// Which end of the spectrum (Spectra::SortRule names).
enum class Which { LargestAlge, LargestMagn, SmallestAlge, BothEnds };
Which parse_which(const std::string& name);  ///< "largest_alge" | "largest_magn" | "smallest_alge" | "both_ends"
std::string to_string(Which w);

struct Eigenpair {
  double value = 0.0;
  /// True residual ‖Hv − λv‖ / max(|λ|, tiny) from one extra product (Spectra path), or the residual
  /// of the final iterate (power iteration, free).
  double residual = 0.0;
  bool converged = false;
  Vec vector;
};

struct TopKOptions {
  int k = 1;
  Which which = Which::LargestAlge;
  int ncv = 0;            ///< Krylov subspace size; 0 = max(2k+1, 20), capped at n
  double tol = 1e-6;      ///< Spectra's relative Ritz tolerance
  int maxit = 1000;       ///< Spectra restarts
  std::uint64_t seed = 0; ///< start vector = gaussian_probe(seed, 0x70c0)
  /// n ≤ dense_threshold: build H explicitly (n products) and use Eigen (exact, no Krylov).
  Eigen::Index dense_threshold = 0;
};

struct TopKResult {
  std::vector<Eigenpair> pairs;  ///< sorted: descending (LargestAlge, BothEnds), by |λ| (LargestMagn), ascending (SmallestAlge)
  std::string solver;            ///< "spectra_symeigs" | "dense_eigen"
  int ncv = 0;
  double tol = 0.0;
  /// ok; not_converged (Spectra NotConverging: maxit restarts without tol); failed (NumericalIssue, NotComputed)
  common::RunStatus status = common::RunStatus::ok;
  std::string message;  ///< empty when ok, else the solver's CompInfo and the budget, e.g. "Spectra: NotConverging ..."
  std::int64_t num_operations = 0;  ///< Spectra's count (includes the init product)
  std::int64_t num_iterations = 0;  ///< Spectra's restarts
  std::int64_t products = 0;        ///< all products incl. the residual checks
};

/// Top-k eigenpairs with Spectra SymEigsSolver (implicitly restarted Lanczos) + true residuals.
TopKResult top_k(const Operator& op, const TopKOptions& opt);

// --------------------------------------------------------------- PyHessian power iteration

struct PowerIterationOptions {
  int top_n = 1;
  int max_iter = 100;   // PyHessian eigenvalues(maxIter=100)
  double tol = 1e-3;    // PyHessian eigenvalues(tol=1e-3): |λ−λ_prev|/(|λ_prev|+1e-6) < tol
  /// > 0: replace PyHessian's relative-change rule by "residual of the current iterate ≤ residual_tol"
  /// (for the benchmark: power iteration run until it reaches a given residual).
  double residual_tol = 0.0;
  /// PyHessian normalises by ‖v‖ + 1e-6, so its Rayleigh quotient ⟨Hv,v⟩ is biased by −2e-6·λ
  /// and the residual of its iterates floors at ≈ 2e-6. 0 gives exact unit vectors.
  double normalization_eps = 1e-6;
};

struct PowerIterationResult {
  std::vector<Eigenpair> pairs;  ///< discovery order (PyHessian: largest magnitude first, unsorted)
  std::vector<int> iterations;   ///< products per eigenpair
  std::int64_t products = 0;
};

/// PyHessian hessian.eigenvalues(): projection deflation, normalisation ‖v‖+1e-6, start vectors from
/// `start` (compat: op.randn), returns the previous iterate's λ on convergence (as PyHessian does).
PowerIterationResult pyhessian_power_iteration(const Operator& op, const PowerIterationOptions& opt,
                                               const std::function<void(double*)>& start);

// ------------------------------------------------------------------------------ Lanczos/SLQ

/// Tridiagonal from m Lanczos steps: alpha (m), beta (m−1 off-diagonals).
struct Tridiagonal {
  std::vector<double> alpha, beta;
  int restarts = 0;  ///< breakdowns (β ≈ 0) replaced by a random orthogonal vector (β = 0 in T)
};

enum class LanczosVariant {
  /// Full reorthogonalisation twice (CGS2) after the 3-term update, β after reorth, restart on
  /// β < 1e-10·max(1,|α|) (spec §8.4).
  Accurate,
  /// PyHessian density(): β = ‖w‖ before one sequential Gram–Schmidt pass, normalisation ‖·‖+1e-6,
  /// restart with op.randn only when β == 0 exactly.
  PyHessian,
};

/// m Lanczos steps from `v0` (normalised inside). `restart` fills a random vector on breakdown.
Tridiagonal lanczos(const Operator& op, const Vec& v0, int m, LanczosVariant variant,
                    const std::function<void(double*)>& restart);

/// Gauss quadrature of a tridiagonal (Eigen computeFromTridiagonal, float64): nodes θ_k ascending,
/// weights τ_k = (first eigenvector component)², Σ τ = 1.
struct Quadrature {
  std::vector<double> nodes, weights;
};
Quadrature gauss_quadrature(const Tridiagonal& t);

struct SlqOptions {
  int steps = 100;        ///< PyHessian density(iter=100); capped at n in Accurate mode
  int runs = 10;          ///< PyHessian n_v = 1
  LanczosVariant variant = LanczosVariant::Accurate;
  std::uint64_t seed = 0; ///< Accurate: run r starts from rademacher_probe(seed, 0x51a0 + r)
};

struct SlqResult {
  std::vector<Quadrature> runs;
  std::vector<int> restarts;
  std::int64_t products = 0;
  /// Ubaru–Chen–Saad tr(H) ≈ n·mean_r Σ_k τ_k θ_k (unbiased for any m; an independent trace estimate)
  double trace_estimate = 0.0;
};

/// SLQ with normalised Rademacher starts (Accurate: counter-based probes; PyHessian: op.rademacher).
/// On BudgetExhausted: the runs finished before it (possibly none); trace_estimate over those.
SlqResult slq(const Operator& op, const SlqOptions& opt);

enum class Kernel { PyHessian, Std };
Kernel parse_kernel(const std::string& name);  ///< "pyhessian" | "std"
std::string to_string(Kernel k);

struct DensityOptions {
  Kernel kernel = Kernel::PyHessian;
  int num_bins = 10000;
  /// PyHessian: Gaussian VARIANCE = sigma_squared·max(1, λmax−λmin) (density_plot.py).
  double sigma_squared = 1e-5;
  /// PyHessian: grid = [mean_r min θ − overhead, mean_r max θ + overhead].
  double overhead = 0.01;
  /// Std kernel: standard deviation (0 = (max−min)/steps, as eigenthings v1) and grid padding
  /// of `padding`·range on both sides; not renormalised.
  double sigma = 0.0;
  double padding = 0.1;
};

struct Density {
  std::vector<double> grid, density, density_std;  ///< density_std: spread across runs
  double sigma2 = 0.0;                              ///< kernel variance actually used
};

/// Smooths the SLQ nodes/weights into a density on a grid (mean over runs).
Density smooth_density(const std::vector<Quadrature>& runs, const DensityOptions& opt);

// ------------------------------------------------------------------------------------ trace

enum class Probe { Rademacher, Gaussian };
Probe parse_probe(const std::string& name);  ///< "rademacher" | "gaussian"
std::string to_string(Probe p);

struct TraceResult {
  std::string method;  ///< "hutchinson" | "hutch++" | "pyhessian" | "exact"
  double estimate = 0.0;
  double stderr_ = 0.0;     ///< standard error of the estimate (0 for exact)
  double ci95 = 0.0;        ///< half-width of the 95% CI (Student t, n−1 dof)
  int n = 0;                ///< samples (probes)
  bool converged = false;   ///< stopping rule met before max_samples
  std::vector<double> samples;
  std::int64_t products = 0;
};

struct HutchinsonOptions {
  Probe probe = Probe::Rademacher;
  int min_samples = 10;
  int max_samples = 500;
  double rtol = 1e-2;  ///< stop when the 95% CI half-width ≤ rtol·|mean| …
  double atol = 0.0;   ///< … or ≤ atol
  int block = 1;       ///< probes per apply_block pass (checked after each block)
  std::uint64_t seed = 0;
};

/// Hutchinson: samples vᵀHv with E[vvᵀ] = I, mean ± stderr, CI-half-width stopping (spec §8.3).
/// On BudgetExhausted: the samples so far, not converged (estimate NaN without samples).
TraceResult hutchinson(const Operator& op, const HutchinsonOptions& opt);

/// Student-t 97.5% quantile with `dof` degrees of freedom (dof ≥ 1).
double t_quantile_975(int dof);

/// Hutch++ (Meyer–Musco–Musco–Woodruff, thirds split): budget m products, m/3 sketch columns.
TraceResult hutch_plus_plus(const Operator& op, int budget, Probe probe, std::uint64_t seed);

/// PyHessian trace(): op.rademacher probes, stops when |mean−prev|/(|prev|+1e-6) < tol, max_iter.
/// On BudgetExhausted: the samples so far, not converged.
TraceResult pyhessian_trace(const Operator& op, int max_iter = 100, double tol = 1e-3);

/// Exact trace from the explicit matrix (n products).
TraceResult exact_trace(const Operator& op);

}  // namespace flatmin::hessian
