#include "hessian/analyze.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

#include "common/error.h"
#include "common/limits.h"
#include "common/progress.h"

namespace flatmin::hessian {

namespace {

// Wraps an operator: counts products, enforces the budget (BudgetExhausted before a product that would exceed
// it) and drives a per-stage Progress line (HVPs, ETA).
struct Counted {
  std::int64_t count = 0;
  std::unique_ptr<common::Progress> progress;
  std::int64_t stage_start = 0;
  std::int64_t max_hvps = 0;
  double max_seconds = 0.0;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  std::string exhausted;  // why the budget stopped the analysis (empty: it did not)

  Operator wrap(const Operator& op) {
    Operator w = op;
    w.apply = [this, &op](const double* x, double* y) {
      check(1);
      op.apply(x, y);
      tick(1);
    };
    w.apply_block = [this, &op](const double* x, double* y, int k) {
      check(k);
      if (op.apply_block)
        op.apply_block(x, y, k);
      else
        for (int j = 0; j < k; ++j) op.apply(x + Eigen::Index(j) * op.n, y + Eigen::Index(j) * op.n);
      tick(k);
    };
    return w;
  }
  void check(int k) {
    if (exhausted.empty() && max_hvps > 0 && count + k > max_hvps) {
      exhausted = "HVP budget max_hvps = " + std::to_string(max_hvps) + " spent";
    } else if (exhausted.empty() && max_seconds > 0 && elapsed() > max_seconds) {
      std::ostringstream m;
      m << "time budget max_seconds = " << max_seconds << " spent after " << count << " HVPs";
      exhausted = m.str();
    }
    if (!exhausted.empty()) throw BudgetExhausted(exhausted);
  }
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
  void tick(int k) {
    count += k;
    if (progress) progress->update(count - stage_start);
  }
  /// A new stage of at most `total` products (its ETA is to that bound, capped by the HVP budget left).
  void stage(std::ostream* os, const std::string& label, std::int64_t total, bool upper_bound = false) {
    if (progress) progress->finish();
    progress.reset();
    stage_start = count;
    if (max_hvps > 0) total = std::min(total, std::max<std::int64_t>(0, max_hvps - count));
    if (os)
      progress = std::make_unique<common::Progress>("hessian " + label + (upper_bound ? " (HVPs, at most)" : " (HVPs)"),
                                                    total, 10.0, os);
  }
  void done() {
    if (progress) progress->finish();
    progress.reset();
  }
};

nlohmann::json finite_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

}  // namespace

std::string to_string(CompatMode m) { return m == CompatMode::PyHessian ? "pyhessian" : "accurate"; }

CompatMode parse_compat(const std::string& name) {
  if (name == "accurate" || name.empty()) return CompatMode::Accurate;
  FLATMIN_CHECK(name == "pyhessian", "--compat '" << name << "' must be 'pyhessian' (or absent)");
  return CompatMode::PyHessian;
}

std::string to_string(TraceMethod m) {
  switch (m) {
    case TraceMethod::Hutchinson: return "hutchinson";
    case TraceMethod::HutchPlusPlus: return "hutch++";
    case TraceMethod::Exact: return "exact";
  }
  return "?";
}

TraceMethod parse_trace_method(const std::string& name) {
  if (name == "hutchinson") return TraceMethod::Hutchinson;
  if (name == "hutch++") return TraceMethod::HutchPlusPlus;
  FLATMIN_CHECK(name == "exact", "--trace-method '" << name << "' (hutchinson, hutch++, exact)");
  return TraceMethod::Exact;
}

void AnalyzeOptions::validate(Eigen::Index n) const {
  FLATMIN_CHECK(top_k.k >= 0 && top_k.k <= n, "--top-k " << top_k.k << " must be in [0, n_params = " << n << "]");
  FLATMIN_CHECK(top_k.tol > 0 && std::isfinite(top_k.tol), "--eig-tol " << top_k.tol << " must be > 0");
  constexpr std::int64_t kIt = common::limits::kIterations;
  const std::string it_bound = common::format_count(kIt);
  FLATMIN_CHECK(top_k.maxit >= 1 && top_k.maxit <= kIt, "--eig-maxit " << top_k.maxit << " must be in [1, " << it_bound << "]");
  FLATMIN_CHECK(top_k.ncv == 0 || (top_k.ncv > top_k.k && top_k.ncv <= n),
                "--ncv " << top_k.ncv << " must satisfy top-k < ncv <= n_params (" << n << ")");
  FLATMIN_CHECK(hutchinson.min_samples >= 2 && hutchinson.max_samples >= hutchinson.min_samples,
                "trace samples: need 2 <= --trace-min-samples <= --trace-max-samples");
  FLATMIN_CHECK(hutchinson.max_samples <= kIt, "--trace-max-samples " << hutchinson.max_samples << " must be <= " << it_bound);
  FLATMIN_CHECK(hutchinson.block >= 1 && hutchinson.block <= common::limits::kProbeBlock,
                "--trace-block " << hutchinson.block << " must be in [1, " << common::limits::kProbeBlock << "]");
  FLATMIN_CHECK(hutchinson.rtol >= 0 && hutchinson.atol >= 0, "--trace-rtol/--trace-atol must be >= 0");
  FLATMIN_CHECK(hutchpp_budget >= 6 && hutchpp_budget <= kIt, "--hutchpp-budget " << hutchpp_budget << " must be in [6, " << it_bound << "]");
  FLATMIN_CHECK(trace_method != TraceMethod::Exact || n <= 20000,
                "--trace-method exact needs n_params <= 20000 (got " << n << ")");
  FLATMIN_CHECK(compat != CompatMode::PyHessian || trace_method == TraceMethod::Hutchinson,
                "--trace-method " << to_string(trace_method)
                                  << " cannot be combined with --compat pyhessian (PyHessian estimates the trace by "
                                     "Hutchinson's method only; drop one of the two)");
  FLATMIN_CHECK(slq.steps >= 1 && slq.steps <= kIt, "--slq-steps " << slq.steps << " must be in [1, " << it_bound << "]");
  FLATMIN_CHECK(slq.runs >= 0 && slq.runs <= kIt, "--slq-runs " << slq.runs << " must be in [0, " << it_bound << "]");
  FLATMIN_CHECK(smoothing.num_bins >= 2 && smoothing.num_bins <= common::limits::kDensityBins,
                "--num-bins " << smoothing.num_bins << " must be in [2, " << common::format_count(common::limits::kDensityBins) << "]");
  FLATMIN_CHECK(smoothing.sigma_squared > 0 && std::isfinite(smoothing.sigma_squared),
                "--sigma-squared " << smoothing.sigma_squared << " must be > 0");
  FLATMIN_CHECK(smoothing.sigma >= 0 && std::isfinite(smoothing.sigma), "--sigma " << smoothing.sigma << " must be >= 0 (0 = range/steps)");
  FLATMIN_CHECK(max_hvps >= 0, "--max-hvps " << max_hvps << " must be >= 0 (0 = no limit)");
  FLATMIN_CHECK(max_seconds >= 0 && std::isfinite(max_seconds), "--max-seconds " << max_seconds << " must be >= 0 (0 = no limit)");
}

nlohmann::json AnalyzeOptions::to_json() const {
  return {{"compat", to_string(compat)},
          {"seed", seed},
          {"top_k", top_k.k},
          {"which", to_string(top_k.which)},
          {"eig_tol", top_k.tol},
          {"ncv", top_k.ncv},
          {"trace", trace},
          {"trace_method", to_string(trace_method)},
          {"probe", to_string(hutchinson.probe)},
          {"trace_rtol", hutchinson.rtol},
          {"trace_min_samples", hutchinson.min_samples},
          {"trace_max_samples", hutchinson.max_samples},
          {"trace_block", hutchinson.block},
          {"hutchpp_budget", hutchpp_budget},
          {"density", density},
          {"slq_steps", slq.steps},
          {"slq_runs", slq.runs},
          {"kernel", to_string(smoothing.kernel)},
          {"sigma_squared", smoothing.sigma_squared},
          {"sigma", smoothing.sigma},
          {"num_bins", smoothing.num_bins},
          {"max_hvps", max_hvps},
          {"max_seconds", max_seconds}};
}

Summary analyze(const Operator& op, const AnalyzeOptions& opt) {
  opt.validate(op.n);
  return analyze_validated(op, opt);
}

namespace {

/// Records a stage that did not converge: the first such stage sets the status (an earlier failed one stays),
/// every one adds its line to the message and to the warnings.
void not_converged(Summary& s, const std::string& line) {
  if (s.outcome.ok()) {
    s.outcome = {common::RunStatus::not_converged, line};
  } else {
    s.outcome.message += "; " + line;
  }
  s.warnings.push_back(line);
}

std::string fmt(double x) {
  std::ostringstream o;
  o << x;
  return o.str();
}

}  // namespace

Summary analyze_validated(const Operator& op_in, const AnalyzeOptions& opt) {
  const bool compat = opt.compat == CompatMode::PyHessian;
  const auto t0 = std::chrono::steady_clock::now();
  Counted counted;
  counted.max_hvps = opt.max_hvps;
  counted.max_seconds = opt.max_seconds;
  counted.t0 = t0;
  const Operator op = counted.wrap(op_in);
  Summary s;
  auto budget_line = [&](const std::string& stage, const std::string& kept) {
    return "budget exhausted in " + stage + " (" + counted.exhausted + "): " + kept;
  };

  if (opt.top_k.k > 0) {
    const std::string stage = compat ? "top-k (power iteration)" : "top-k (Spectra)";
    try {
      if (compat) {
        counted.stage(opt.progress, stage, std::int64_t(opt.power.max_iter) * opt.top_k.k, true);
        PowerIterationOptions po = opt.power;
        po.top_n = opt.top_k.k;
        auto r = pyhessian_power_iteration(op, po, op.randn);
        s.eigenpairs = r.pairs;
        for (std::size_t i = 0; i < r.pairs.size() && s.outcome.ok(); ++i) {
          if (!r.pairs[i].converged)
            s.outcome = {common::RunStatus::not_converged, "power iteration: eigenpair " + std::to_string(i + 1) +
                                                               " did not meet tol within max_iter " + std::to_string(po.max_iter)};
        }
        if (!s.outcome.ok()) s.warnings.push_back(stage + " did not converge: " + s.outcome.message);
        s.solver = {{"name", "pyhessian_power_iteration"}, {"status", s.outcome.status_name()}, {"message", s.outcome.message},
                    {"max_iter", po.max_iter}, {"tol", po.tol}, {"iterations", r.iterations}, {"num_operations", r.products}};
      } else {
        TopKOptions to = opt.top_k;
        to.seed = opt.seed;
        // Spectra's worst case: maxit restarts of ncv products, plus the start and the residual checks
        const std::int64_t ncv = to.ncv > 0 ? to.ncv : std::max<std::int64_t>(2 * std::int64_t(to.k) + 1, 20);
        counted.stage(opt.progress, stage, std::min<std::int64_t>(op.n, ncv) * to.maxit + to.k + 1, true);
        auto r = top_k(op, to);
        s.eigenpairs = r.pairs;
        s.outcome = {r.status, r.message};
        if (!s.outcome.ok()) s.warnings.push_back(stage + " " + common::to_string(r.status) + ": " + r.message);
        s.solver = {{"name", r.solver}, {"which", to_string(to.which)}, {"ncv", r.ncv}, {"tol", r.tol},
                    {"status", common::to_string(r.status)}, {"message", r.message}, {"num_operations", r.num_operations},
                    {"num_iterations", r.num_iterations}, {"products", r.products}};
      }
    } catch (const BudgetExhausted&) {
      s.eigenpairs.clear();
      not_converged(s, budget_line(stage, "no eigenpairs"));
      s.solver = {{"name", compat ? "pyhessian_power_iteration" : "spectra_symeigs"},
                  {"status", common::to_string(common::RunStatus::not_converged)},
                  {"message", s.warnings.back()},
                  {"products", counted.count - counted.stage_start}};
    }
  }

  if (opt.trace) {
    s.has_trace = true;
    const std::string method = compat ? "pyhessian" : to_string(opt.trace_method);
    const std::string stage = "trace (" + method + ")";
    if (!counted.exhausted.empty()) {
      s.trace.method = method;
      s.trace.estimate = std::nan("");
      not_converged(s, "trace skipped: budget exhausted (" + counted.exhausted + ")");
    } else {
      try {
        if (compat) {
          counted.stage(opt.progress, stage, opt.pyhessian_trace.max_iter, true);
          s.trace = pyhessian_trace(op, opt.pyhessian_trace.max_iter, opt.pyhessian_trace.tol);
        } else if (opt.trace_method == TraceMethod::Hutchinson) {
          counted.stage(opt.progress, stage, opt.hutchinson.max_samples, true);
          HutchinsonOptions ho = opt.hutchinson;
          ho.seed = opt.seed;
          s.trace = hutchinson(op, ho);
        } else if (opt.trace_method == TraceMethod::HutchPlusPlus) {
          counted.stage(opt.progress, stage, opt.hutchpp_budget);
          s.trace = hutch_plus_plus(op, opt.hutchpp_budget, opt.hutchinson.probe, opt.seed);
        } else {
          counted.stage(opt.progress, stage, op.n);
          s.trace = exact_trace(op);
        }
      } catch (const BudgetExhausted&) {  // hutch++ and exact keep nothing of an unfinished run
        s.trace = TraceResult{};
        s.trace.method = method;
        s.trace.estimate = std::nan("");
      }
      if (!counted.exhausted.empty() && !s.trace.converged) {
        not_converged(s, budget_line(stage, std::to_string(s.trace.n) + " samples kept"));
      } else if (!s.trace.converged) {
        std::string why = std::to_string(s.trace.n) + " samples";
        if (compat) {
          why += " (max_iter), relative change of the mean never < tol " + fmt(opt.pyhessian_trace.tol);
        } else {
          why += " (--trace-max-samples), 95% CI half-width " + fmt(s.trace.ci95) + " > --trace-rtol " +
                 fmt(opt.hutchinson.rtol) + " x |estimate| " + fmt(std::abs(s.trace.estimate));
        }
        // a warning, not the status: the trace ran as asked (its max samples) and says so in trace.converged
        s.warnings.push_back(stage + " did not converge: " + why);
      }
    }
  }

  if (opt.density) {
    const std::string stage = "density (SLQ)";
    if (!counted.exhausted.empty()) {
      not_converged(s, "density skipped: budget exhausted (" + counted.exhausted + ")");
    } else {
      SlqOptions so = opt.slq;
      so.runs = opt.slq.runs > 0 ? opt.slq.runs : (compat ? 1 : 10);
      so.variant = compat ? LanczosVariant::PyHessian : LanczosVariant::Accurate;
      so.seed = opt.seed;
      const int eff_steps = compat ? so.steps : static_cast<int>(std::min<Eigen::Index>(so.steps, op.n));
      counted.stage(opt.progress, stage, std::int64_t(so.runs) * eff_steps);
      s.slq = slq(op, so);
      if (!s.slq.runs.empty()) {
        s.has_density = true;
        s.esd = smooth_density(s.slq.runs, opt.smoothing);
      }
      if (static_cast<int>(s.slq.runs.size()) < so.runs) {
        not_converged(s, budget_line(stage, std::to_string(s.slq.runs.size()) + " of " + std::to_string(so.runs) +
                                                " runs kept" + (s.slq.runs.empty() ? ", no density" : "")));
      }
    }
  }
  counted.done();
  s.budget_exhausted = !counted.exhausted.empty();
  s.hvp_count = counted.count;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

nlohmann::json Summary::to_json(const AnalyzeOptions& opt) const {
  nlohmann::json j;
  j["compat"] = to_string(opt.compat);
  j["seed"] = opt.seed;
  j["status"] = outcome.status_name();
  if (!outcome.ok()) j["message"] = outcome.message;
  j["hvp_count"] = hvp_count;
  j["seconds"] = seconds;
  j["budget"] = {{"max_hvps", opt.max_hvps}, {"max_seconds", opt.max_seconds}, {"exhausted", budget_exhausted}};
  j["top_eigenvalues"] = nlohmann::json::array();
  for (const auto& p : eigenpairs)
    j["top_eigenvalues"].push_back({{"value", p.value}, {"residual", p.residual}, {"converged", p.converged}});
  j["solver"] = solver.is_null() ? nlohmann::json() : solver;
  if (has_trace) {
    j["trace"] = {{"estimate", finite_or_null(trace.estimate)}, {"stderr", finite_or_null(trace.stderr_)},
                  {"ci95", finite_or_null(trace.ci95)}, {"n", trace.n}, {"method", trace.method},
                  {"converged", trace.converged}, {"products", trace.products}};
  } else {
    j["trace"] = nullptr;
  }
  if (has_density) {
    std::vector<int> m;
    for (const auto& q : slq.runs) m.push_back(static_cast<int>(q.nodes.size()));
    j["esd"] = {{"kernel", to_string(opt.smoothing.kernel)},
                {"sigma2", esd.sigma2},
                {"num_bins", esd.grid.size()},
                {"grid_min", esd.grid.front()},
                {"grid_max", esd.grid.back()},
                {"runs", slq.runs.size()},
                {"steps", m},
                {"restarts", slq.restarts},
                {"lanczos", opt.compat == CompatMode::PyHessian ? "pyhessian" : "cgs2"},
                {"slq_trace_estimate", slq.trace_estimate}};
  } else {
    j["esd"] = nullptr;
  }
  return j;
}

}  // namespace flatmin::hessian
