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

namespace detail {
/// The option `name` ("--steps") of `app` or of any of its subcommands, or nullptr.
inline const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  if (const auto* o = app.get_option_no_throw(name)) return o;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (const auto* o = find_option(*sub, name)) return o;
  }
  return nullptr;
}

/// CLI11's "Could not convert: --steps = 1e18" says neither what was expected nor why: name the type
/// (an integer option refuses exponents and points, e.g. 1e18 or 2.5).
inline std::string conversion_message(const CLI::App& app, const std::string& what) {
  const std::string prefix = "Could not convert: ";
  const auto eq = what.find(" = ");
  if (what.rfind(prefix, 0) != 0 || eq == std::string::npos) return what;
  const std::string name = what.substr(prefix.size(), eq - prefix.size());
  const std::string value = what.substr(eq + 3);
  const auto* opt = find_option(app, name);
  const std::string type = opt ? opt->get_type_name() : std::string();
  if (type == "INT" || type == "UINT") {
    return name + " = " + value + " is not an integer (write whole numbers without an exponent or a point, e.g. 1000000)";
  }
  if (type == "FLOAT") return name + " = " + value + " is not a number";
  if (type.empty()) return name + " = " + value + " is not a valid value for " + name;
  return name + " = " + value + " is not a valid " + type;
}
}  // namespace detail

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
  } catch (const CLI::ConversionError& e) {
    throw InputError(detail::conversion_message(app, e.what()));
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
