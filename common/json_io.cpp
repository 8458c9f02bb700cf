#include "common/json_io.h"

#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/format.h"
#include "common/nearest.h"

namespace flatmin::common {

nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(file, ec);
  FLATMIN_CHECK(std::filesystem::exists(st), "JSON file '" << file.string() << "' does not exist");
  FLATMIN_CHECK(!std::filesystem::is_directory(st), "JSON file '" << file.string() << "' is a directory");

  std::ifstream in(file, std::ios::in | std::ios::binary);
  FLATMIN_CHECK(in.is_open(), "cannot open JSON file '" << file.string() << "' for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  FLATMIN_CHECK(!in.bad() && !buffer.fail(), "cannot read JSON file '" << file.string() << "'");
  const std::string text = buffer.str();

  return parse_json_text(text, file.string());
}

nlohmann::json parse_json_text(std::string_view text, const std::string& where) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    FLATMIN_CHECK(false, "invalid JSON in '" << where << "' (byte " << e.byte << "): " << e.what());
  } catch (const nlohmann::json::exception& e) {
    FLATMIN_CHECK(false, "invalid JSON in '" << where << "': " << e.what());
  }
  return {};  // unreachable
}

void write_json_atomic(const std::filesystem::path& file, const nlohmann::json& j) {
  AtomicFile out(file);
  out.stream() << j.dump(2) << '\n';
  out.commit();
}

namespace {

/// RFC 6901 escaping of one reference token.
std::string escape_pointer_token(const std::string& key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// Depth-first search in document order; returns the pointer and value of the first non-finite number.
std::optional<std::pair<std::string, double>> find_non_finite(const nlohmann::json& j, const std::string& pointer) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v)) return std::make_pair(pointer, v);
    return std::nullopt;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (auto hit = find_non_finite(it.value(), pointer + "/" + escape_pointer_token(it.key()))) return hit;
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (auto hit = find_non_finite(j[i], pointer + "/" + std::to_string(i))) return hit;
    }
  }
  return std::nullopt;
}

}  // namespace

void require_finite_json(const nlohmann::json& j, const std::string& where) {
  if (auto hit = find_non_finite(j, "")) {
    const std::string shown = hit->first.empty() ? std::string("\"\" (document root)") : hit->first;
    FLATMIN_CHECK(false, where << ": non-finite number " << format_double(hit->second) << " at JSON pointer "
                               << shown);
  }
}

}  // namespace flatmin::common
