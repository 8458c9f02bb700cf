#include "hessian/spectrum.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Spectra/SymEigsSolver.h>
#include <boost/math/distributions/students_t.hpp>

#include "common/error.h"

namespace flatmin::hessian {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t stream_key(std::uint64_t seed, std::uint64_t stream) {
  return splitmix64(splitmix64(seed) ^ splitmix64(stream + 0x632be59bd9b4e019ULL));
}

double uniform_open(std::uint64_t bits) {  // (0, 1]
  return (static_cast<double>(bits >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

void apply_block(const Operator& op, const double* x, double* y, int k) {
  if (op.apply_block) {
    op.apply_block(x, y, k);
    return;
  }
  for (int j = 0; j < k; ++j) op.apply(x + Eigen::Index(j) * op.n, y + Eigen::Index(j) * op.n);
}

Vec apply(const Operator& op, const Vec& x) {
  Vec y(op.n);
  op.apply(x.data(), y.data());
  return y;
}

double rel_residual(const Vec& hv, double lambda, const Vec& v) {
  const double r = (hv - lambda * v).norm();
  return std::abs(lambda) > 0 ? r / std::abs(lambda) : r;
}

void require_operator(const Operator& op) {
  if (op.n <= 0 || !op.apply) throw std::invalid_argument("hessian: operator with n = 0 or no apply()");
}

// PyHessian utils.normalization: v / (‖v‖ + 1e-6).
void pyhessian_normalize(Vec& v, double eps = 1e-6) { v /= (v.norm() + eps); }

// PyHessian utils.orthnormal: one sequential Gram–Schmidt pass (each coefficient from the updated w),
// then normalization.
void pyhessian_orthnormal(Vec& w, const std::vector<Vec>& basis, double eps = 1e-6) {
  for (const auto& u : basis) w -= w.dot(u) * u;
  pyhessian_normalize(w, eps);
}

Spectra::SortRule to_spectra(Which w) {
  switch (w) {
    case Which::LargestAlge: return Spectra::SortRule::LargestAlge;
    case Which::LargestMagn: return Spectra::SortRule::LargestMagn;
    case Which::SmallestAlge: return Spectra::SortRule::SmallestAlge;
    case Which::BothEnds: return Spectra::SortRule::BothEnds;
  }
  return Spectra::SortRule::LargestAlge;
}

// Output order of a selection (Spectra's `sorting` accepts only the Alge/Magn rules).
Spectra::SortRule sorting_of(Which w) {
  switch (w) {
    case Which::LargestMagn: return Spectra::SortRule::LargestMagn;
    case Which::SmallestAlge: return Spectra::SortRule::SmallestAlge;
    default: return Spectra::SortRule::LargestAlge;
  }
}

std::string info_name(Spectra::CompInfo info) {
  switch (info) {
    case Spectra::CompInfo::Successful: return "Successful";
    case Spectra::CompInfo::NotComputed: return "NotComputed";
    case Spectra::CompInfo::NotConverging: return "NotConverging";
    case Spectra::CompInfo::NumericalIssue: return "NumericalIssue";
  }
  return "Unknown";
}

common::RunStatus status_of(Spectra::CompInfo info) {
  if (info == Spectra::CompInfo::Successful) return common::RunStatus::ok;
  return info == Spectra::CompInfo::NotConverging ? common::RunStatus::not_converged : common::RunStatus::failed;
}

// Spectra 1.0.1 operator concept: Scalar alias, rows/cols, const perform_op (spec §6.1).
struct SpectraOp {
  using Scalar = double;
  const Operator* op;
  Eigen::Index rows() const { return op->n; }
  Eigen::Index cols() const { return op->n; }
  void perform_op(const double* x, double* y) const { op->apply(x, y); }
};

// Picks k eigenpairs of a dense symmetric eigen-decomposition according to `which`, in output order.
std::vector<Eigen::Index> dense_selection(const Vec& evals, int k, Which which) {
  const Eigen::Index n = evals.size();
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);  // evals ascending
  std::vector<Eigen::Index> out;
  switch (which) {
    case Which::LargestAlge:
      for (int i = 0; i < k; ++i) out.push_back(n - 1 - i);
      break;
    case Which::SmallestAlge:
      for (int i = 0; i < k; ++i) out.push_back(i);
      break;
    case Which::LargestMagn:
      std::stable_sort(idx.begin(), idx.end(),
                       [&](Eigen::Index a, Eigen::Index b) { return std::abs(evals(a)) > std::abs(evals(b)); });
      out.assign(idx.begin(), idx.begin() + k);
      break;
    case Which::BothEnds: {  // Spectra: half from each end, the extra one from the high end
      const int hi = (k + 1) / 2, lo = k / 2;
      for (int i = 0; i < hi; ++i) out.push_back(n - 1 - i);
      for (int i = lo - 1; i >= 0; --i) out.push_back(i);
      break;
    }
  }
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------ utilities

Operator dense_operator(const Mat& a) {
  Operator op;
  op.n = a.rows();
  const Mat* m = &a;
  op.apply = [m](const double* x, double* y) {
    Eigen::Map<Vec>(y, m->rows()).noalias() = (*m) * Eigen::Map<const Vec>(x, m->cols());
  };
  op.apply_block = [m](const double* x, double* y, int k) {
    Eigen::Map<Mat>(y, m->rows(), k).noalias() = (*m) * Eigen::Map<const Mat>(x, m->cols(), k);
  };
  return op;
}

Mat explicit_matrix(const Operator& op, double* asymmetry) {
  require_operator(op);
  const Eigen::Index n = op.n;
  Mat h(n, n);
  constexpr Eigen::Index kChunk = 32;
  for (Eigen::Index j0 = 0; j0 < n; j0 += kChunk) {
    const Eigen::Index k = std::min(kChunk, n - j0);
    Mat e = Mat::Zero(n, k);
    for (Eigen::Index j = 0; j < k; ++j) e(j0 + j, j) = 1.0;
    Mat y(n, k);
    apply_block(op, e.data(), y.data(), static_cast<int>(k));
    h.middleCols(j0, k) = y;
  }
  if (asymmetry) {
    const double scale = h.cwiseAbs().maxCoeff();
    *asymmetry = scale > 0 ? (h - h.transpose()).cwiseAbs().maxCoeff() / scale : 0.0;
  }
  return 0.5 * (h + h.transpose());
}

void rademacher_probe(std::uint64_t seed, std::uint64_t stream, double* out, Eigen::Index n) {
  const std::uint64_t key = stream_key(seed, stream);
  for (Eigen::Index i = 0; i < n; ++i)
    out[i] = (splitmix64(key + static_cast<std::uint64_t>(i)) >> 63) ? 1.0 : -1.0;
}

void gaussian_probe(std::uint64_t seed, std::uint64_t stream, double* out, Eigen::Index n) {
  const std::uint64_t key = stream_key(seed, stream);
  for (Eigen::Index i = 0; i < n; i += 2) {  // Box–Muller on pairs
    const auto p = static_cast<std::uint64_t>(i);
    const double u1 = uniform_open(splitmix64(key + 2 * p));
    const double u2 = uniform_open(splitmix64(key + 2 * p + 1));
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[i] = r * std::cos(2.0 * kPi * u2);
    if (i + 1 < n) out[i + 1] = r * std::sin(2.0 * kPi * u2);
  }
}

Which parse_which(const std::string& name) {
  if (name == "largest_alge") return Which::LargestAlge;
  if (name == "largest_magn") return Which::LargestMagn;
  if (name == "smallest_alge") return Which::SmallestAlge;
  if (name == "both_ends") return Which::BothEnds;
  FLATMIN_CHECK(false, "unknown eigenvalue selection '" << name
                                                        << "' (largest_alge, largest_magn, smallest_alge, both_ends)");
  return Which::LargestAlge;
}

std::string to_string(Which w) {
  switch (w) {
    case Which::LargestAlge: return "largest_alge";
    case Which::LargestMagn: return "largest_magn";
    case Which::SmallestAlge: return "smallest_alge";
    case Which::BothEnds: return "both_ends";
  }
  return "?";
}

// ------------------------------------------------------------------------------------ top-k

TopKResult top_k(const Operator& op, const TopKOptions& opt) {
  require_operator(op);
  FLATMIN_CHECK(opt.k >= 1, "top-k: k = " << opt.k << " must be >= 1");
  FLATMIN_CHECK(opt.k <= op.n, "top-k: k = " << opt.k << " exceeds the number of parameters " << op.n);
  TopKResult res;
  res.tol = opt.tol;
  const Eigen::Index n = op.n;
  Eigen::Index ncv = opt.ncv > 0 ? opt.ncv : std::max<Eigen::Index>(2 * opt.k + 1, 20);
  ncv = std::min(ncv, n);
  const bool dense = n <= opt.dense_threshold || opt.k >= n - 1 || ncv <= opt.k;
  if (dense) {
    const Mat h = explicit_matrix(op);
    res.products = n;
    Eigen::SelfAdjointEigenSolver<Mat> es(h);
    res.solver = "dense_eigen";
    if (es.info() != Eigen::Success) {
      res.status = common::RunStatus::failed;
      res.message = "Eigen SelfAdjointEigenSolver: NumericalIssue";
    }
    for (Eigen::Index i : dense_selection(es.eigenvalues(), opt.k, opt.which)) {
      Eigenpair p;
      p.value = es.eigenvalues()(i);
      p.vector = es.eigenvectors().col(i);
      p.residual = rel_residual(h * p.vector, p.value, p.vector);
      p.converged = es.info() == Eigen::Success;
      res.pairs.push_back(std::move(p));
    }
    return res;
  }
  SpectraOp sop{&op};
  Spectra::SymEigsSolver<SpectraOp> eigs(sop, opt.k, ncv);
  Vec v0(n);
  gaussian_probe(opt.seed, 0x70c0, v0.data(), n);
  eigs.init(v0.data());
  eigs.compute(to_spectra(opt.which), opt.maxit, opt.tol, sorting_of(opt.which));
  res.solver = "spectra_symeigs";
  res.ncv = static_cast<int>(ncv);
  res.status = status_of(eigs.info());
  if (res.status != common::RunStatus::ok) {
    res.message = "Spectra: " + info_name(eigs.info()) + " after " + std::to_string(eigs.num_iterations()) + " restarts (maxit " +
                  std::to_string(opt.maxit) + ", tol " + std::to_string(opt.tol) + ")";
  }
  res.num_operations = eigs.num_operations();
  res.num_iterations = eigs.num_iterations();
  res.products = res.num_operations;
  const Vec evals = eigs.eigenvalues();
  const Mat evecs = eigs.eigenvectors();
  for (Eigen::Index i = 0; i < evals.size(); ++i) {
    Eigenpair p;
    p.value = evals(i);
    p.vector = evecs.col(i);
    const Vec hv = apply(op, p.vector);
    ++res.products;
    p.residual = rel_residual(hv, p.value, p.vector);
    p.converged = eigs.info() == Spectra::CompInfo::Successful;
    res.pairs.push_back(std::move(p));
  }
  return res;
}

// --------------------------------------------------------------- PyHessian power iteration

PowerIterationResult pyhessian_power_iteration(const Operator& op, const PowerIterationOptions& opt,
                                               const std::function<void(double*)>& start) {
  require_operator(op);
  if (!start) throw std::invalid_argument("pyhessian_power_iteration: no start-vector sampler");
  FLATMIN_CHECK(opt.top_n >= 1 && opt.top_n <= op.n, "power iteration: top_n = " << opt.top_n << " out of range");
  PowerIterationResult res;
  std::vector<Vec> found;
  for (int j = 0; j < opt.top_n; ++j) {  // PyHessian hessian.py eigenvalues(): one pair at a time
    Vec v(op.n);
    start(v.data());
    const double eps = opt.normalization_eps;
    pyhessian_normalize(v, eps);
    bool have = false, converged = false;
    double eigenvalue = 0.0, residual = 0.0;
    int it = 0;
    Vec out_vec = v;
    for (int i = 0; i < opt.max_iter; ++i) {
      pyhessian_orthnormal(v, found, eps);  // projection deflation
      const Vec hv = apply(op, v);
      ++res.products;
      ++it;
      const double tmp = hv.dot(v);  // Rayleigh quotient
      const double r = rel_residual(hv, tmp, v);
      Vec vn = hv;
      pyhessian_normalize(vn, eps);
      if (opt.residual_tol > 0) {  // benchmark mode: stop on the residual of the current iterate
        eigenvalue = tmp;
        residual = r;
        out_vec = v;
        if (r <= opt.residual_tol) {
          converged = true;
          break;
        }
        v = vn;
        continue;
      }
      residual = r;
      out_vec = vn;
      if (!have) {
        eigenvalue = tmp;
        have = true;
      } else if (std::abs(eigenvalue - tmp) / (std::abs(eigenvalue) + 1e-6) < opt.tol) {
        converged = true;  // PyHessian keeps the previous λ
        v = vn;
        break;
      } else {
        eigenvalue = tmp;
      }
      v = vn;
    }
    Eigenpair p;
    p.value = eigenvalue;
    p.residual = residual;
    p.converged = converged;
    p.vector = out_vec;
    found.push_back(opt.residual_tol > 0 ? out_vec : v);
    res.pairs.push_back(std::move(p));
    res.iterations.push_back(it);
  }
  return res;
}

// ------------------------------------------------------------------------------ Lanczos/SLQ

Tridiagonal lanczos(const Operator& op, const Vec& v0, int m, LanczosVariant variant,
                    const std::function<void(double*)>& restart) {
  require_operator(op);
  FLATMIN_CHECK(m >= 1, "Lanczos: steps = " << m << " must be >= 1");
  Tridiagonal t;
  const Eigen::Index n = op.n;
  if (variant == LanczosVariant::PyHessian) {
    // PyHessian hessian.py density(), one run.
    std::vector<Vec> vs;
    Vec v = v0;
    pyhessian_normalize(v);
    vs.push_back(v);
    Vec w = apply(op, v);
    double alpha = w.dot(v);
    t.alpha.push_back(alpha);
    w -= alpha * v;
    for (int i = 1; i < m; ++i) {
      const double beta = std::sqrt(w.dot(w));  // before reorthogonalisation
      t.beta.push_back(beta);
      if (beta != 0.0) {
        pyhessian_orthnormal(w, vs);
        v = w;
      } else {
        Vec r(n);
        if (!restart) throw std::invalid_argument("lanczos: breakdown and no restart sampler");
        restart(r.data());
        pyhessian_orthnormal(r, vs);
        v = r;
        ++t.restarts;
      }
      vs.push_back(v);
      Vec wp = apply(op, v);
      alpha = wp.dot(v);
      t.alpha.push_back(alpha);
      w = wp - alpha * v - beta * vs[vs.size() - 2];
    }
    return t;
  }
  // Accurate: CGS2 full reorthogonalisation after the 3-term update, β after reorth.
  m = static_cast<int>(std::min<Eigen::Index>(m, n));
  Mat V(n, m);
  const double n0 = v0.norm();
  FLATMIN_CHECK(n0 > 0, "Lanczos: zero start vector");
  V.col(0) = v0 / n0;
  double scale = 0.0;
  for (int j = 0; j < m; ++j) {
    Vec w = apply(op, Vec(V.col(j)));
    const double alpha = w.dot(V.col(j));
    t.alpha.push_back(alpha);
    scale = std::max(scale, std::abs(alpha));
    w -= alpha * V.col(j);
    if (j > 0) w -= t.beta[static_cast<std::size_t>(j - 1)] * V.col(j - 1);
    for (int pass = 0; pass < 2; ++pass) w -= V.leftCols(j + 1) * (V.leftCols(j + 1).transpose() * w);
    if (j == m - 1) break;
    const double beta = w.norm();
    scale = std::max(scale, beta);
    if (beta <= 1e-10 * std::max(scale, std::numeric_limits<double>::min())) {
      Vec r(n);
      if (!restart) throw std::invalid_argument("lanczos: breakdown and no restart sampler");
      restart(r.data());
      for (int pass = 0; pass < 2; ++pass) r -= V.leftCols(j + 1) * (V.leftCols(j + 1).transpose() * r);
      V.col(j + 1) = r / r.norm();
      t.beta.push_back(0.0);
      ++t.restarts;
    } else {
      V.col(j + 1) = w / beta;
      t.beta.push_back(beta);
    }
  }
  return t;
}

Quadrature gauss_quadrature(const Tridiagonal& t) {
  const auto m = static_cast<Eigen::Index>(t.alpha.size());
  FLATMIN_CHECK(m >= 1 && t.beta.size() + 1 == t.alpha.size(), "gauss_quadrature: malformed tridiagonal");
  Quadrature q;
  if (m == 1) {
    q.nodes = {t.alpha[0]};
    q.weights = {1.0};
    return q;
  }
  Vec diag = Eigen::Map<const Vec>(t.alpha.data(), m);
  Vec sub = Eigen::Map<const Vec>(t.beta.data(), m - 1);
  Eigen::SelfAdjointEigenSolver<Mat> es;
  es.computeFromTridiagonal(diag, sub, Eigen::ComputeEigenvectors);
  if (es.info() != Eigen::Success) throw std::runtime_error("gauss_quadrature: tridiagonal eigensolver failed");
  for (Eigen::Index k = 0; k < m; ++k) {
    q.nodes.push_back(es.eigenvalues()(k));
    const double c = es.eigenvectors()(0, k);
    q.weights.push_back(c * c);
  }
  return q;
}

SlqResult slq(const Operator& op, const SlqOptions& opt) {
  require_operator(op);
  FLATMIN_CHECK(opt.runs >= 1, "SLQ: runs = " << opt.runs << " must be >= 1");
  FLATMIN_CHECK(opt.steps >= 1, "SLQ: steps = " << opt.steps << " must be >= 1");
  SlqResult res;
  double tr = 0.0;
  for (int r = 0; r < opt.runs; ++r) {
    Vec v0(op.n);
    std::function<void(double*)> restart;
    if (opt.variant == LanczosVariant::PyHessian) {
      if (!op.rademacher || !op.randn) throw std::invalid_argument("slq(PyHessian): operator has no samplers");
      op.rademacher(v0.data());
      restart = op.randn;
    } else {
      rademacher_probe(opt.seed, 0x51a0 + static_cast<std::uint64_t>(r), v0.data(), op.n);
      auto counter = std::make_shared<std::uint64_t>(0);
      const std::uint64_t seed = opt.seed, n = static_cast<std::uint64_t>(op.n);
      restart = [seed, r, counter, n](double* out) {
        gaussian_probe(seed, 0x5e570000ULL + static_cast<std::uint64_t>(r) * 100000ULL + (*counter)++, out,
                       static_cast<Eigen::Index>(n));
      };
    }
    Tridiagonal t;
    try {
      t = lanczos(op, v0, opt.steps, opt.variant, restart);
    } catch (const BudgetExhausted&) {
      break;  // the runs finished so far
    }
    res.products += static_cast<std::int64_t>(t.alpha.size());
    res.restarts.push_back(t.restarts);
    Quadrature q = gauss_quadrature(t);
    for (std::size_t k = 0; k < q.nodes.size(); ++k) tr += q.weights[k] * q.nodes[k];
    res.runs.push_back(std::move(q));
  }
  res.trace_estimate = res.runs.empty() ? std::numeric_limits<double>::quiet_NaN()
                                        : static_cast<double>(op.n) * tr / static_cast<double>(res.runs.size());  // Ubaru–Chen–Saad
  return res;
}

Kernel parse_kernel(const std::string& name) {
  if (name == "pyhessian") return Kernel::PyHessian;
  if (name == "std") return Kernel::Std;
  FLATMIN_CHECK(false, "unknown density kernel '" << name << "' (pyhessian, std)");
  return Kernel::PyHessian;
}

std::string to_string(Kernel k) { return k == Kernel::PyHessian ? "pyhessian" : "std"; }

Density smooth_density(const std::vector<Quadrature>& runs, const DensityOptions& opt) {
  FLATMIN_CHECK(!runs.empty(), "density: no SLQ runs");
  FLATMIN_CHECK(opt.num_bins >= 2, "density: num_bins = " << opt.num_bins << " must be >= 2");
  const auto R = runs.size();
  double lo, hi, sigma2;
  if (opt.kernel == Kernel::PyHessian) {
    // PyHessian density_plot.py density_generate (a port of google/spectral-density eigv_to_density).
    double mean_max = 0, mean_min = 0;
    for (const auto& q : runs) {
      mean_max += *std::max_element(q.nodes.begin(), q.nodes.end());
      mean_min += *std::min_element(q.nodes.begin(), q.nodes.end());
    }
    hi = mean_max / R + opt.overhead;
    lo = mean_min / R - opt.overhead;
    sigma2 = opt.sigma_squared * std::max(1.0, hi - lo);  // a VARIANCE
  } else {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn;
    std::size_t steps = 1;
    for (const auto& q : runs) {
      mn = std::min(mn, *std::min_element(q.nodes.begin(), q.nodes.end()));
      mx = std::max(mx, *std::max_element(q.nodes.begin(), q.nodes.end()));
      steps = std::max(steps, q.nodes.size());
    }
    double range = mx - mn;
    if (range <= 0) range = std::max(1e-3, std::abs(mx) * 1e-3);
    const double sigma = opt.sigma > 0 ? opt.sigma : range / static_cast<double>(steps);
    sigma2 = sigma * sigma;
    lo = mn - opt.padding * range;
    hi = mx + opt.padding * range;
  }
  const auto B = static_cast<std::size_t>(opt.num_bins);
  Density d;
  d.sigma2 = sigma2;
  d.grid.resize(B);
  for (std::size_t j = 0; j < B; ++j) d.grid[j] = lo + (hi - lo) * static_cast<double>(j) / static_cast<double>(B - 1);
  std::vector<std::vector<double>> per_run(R, std::vector<double>(B, 0.0));
  const double norm = 1.0 / std::sqrt(2.0 * kPi * sigma2);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t j = 0; j < B; ++j) {
      double s = 0.0;
      for (std::size_t k = 0; k < runs[r].nodes.size(); ++k) {
        const double dx = runs[r].nodes[k] - d.grid[j];
        s += runs[r].weights[k] * norm * std::exp(-dx * dx / (2.0 * sigma2));
      }
      per_run[r][j] = s;
    }
  d.density.assign(B, 0.0);
  for (std::size_t j = 0; j < B; ++j) {
    for (std::size_t r = 0; r < R; ++r) d.density[j] += per_run[r][j];
    d.density[j] /= static_cast<double>(R);
  }
  double scale = 1.0;
  if (opt.kernel == Kernel::PyHessian) {  // unit Riemann sum
    const double total = std::accumulate(d.density.begin(), d.density.end(), 0.0) * (d.grid[1] - d.grid[0]);
    if (total > 0) scale = 1.0 / total;
  }
  d.density_std.assign(B, 0.0);
  for (std::size_t j = 0; j < B; ++j) {
    d.density[j] *= scale;
    if (R > 1) {
      double ss = 0.0;
      for (std::size_t r = 0; r < R; ++r) {
        const double e = per_run[r][j] * scale - d.density[j];
        ss += e * e;
      }
      d.density_std[j] = std::sqrt(ss / static_cast<double>(R - 1));
    }
  }
  return d;
}

// ------------------------------------------------------------------------------------ trace

Probe parse_probe(const std::string& name) {
  if (name == "rademacher") return Probe::Rademacher;
  if (name == "gaussian") return Probe::Gaussian;
  FLATMIN_CHECK(false, "unknown probe distribution '" << name << "' (rademacher, gaussian)");
  return Probe::Rademacher;
}

std::string to_string(Probe p) { return p == Probe::Rademacher ? "rademacher" : "gaussian"; }

double t_quantile_975(int dof) {
  if (dof < 1) return std::numeric_limits<double>::infinity();
  boost::math::students_t dist(static_cast<double>(dof));
  return boost::math::quantile(dist, 0.975);
}

namespace {
void fill_probe(Probe p, std::uint64_t seed, std::uint64_t stream, double* out, Eigen::Index n) {
  if (p == Probe::Rademacher)
    rademacher_probe(seed, stream, out, n);
  else
    gaussian_probe(seed, stream, out, n);
}

void finish_stats(TraceResult& r) {
  r.n = static_cast<int>(r.samples.size());
  double mean = 0.0;
  for (double s : r.samples) mean += s;
  mean /= std::max(1, r.n);
  r.estimate = r.n > 0 ? mean : std::numeric_limits<double>::quiet_NaN();  // no sample (budget spent): no estimate
  if (r.n > 1) {
    double ss = 0.0;
    for (double s : r.samples) ss += (s - mean) * (s - mean);
    r.stderr_ = std::sqrt(ss / (r.n - 1)) / std::sqrt(static_cast<double>(r.n));
    r.ci95 = t_quantile_975(r.n - 1) * r.stderr_;
  } else {
    r.stderr_ = std::numeric_limits<double>::infinity();
    r.ci95 = std::numeric_limits<double>::infinity();
  }
}
}  // namespace

TraceResult hutchinson(const Operator& op, const HutchinsonOptions& opt) {
  require_operator(op);
  FLATMIN_CHECK(opt.max_samples >= 2, "trace: max samples = " << opt.max_samples << " must be >= 2");
  FLATMIN_CHECK(opt.block >= 1, "trace: block = " << opt.block << " must be >= 1");
  TraceResult r;
  r.method = "hutchinson";
  const Eigen::Index n = op.n;
  while (static_cast<int>(r.samples.size()) < opt.max_samples) {
    const int k = std::min(opt.block, opt.max_samples - static_cast<int>(r.samples.size()));
    Mat z(n, k), hz(n, k);
    for (int j = 0; j < k; ++j)
      fill_probe(opt.probe, opt.seed, 0x7ace0000ULL + r.samples.size() + static_cast<std::size_t>(j),
                 z.col(j).data(), n);
    try {
      apply_block(op, z.data(), hz.data(), k);
    } catch (const BudgetExhausted&) {
      break;  // the samples so far, not converged
    }
    r.products += k;
    for (int j = 0; j < k; ++j) r.samples.push_back(z.col(j).dot(hz.col(j)));
    if (static_cast<int>(r.samples.size()) >= std::max(2, opt.min_samples)) {
      finish_stats(r);
      if (r.ci95 <= opt.rtol * std::abs(r.estimate) || r.ci95 <= opt.atol) {
        r.converged = true;
        return r;
      }
    }
  }
  finish_stats(r);
  return r;
}

TraceResult hutch_plus_plus(const Operator& op, int budget, Probe probe, std::uint64_t seed) {
  require_operator(op);
  FLATMIN_CHECK(budget >= 6, "Hutch++: budget = " << budget << " must be >= 6");
  const Eigen::Index n = op.n;
  const int k = std::min<int>(budget / 3, static_cast<int>(n));
  const int g = budget - 2 * k;
  TraceResult r;
  r.method = "hutch++";
  Mat s(n, k), y(n, k);
  for (int j = 0; j < k; ++j) fill_probe(probe, seed, 0x4b0000ULL + static_cast<std::uint64_t>(j), s.col(j).data(), n);
  apply_block(op, s.data(), y.data(), k);
  const Mat q = Eigen::HouseholderQR<Mat>(y).householderQ() * Mat::Identity(n, k);
  Mat aq(n, k);
  apply_block(op, q.data(), aq.data(), k);
  const double t1 = (q.transpose() * aq).trace();
  Mat z(n, g), hz(n, g);
  for (int j = 0; j < g; ++j) {
    fill_probe(probe, seed, 0x4c0000ULL + static_cast<std::uint64_t>(j), z.col(j).data(), n);
    z.col(j) -= q * (q.transpose() * z.col(j));
  }
  apply_block(op, z.data(), hz.data(), g);
  r.products = 2 * k + g;
  for (int j = 0; j < g; ++j) r.samples.push_back(z.col(j).dot(hz.col(j)));
  finish_stats(r);
  r.estimate += t1;
  r.n = budget;
  r.converged = true;
  return r;
}

TraceResult pyhessian_trace(const Operator& op, int max_iter, double tol) {
  require_operator(op);
  if (!op.rademacher) throw std::invalid_argument("pyhessian_trace: operator has no rademacher sampler");
  TraceResult r;
  r.method = "pyhessian";
  double trace = 0.0;
  Vec v(op.n), hv(op.n);
  for (int i = 0; i < max_iter; ++i) {  // PyHessian hessian.py trace()
    op.rademacher(v.data());
    try {
      op.apply(v.data(), hv.data());
    } catch (const BudgetExhausted&) {
      break;  // the samples so far, not converged
    }
    ++r.products;
    r.samples.push_back(hv.dot(v));
    const double mean = std::accumulate(r.samples.begin(), r.samples.end(), 0.0) / r.samples.size();
    if (std::abs(mean - trace) / (std::abs(trace) + 1e-6) < tol) {
      r.converged = true;
      break;
    }
    trace = mean;
  }
  finish_stats(r);
  return r;
}

TraceResult exact_trace(const Operator& op) {
  TraceResult r;
  r.method = "exact";
  const Mat h = explicit_matrix(op);
  r.estimate = h.trace();
  r.products = op.n;
  r.n = 0;
  r.converged = true;
  return r;
}

}  // namespace flatmin::hessian
