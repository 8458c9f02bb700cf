#pragma once
/// \file
/// Run outcomes: how a run that got past input validation ended. Bad input is an InputError
/// (common/error.h, exit 2, before any work); everything here is decided at run time and is
/// recorded in the run's manifest ("status", "message") — run_main maps a DivergedError to exit 1.

#include <stdexcept>
#include <string>

namespace flatmin::common {

/// The final status of a run, as written to manifest.json's "status" (to_string: the names below).
enum class RunStatus {
  ok,             ///< finished as asked
  diverged,       ///< the iterate / loss / a path became non-finite or exploded
  not_converged,  ///< ran its budget without meeting the stopping rule
  failed,         ///< any other run-time failure
  interrupted,    ///< stopped early on request (signal, --stop-after)
};

/// "ok", "diverged", "not_converged", "failed", "interrupted".
const char* to_string(RunStatus s);

/// How a run ended: the status and a one-line message naming where, e.g.
/// "diverged at epoch 1, batch 3: loss = inf" or "diverged: path 17 at t = 2.5" (empty for ok).
struct RunOutcome {
  RunStatus status = RunStatus::ok;
  std::string message;

  bool ok() const { return status == RunStatus::ok; }
  /// The manifest's status string (to_string(status)).
  const char* status_name() const { return to_string(status); }
};

/// A run diverged (non-finite or exploding loss / iterate). Not an InputError: the input was valid,
/// the dynamics blew up. run_main prints one line `<prog>: diverged: <what()>` and exits 1; the
/// thrower records RunStatus::diverged with the same message in the run's manifest first.
/// what() names where, e.g. "epoch 1, batch 3: loss = inf (lower the lr)" or "path 17 at t = 2.5".
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  /// The outcome this error stands for (status diverged, message what()).
  RunOutcome outcome() const { return {RunStatus::diverged, what()}; }
};

}  // namespace flatmin::common
