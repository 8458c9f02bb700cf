#include "common/output_path.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace flatmin::common {
namespace fs = std::filesystem;

namespace {

bool under_pseudo_fs(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) return false;
  abs = abs.lexically_normal();
  auto it = abs.begin();
  if (it == abs.end()) return false;
  ++it;  // root "/"
  if (it == abs.end()) return false;
  return *it == "proc" || *it == "sys";
}

[[noreturn]] void fail(const std::string& flag, const std::string& path, const std::string& why) {
  throw InputError(flag + " " + path + ": " + why);
}

}  // namespace

void check_output_dir(const std::string& path, const std::string& flag) {
  FLATMIN_CHECK(!path.empty(), flag << ": empty path");
  if (under_pseudo_fs(path)) fail(flag, path, "is under /proc or /sys, not a place for output");
  fs::path p(path);
  std::error_code ec;
  // Walk up to the nearest existing ancestor; every existing component must be a folder.
  fs::path cur = p;
  bool is_self = true;
  while (true) {
    const auto st = fs::status(cur, ec);
    if (st.type() == fs::file_type::not_found || ec) {
      const fs::path parent = cur.has_parent_path() ? cur.parent_path() : fs::path(".");
      if (parent == cur) fail(flag, path, "cannot be created");
      cur = parent.empty() ? fs::path(".") : parent;
      is_self = false;
      continue;
    }
    if (st.type() != fs::file_type::directory) {
      if (is_self) fail(flag, path, "is a file, expected a folder");
      fail(flag, path, "cannot be created: " + cur.string() + " is a file, not a folder");
    }
    if (::access(cur.c_str(), W_OK | X_OK) != 0) {
      if (is_self) fail(flag, path, "is not writable");
      fail(flag, path, "cannot be created: " + cur.string() + " is not writable");
    }
    return;
  }
}

void check_output_file(const std::string& path, const std::string& flag) {
  FLATMIN_CHECK(!path.empty(), flag << ": empty path");
  if (under_pseudo_fs(path)) fail(flag, path, "is under /proc or /sys, not a place for output");
  const fs::path p(path);
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (st.type() == fs::file_type::directory) fail(flag, path, "is a folder, expected a file");
  if (st.type() != fs::file_type::not_found && !ec && st.type() == fs::file_type::regular &&
      ::access(p.c_str(), W_OK) != 0) {
    fail(flag, path, "is not writable");
  }
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  try {
    check_output_dir(parent.string(), flag);
  } catch (const InputError&) {
    // Re-check to name the file rather than the parent folder.
    const auto pst = fs::status(parent, ec);
    if (pst.type() != fs::file_type::not_found && pst.type() != fs::file_type::directory)
      fail(flag, path, "cannot be written: " + parent.string() + " is a file, not a folder");
    fail(flag, path, "cannot be written: its folder " + parent.string() + " cannot be created or is not writable");
  }
}

void check_file_label(const std::string& label, const std::string& what, const std::string& names) {
  const bool safe_chars = std::all_of(label.begin(), label.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
           ch == '-' || ch == '+';
  });
  FLATMIN_CHECK(!label.empty() && label.size() <= 100 && safe_chars && label != "." && label != "..",
                what << " " << nlohmann::json(label).dump()
                     << " must be 1 to 100 characters of [A-Za-z0-9._+-], not '.' or '..' (it names " << names << ")");
}

}  // namespace flatmin::common
