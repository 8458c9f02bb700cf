#pragma once
// Runs one of the project's executables as a user would (through the shell), for end-to-end tests
// of exit codes, one-line errors and output files. Needs FLATMIN_BIN_DIR (set for every gtest target).
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace flatmin::common::testing_support {

struct CliRun {
  int code;         ///< exit status; -1 when the process did not exit normally (a signal)
  std::string err;  ///< everything it wrote to stderr
};

/// `<FLATMIN_BIN_DIR>/<command_line>`, e.g. run_cli("flatmin --threads 1 hessian --model …", dir);
/// stdout goes to dir/stdout.txt, stderr to dir/stderr.txt (returned).
inline CliRun run_cli(const std::string& command_line, const TempDir& dir) {
  const auto err_file = dir / "stderr.txt";
  const std::string cmd = std::string(FLATMIN_BIN_DIR) + "/" + command_line + " > " + (dir / "stdout.txt").string() +
                          " 2> " + err_file.string();
  const int status = std::system(cmd.c_str());
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

}  // namespace flatmin::common::testing_support
