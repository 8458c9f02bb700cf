#pragma once
/// \file
/// CLI11 parsing shared by every flatmin executable: `--help` and `--version` print and return their
/// exit code (0); a parse error (unknown flag, bad value, missing required option) becomes an InputError,
/// which run_main prints as one line and maps to exit code 2. Header-only: the including target
/// links CLI11 (common/ itself does not).
#include <optional>

#include <CLI/CLI.hpp>

#include "common/error.h"

namespace flatmin::common {

/// Parses argv into `app`. Returns an exit code when the program should stop now (help), nothing
/// when it should run: `if (auto code = parse_cli(app, argc, argv)) return *code;`.
inline std::optional<int> parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {  // --version: prints, exit 0
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw InputError(e.what());
  }
  return std::nullopt;
}

}  // namespace flatmin::common
