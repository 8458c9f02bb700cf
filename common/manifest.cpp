#include "common/manifest.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <Eigen/Core>
#include <boost/version.hpp>
#if __has_include(<Spectra/Util/Version.h>)
#include <Spectra/Util/Version.h>
#define FLATMIN_HAVE_SPECTRA_VERSION 1
#endif

#include "common/json_io.h"
#include "common/version.h"

#ifndef FLATMIN_VERSION
#define FLATMIN_VERSION "unknown"
#endif
#ifndef FLATMIN_GIT_SHA
#define FLATMIN_GIT_SHA "unknown"
#endif
#ifndef FLATMIN_SOURCE_DIR
#define FLATMIN_SOURCE_DIR ""
#endif
#ifndef FLATMIN_BUILD_TYPE
#define FLATMIN_BUILD_TYPE "unknown"
#endif

namespace flatmin::common {

std::string flatmin_version() { return FLATMIN_VERSION; }

std::string version_text(const std::string& program, const std::string& libtorch) {
  const auto m = Manifest("version", {}).to_json();
  std::string sha = m.at("git_sha").get<std::string>();
  if (m.at("git_dirty").is_boolean() && m.at("git_dirty").get<bool>()) sha += " (dirty)";
  return program + " " + flatmin_version() + "\ngit sha: " + sha +
         "\nlibtorch: " + (libtorch.empty() ? std::string("not linked (LibTorch-free)") : libtorch) +
         "\nbuild type: " + m.at("build_type").get<std::string>();
}

namespace {

std::string iso8601_utc(std::chrono::system_clock::time_point tp) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  long millis = static_cast<long>(ms % 1000);
  if (millis < 0) {  // before 1970: keep the fraction positive
    millis += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> date{};
  std::strftime(date.data(), date.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 48> out{};
  std::snprintf(out.data(), out.size(), "%s.%03ldZ", date.data(), millis);
  return out.data();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

/// Runs a shell command, returns its stdout if it exits with status 0 (stderr is discarded).
std::optional<std::string> capture_command(const std::string& command) {
  const std::string full = command + " 2>/dev/null";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string output;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return output;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

/// True for a (possibly abbreviated) hex object name; rejects e.g. the literal "HEAD" that
/// `git rev-parse HEAD` prints in a repository without commits.
bool looks_like_sha(const std::string& s) {
  if (s.size() < 7 || s.size() > 64) return false;
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string compiler_id() {
#if defined(__clang__)
  return __VERSION__;  // already names the compiler ("Debian Clang 14.0.6 ...")
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return __VERSION__;
#endif
}

std::string hostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

const std::array<const char*, 19> kReservedKeys = {
    "command",    "argv",        "status",         "message",    "start_time", "end_time", "wall_time_s",
    "flatmin_version", "git_sha", "git_dirty",     "git_sha_source", "build_type", "compiler", "hostname",
    "libraries",  "seeds",       "config",         "schema",     "cwd"};

}  // namespace

Manifest::Manifest(std::string command, std::vector<std::string> argv)
    : command_(std::move(command)),
      argv_(std::move(argv)),
      start_time_(iso8601_utc(std::chrono::system_clock::now())),
      start_steady_(std::chrono::steady_clock::now()),
      hostname_(hostname()) {
  std::error_code ec;
  cwd_ = std::filesystem::current_path(ec).string();
  const std::string source_dir = FLATMIN_SOURCE_DIR;
  std::optional<std::string> sha;
  if (!source_dir.empty()) {
    const std::string git = "git -C " + shell_quote(source_dir) + " ";
    sha = capture_command(git + "rev-parse HEAD");
    if (sha) sha = trim(*sha);
    if (const auto porcelain = capture_command(git + "status --porcelain")) {
      git_dirty_ = !trim(*porcelain).empty();
    }
  }
  if (sha && looks_like_sha(*sha)) {
    git_sha_ = *sha;
    git_sha_source_ = "runtime";
  } else {
    const std::string configured = trim(FLATMIN_GIT_SHA);
    git_sha_ = looks_like_sha(configured) ? configured : "unknown";
    git_sha_source_ = "configure";
  }

  libraries_["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                        std::to_string(EIGEN_MINOR_VERSION);
  libraries_["boost"] = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
                        "." + std::to_string(BOOST_VERSION % 100);
  libraries_["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                                std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                                std::to_string(NLOHMANN_JSON_VERSION_PATCH);
#ifdef FLATMIN_HAVE_SPECTRA_VERSION
  libraries_["spectra"] = std::to_string(SPECTRA_MAJOR_VERSION) + "." + std::to_string(SPECTRA_MINOR_VERSION) + "." +
                          std::to_string(SPECTRA_PATCH_VERSION);
#endif
}

void Manifest::set_config(nlohmann::json resolved) { config_ = std::move(resolved); }

void Manifest::set_seed(const std::string& name, std::uint64_t seed) { seeds_[name] = seed; }

void Manifest::set_library_version(const std::string& name, const std::string& version) {
  libraries_[name] = version;
}

void Manifest::set_field(const std::string& key, nlohmann::json value) {
  for (const char* reserved : kReservedKeys) {
    if (key == reserved) throw std::invalid_argument("Manifest::set_field: '" + key + "' is a reserved key");
  }
  fields_[key] = std::move(value);
}

void Manifest::finish(RunStatus status, const std::string& message) {
  end_time_ = iso8601_utc(std::chrono::system_clock::now());
  wall_time_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_steady_).count();
  status_ = to_string(status);
  message_ = message;
  finished_ = true;
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json j = fields_;
  j["schema"] = "flatmin.manifest/1";
  j["command"] = command_;
  j["argv"] = argv_;
  j["status"] = status_;
  j["message"] = message_;
  j["start_time"] = start_time_;
  j["end_time"] = finished_ ? nlohmann::json(end_time_) : nlohmann::json();
  j["wall_time_s"] = finished_ ? nlohmann::json(wall_time_s_) : nlohmann::json();
  j["flatmin_version"] = FLATMIN_VERSION;
  j["git_sha"] = git_sha_;
  j["git_dirty"] = git_dirty_;
  j["git_sha_source"] = git_sha_source_;
  j["build_type"] = FLATMIN_BUILD_TYPE;
  j["compiler"] = compiler_id();
  j["hostname"] = hostname_;
  j["cwd"] = cwd_;
  j["libraries"] = libraries_;
  j["seeds"] = seeds_;
  j["config"] = config_;
  return j;
}

void Manifest::write(const std::filesystem::path& file) const { write_json_atomic(file, to_json()); }

}  // namespace flatmin::common
