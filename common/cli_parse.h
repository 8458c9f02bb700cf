#pragma once
/// \file
/// CLI11 parsing shared by every flatmin executable: `--help` and `--version` print and return their
/// exit code (0); a parse error (unknown flag, bad value, missing required option) becomes an InputError,
/// which run_main prints as one line and maps to exit code 2. Header-only: the including target
/// links CLI11 (common/ itself does not).
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/nearest.h"

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
    // "A subcommand is required" for a mistyped subcommand: name the word and the nearest subcommand
    std::vector<std::string> names;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
    bool any_parsed = false;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) any_parsed = any_parsed || sub->parsed();
    if (!names.empty() && !any_parsed) {
      for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a.rfind("-", 0) == 0) {  // an option of the executable: skip its value
          const auto* opt = app.get_option_no_throw(a.substr(0, a.find('=')));
          if (opt && a.find('=') == std::string::npos && opt->get_type_size() > 0) ++i;
          continue;
        }
        throw InputError(unknown_name_message("subcommand", a, names));
      }
    }
    throw InputError(e.what());
  }
  return std::nullopt;
}

}  // namespace flatmin::common
