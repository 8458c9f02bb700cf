#pragma once
/// \file
/// JSON file input/output with user-facing error messages.

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace flatmin::common {

/// Reads and parses a JSON file. Throws InputError naming the file if it is missing, is not a
/// regular file, cannot be read, or does not parse (the message includes nlohmann's description
/// with line/column and the byte offset). Numbers too large for a double (e.g. `1e999`) are
/// rejected by nlohmann 3.11 while parsing and are reported the same way.
nlohmann::json read_json_file(const std::filesystem::path& file);

/// Parses JSON text held in memory (the parsing half of read_json_file, also the fuzzing entry point):
/// throws InputError "invalid JSON in '<where>' (byte N): ..." when it does not parse.
nlohmann::json parse_json_text(std::string_view text, const std::string& where);

/// Atomically writes `j.dump(2)` plus a trailing newline to `file` (via AtomicFile).
/// Throws std::runtime_error on I/O failure.
void write_json_atomic(const std::filesystem::path& file, const nlohmann::json& j);

/// Walks `j` and throws InputError if it contains a non-finite floating-point number.
/// The message names `where` and the JSON pointer (RFC 6901) of the first offending value in
/// iteration order (nlohmann::json objects iterate keys in sorted order), e.g.
/// `config.json: non-finite number inf at JSON pointer /optim/lr`.
void require_finite_json(const nlohmann::json& j, const std::string& where);

}  // namespace flatmin::common
