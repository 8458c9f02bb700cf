#pragma once
/// \file
/// One-call Hessian analysis (top-k, trace, ESD) of any float64 operator — LibTorch-free.
/// The LibTorch entry points (TorchScript module or C++ forward + dataset) are in hessian_operator.h;
/// they build an Operator and call analyze() below.

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "hessian/spectrum.h"

namespace flatmin::hessian {

/// What to compute and how. `compat == "pyhessian"` replaces every algorithm by PyHessian's
/// (power iteration, running-mean trace rule, one-pass-GS Lanczos with n_v = 1) and ignores the
/// accurate-mode knobs; docs/hessian.md lists both sets of defaults.
struct AnalyzeOptions {
  std::string compat = "accurate";  ///< "accurate" | "pyhessian"
  std::uint64_t seed = 0;

  int top_k = 1;  ///< 0 = skip
  Which which = Which::LargestAlge;
  double eig_tol = 1e-6;
  int ncv = 0;
  int eig_maxit = 1000;
  int power_max_iter = 100;   // PyHessian eigenvalues(maxIter)
  double power_tol = 1e-3;    // PyHessian eigenvalues(tol)

  bool trace = false;
  std::string trace_method = "hutchinson";  ///< hutchinson | hutch++ | exact
  Probe probe = Probe::Rademacher;
  int trace_min_samples = 10;
  int trace_max_samples = 500;
  double trace_rtol = 1e-2;
  double trace_atol = 0.0;
  int trace_block = 1;
  int hutchpp_budget = 99;
  int pyhessian_trace_max_iter = 100;  // PyHessian trace(maxIter)
  double pyhessian_trace_tol = 1e-3;   // PyHessian trace(tol)

  bool density = false;
  int slq_steps = 100;  // PyHessian density(iter)
  int slq_runs = 0;     ///< 0 = 10 (accurate) or 1 (pyhessian, density(n_v=1))
  DensityOptions smoothing;

  std::ostream* progress = nullptr;  ///< stderr progress with ETA per stage (null = silent)
};

/// Validates option ranges (InputError naming the option).
void validate(const AnalyzeOptions& opt, Eigen::Index n_params);

struct Summary {
  std::vector<Eigenpair> eigenpairs;
  nlohmann::json solver;  ///< name, ncv, tol, info, num_operations, num_iterations (or power-iteration counts)
  bool has_trace = false;
  TraceResult trace;
  bool has_density = false;
  SlqResult slq;
  Density esd;
  std::int64_t hvp_count = 0;
  double seconds = 0.0;

  /// summary.json content (without dataset/model fields, which the caller adds).
  nlohmann::json to_json(const AnalyzeOptions& opt) const;
};

/// Runs the requested analyses in the fixed order top-k → trace → density (the order PyHessian's
/// example uses, which matters for its shared RNG stream in compat mode).
Summary analyze(const Operator& op, const AnalyzeOptions& opt);

}  // namespace flatmin::hessian
