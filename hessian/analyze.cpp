#include "hessian/analyze.h"

#include <chrono>
#include <cmath>
#include <memory>

#include "common/error.h"
#include "common/progress.h"

namespace flatmin::hessian {

namespace {

// Wraps an operator: counts products and drives a per-stage Progress line (HVPs, ETA).
struct Counted {
  std::int64_t count = 0;
  std::unique_ptr<common::Progress> progress;
  std::int64_t stage_start = 0;

  Operator wrap(const Operator& op) {
    Operator w = op;
    w.apply = [this, &op](const double* x, double* y) {
      op.apply(x, y);
      tick(1);
    };
    w.apply_block = [this, &op](const double* x, double* y, int k) {
      if (op.apply_block)
        op.apply_block(x, y, k);
      else
        for (int j = 0; j < k; ++j) op.apply(x + Eigen::Index(j) * op.n, y + Eigen::Index(j) * op.n);
      tick(k);
    };
    return w;
  }
  void tick(int k) {
    count += k;
    if (progress) progress->update(count - stage_start);
  }
  void stage(std::ostream* os, const std::string& label, std::int64_t total) {
    if (progress) progress->finish();
    progress.reset();
    stage_start = count;
    if (os) progress = std::make_unique<common::Progress>("hessian " + label + " (HVPs)", total, 10.0, os);
  }
  void done() {
    if (progress) progress->finish();
    progress.reset();
  }
};

nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

}  // namespace

void validate(const AnalyzeOptions& opt, Eigen::Index n) {
  FLATMIN_CHECK(opt.compat == "accurate" || opt.compat == "pyhessian",
                "--compat '" << opt.compat << "' must be 'pyhessian' (or absent)");
  FLATMIN_CHECK(opt.top_k >= 0 && opt.top_k <= n,
                "--top-k " << opt.top_k << " must be in [0, n_params = " << n << "]");
  FLATMIN_CHECK(opt.eig_tol > 0 && std::isfinite(opt.eig_tol), "--eig-tol " << opt.eig_tol << " must be > 0");
  FLATMIN_CHECK(opt.eig_maxit >= 1, "--eig-maxit must be >= 1");
  FLATMIN_CHECK(opt.ncv == 0 || (opt.ncv > opt.top_k && opt.ncv <= n),
                "--ncv " << opt.ncv << " must satisfy top-k < ncv <= n_params (" << n << ")");
  FLATMIN_CHECK(opt.trace_method == "hutchinson" || opt.trace_method == "hutch++" || opt.trace_method == "exact",
                "--trace-method '" << opt.trace_method << "' (hutchinson, hutch++, exact)");
  FLATMIN_CHECK(opt.trace_min_samples >= 2 && opt.trace_max_samples >= opt.trace_min_samples,
                "trace samples: need 2 <= --trace-min-samples <= --trace-max-samples");
  FLATMIN_CHECK(opt.trace_rtol >= 0 && opt.trace_atol >= 0, "--trace-rtol/--trace-atol must be >= 0");
  FLATMIN_CHECK(opt.hutchpp_budget >= 6, "--hutchpp-budget must be >= 6");
  FLATMIN_CHECK(opt.trace_method != "exact" || n <= 20000,
                "--trace-method exact needs n_params <= 20000 (got " << n << ")");
  FLATMIN_CHECK(opt.slq_steps >= 1, "--slq-steps must be >= 1");
  FLATMIN_CHECK(opt.slq_runs >= 0, "--slq-runs must be >= 0");
  FLATMIN_CHECK(opt.smoothing.num_bins >= 2, "--num-bins must be >= 2");
  FLATMIN_CHECK(opt.smoothing.sigma_squared > 0 && opt.smoothing.sigma >= 0, "density sigma must be > 0");
}

Summary analyze(const Operator& op_in, const AnalyzeOptions& opt) {
  validate(opt, op_in.n);
  const bool compat = opt.compat == "pyhessian";
  const auto t0 = std::chrono::steady_clock::now();
  Counted counted;
  const Operator op = counted.wrap(op_in);
  Summary s;

  if (opt.top_k > 0) {
    if (compat) {
      counted.stage(opt.progress, "top-k (power iteration)", std::int64_t(opt.power_max_iter) * opt.top_k);
      PowerIterationOptions po;
      po.top_n = opt.top_k;
      po.max_iter = opt.power_max_iter;
      po.tol = opt.power_tol;
      auto r = pyhessian_power_iteration(op, po, op.randn);
      s.eigenpairs = r.pairs;
      s.solver = {{"name", "pyhessian_power_iteration"}, {"max_iter", po.max_iter}, {"tol", po.tol},
                  {"iterations", r.iterations}, {"num_operations", r.products}};
    } else {
      counted.stage(opt.progress, "top-k (Spectra)", -1);
      TopKOptions to;
      to.k = opt.top_k;
      to.which = opt.which;
      to.tol = opt.eig_tol;
      to.ncv = opt.ncv;
      to.maxit = opt.eig_maxit;
      to.seed = opt.seed;
      auto r = top_k(op, to);
      s.eigenpairs = r.pairs;
      s.solver = {{"name", r.solver}, {"which", to_string(opt.which)}, {"ncv", r.ncv}, {"tol", r.tol},
                  {"info", r.info}, {"num_operations", r.num_operations}, {"num_iterations", r.num_iterations},
                  {"products", r.products}};
    }
  }

  if (opt.trace) {
    s.has_trace = true;
    if (compat) {
      counted.stage(opt.progress, "trace (pyhessian)", opt.pyhessian_trace_max_iter);
      s.trace = pyhessian_trace(op, opt.pyhessian_trace_max_iter, opt.pyhessian_trace_tol);
    } else if (opt.trace_method == "hutchinson") {
      counted.stage(opt.progress, "trace (Hutchinson)", opt.trace_max_samples);
      HutchinsonOptions ho;
      ho.probe = opt.probe;
      ho.min_samples = opt.trace_min_samples;
      ho.max_samples = opt.trace_max_samples;
      ho.rtol = opt.trace_rtol;
      ho.atol = opt.trace_atol;
      ho.block = opt.trace_block;
      ho.seed = opt.seed;
      s.trace = hutchinson(op, ho);
    } else if (opt.trace_method == "hutch++") {
      counted.stage(opt.progress, "trace (Hutch++)", opt.hutchpp_budget);
      s.trace = hutch_plus_plus(op, opt.hutchpp_budget, opt.probe, opt.seed);
    } else {
      counted.stage(opt.progress, "trace (exact)", op.n);
      s.trace = exact_trace(op);
    }
  }

  if (opt.density) {
    s.has_density = true;
    SlqOptions so;
    so.steps = opt.slq_steps;
    so.runs = opt.slq_runs > 0 ? opt.slq_runs : (compat ? 1 : 10);
    so.variant = compat ? LanczosVariant::PyHessian : LanczosVariant::Accurate;
    so.seed = opt.seed;
    const int eff_steps = compat ? so.steps : static_cast<int>(std::min<Eigen::Index>(so.steps, op.n));
    counted.stage(opt.progress, "density (SLQ)", std::int64_t(so.runs) * eff_steps);
    s.slq = slq(op, so);
    s.esd = smooth_density(s.slq.runs, opt.smoothing);
  }
  counted.done();
  s.hvp_count = counted.count;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

nlohmann::json Summary::to_json(const AnalyzeOptions& opt) const {
  nlohmann::json j;
  j["compat"] = opt.compat;
  j["seed"] = opt.seed;
  j["hvp_count"] = hvp_count;
  j["seconds"] = seconds;
  j["top_eigenvalues"] = nlohmann::json::array();
  for (const auto& p : eigenpairs)
    j["top_eigenvalues"].push_back({{"value", p.value}, {"residual", p.residual}, {"converged", p.converged}});
  j["solver"] = solver.is_null() ? nlohmann::json() : solver;
  if (has_trace) {
    j["trace"] = {{"estimate", trace.estimate}, {"stderr", finite_or_null(trace.stderr_)},
                  {"ci95", finite_or_null(trace.ci95)}, {"n", trace.n}, {"method", trace.method},
                  {"converged", trace.converged}, {"products", trace.products}};
  } else {
    j["trace"] = nullptr;
  }
  if (has_density) {
    std::vector<int> m;
    for (const auto& q : slq.runs) m.push_back(static_cast<int>(q.nodes.size()));
    j["esd"] = {{"kernel", opt.smoothing.kernel == Kernel::PyHessian ? "pyhessian" : "std"},
                {"sigma2", esd.sigma2},
                {"num_bins", esd.grid.size()},
                {"grid_min", esd.grid.front()},
                {"grid_max", esd.grid.back()},
                {"runs", slq.runs.size()},
                {"steps", m},
                {"restarts", slq.restarts},
                {"lanczos", opt.compat == "pyhessian" ? "pyhessian" : "cgs2"},
                {"slq_trace_estimate", slq.trace_estimate}};
  } else {
    j["esd"] = nullptr;
  }
  return j;
}

}  // namespace flatmin::hessian
