#pragma once
/// \file
/// Error categories shared by all flatmin executables and the `run_main` wrapper that maps them
/// to process exit codes (InputError -> 2, DivergedError (common/status.h) and any other exception -> 1).

#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flatmin::common {

/// Bad user input: invalid configuration value or command-line option, missing input file,
/// unparsable file, non-finite number where a finite one is required. The CLI maps it to exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input of the wrong type (a string where a number belongs, …): an InputError (exit 2) that the
/// Python bindings raise as TypeError rather than ValueError.
class InputTypeError : public InputError {
 public:
  using InputError::InputError;
};

/// Runs `body` and converts exceptions to exit codes.
///
/// - returns whatever `body` returns if it does not throw;
/// - InputError: prints exactly one line `<prog>: error: <msg>` to stderr and returns 2;
/// - common::DivergedError (common/status.h; a run-time outcome, not bad input): prints exactly one
///   line `<prog>: diverged: <msg>` and returns 1;
/// - any other std::exception: prints exactly one line `<prog>: fatal: <msg>` and returns 1;
/// - anything else thrown: prints `<prog>: fatal: unknown exception` and returns 1.
///
/// Newlines inside the message are replaced by spaces so that the report is always one line.
int run_main(const std::string& prog, const std::function<int()>& body);

/// Returns `msg` with every CR/LF replaced by a space (used by run_main; exposed for reuse).
std::string single_line(std::string msg);

}  // namespace flatmin::common

/// Throws flatmin::common::InputError with a streamed message unless `cond` holds.
/// `msg` is a stream expression: `FLATMIN_CHECK(k > 0, "kappa = " << k << " violates 0 < kappa <= 1");`
#define FLATMIN_CHECK(cond, msg)                                           \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::ostringstream flatmin_check_stream_;                            \
      flatmin_check_stream_ << msg;                                        \
      throw ::flatmin::common::InputError(flatmin_check_stream_.str());    \
    }                                                                      \
  } while (false)
