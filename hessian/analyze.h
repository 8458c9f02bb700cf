#pragma once
/// \file
/// One-call Hessian analysis (top-k, trace, ESD) of any float64 operator — LibTorch-free.
/// The LibTorch entry points (TorchScript module or C++ forward + dataset) are in hessian_operator.h;
/// they build an Operator and call analyze() below.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "hessian/spectrum.h"

namespace flatmin::hessian {

/// Which algorithms analyze() runs: flatmin's accurate ones or PyHessian's (power iteration, running-mean
/// trace rule, one-pass-GS Lanczos with n_v = 1), which ignore the accurate-mode knobs.
enum class CompatMode { Accurate, PyHessian };
std::string to_string(CompatMode m);                ///< "accurate" | "pyhessian"
CompatMode parse_compat(const std::string& name);   ///< InputError naming --compat otherwise

/// The accurate-mode trace estimator.
enum class TraceMethod { Hutchinson, HutchPlusPlus, Exact };
std::string to_string(TraceMethod m);                     ///< "hutchinson" | "hutch++" | "exact"
TraceMethod parse_trace_method(const std::string& name);  ///< InputError naming --trace-method otherwise

/// PyHessian trace(maxIter, tol): the compat-mode trace rule.
struct PyHessianTraceOptions {
  int max_iter = 100;
  double tol = 1e-3;
};

/// What to compute and how; docs/hessian.md lists both sets of defaults. `seed` seeds every solver
/// (the nested options' own seed fields are overridden); analyze() validates once.
struct AnalyzeOptions {
  CompatMode compat = CompatMode::Accurate;
  std::uint64_t seed = 0;

  TopKOptions top_k;              ///< top_k.k = 0 skips the top-k stage
  PowerIterationOptions power;    ///< compat top-k (top_n = top_k.k)

  bool trace = false;
  TraceMethod trace_method = TraceMethod::Hutchinson;
  HutchinsonOptions hutchinson;   ///< hutchinson.probe is Hutch++'s probe too
  int hutchpp_budget = 99;
  PyHessianTraceOptions pyhessian_trace;

  bool density = false;
  SlqOptions slq{100, 0};  ///< steps = PyHessian density(iter); runs 0 = 10 (accurate) or 1 (pyhessian); variant from compat
  DensityOptions smoothing;

  /// Budget of the whole analysis (0 = unlimited): the stage that would exceed it stops with what it has (the trace
  /// samples so far, the finished SLQ runs; no eigenpairs from an unfinished top-k), the status becomes
  /// not_converged with a "budget exhausted" message, and the later stages are skipped. `flatmin hessian
  /// --max-hvps/--max-seconds`; flatmin.hessian.spectrum(max_hvps=…, max_seconds=…).
  std::int64_t max_hvps = 100000;
  double max_seconds = 7200.0;

  std::ostream* progress = nullptr;  ///< stderr progress with ETA per stage (null = silent)

  /// Validates option ranges for an operator on R^n_params (InputError naming the option).
  void validate(Eigen::Index n_params) const;
  /// The options as a manifest config (the CLI's option names).
  nlohmann::json to_json() const;
};

struct Summary {
  std::vector<Eigenpair> eigenpairs;
  nlohmann::json solver;  ///< name, status, message, ncv, tol, num_operations, num_iterations (or power-iteration counts)
  /// ok, or the top-k solver's not_converged / failed, or not_converged when the budget stopped a stage, with the
  /// message (summary.json and manifest "status"). A trace that reached its max samples unconverged is a warning
  /// and trace.converged = false, not a status.
  common::RunOutcome outcome;
  bool has_trace = false;
  TraceResult trace;
  bool has_density = false;
  SlqResult slq;
  Density esd;
  std::int64_t hvp_count = 0;
  double seconds = 0.0;
  bool budget_exhausted = false;  ///< max_hvps or max_seconds stopped a stage
  /// One line per quantity that did not converge (top-k, trace, density cut by the budget), e.g.
  /// "trace (hutchinson) did not converge: 500 samples, 95% CI half-width 3.1 > trace_rtol 0.01 x |estimate| 120".
  std::vector<std::string> warnings;

  /// summary.json content (without dataset/model fields, which the caller adds).
  nlohmann::json to_json(const AnalyzeOptions& opt) const;
};

/// Runs the requested analyses in the fixed order top-k → trace → density (the order PyHessian's
/// example uses, which matters for its shared RNG stream in compat mode) with options that passed
/// opt.validate(op.n).
Summary analyze_validated(const Operator& op, const AnalyzeOptions& opt);

/// opt.validate(op.n), then analyze_validated(op, opt).
Summary analyze(const Operator& op, const AnalyzeOptions& opt);

}  // namespace flatmin::hessian
