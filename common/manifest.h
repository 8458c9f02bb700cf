#pragma once
/// \file
/// Run manifest: the provenance record (`manifest.json`) written next to every result.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::common {

/// flatmin's version string (CMake PROJECT_VERSION baked in at compile time).
std::string flatmin_version();

/// Provenance record of one run.
///
/// Filled automatically at construction: start time (ISO-8601 UTC), flatmin version, git SHA and
/// dirty flag of the source tree (queried at run time with `git -C <source dir>`; falls back to
/// the SHA recorded at configure time, with `git_sha_source` telling which; "unknown" if neither
/// is a valid SHA, e.g. before the first commit), build type, compiler ("GCC " + __VERSION__),
/// host name, working directory and the versions of Eigen, Boost, nlohmann_json and (if its
/// header is visible) Spectra. Callers add the resolved configuration, seeds, further library
/// versions (LibTorch) and free-form fields, then call finish() and write().
///
/// JSON layout (top-level keys): schema ("flatmin.manifest/1"), command, argv, cwd, status
/// ("running" until finish()), message, start_time, end_time and wall_time_s (null until
/// finish()), flatmin_version, git_sha, git_dirty (bool, or null if git is unavailable),
/// git_sha_source ("runtime" | "configure"), build_type, compiler, hostname,
/// libraries {name: version}, seeds {name: uint64}, config (null until set_config()), plus every
/// key given to set_field().
class Manifest {
 public:
  /// Records the start time and collects the automatic fields (runs git once or twice).
  Manifest(std::string command, std::vector<std::string> argv);

  /// Stores the fully resolved configuration (replaces any previous one).
  void set_config(nlohmann::json resolved);
  /// Records a named random seed (replaces a previous value of the same name).
  void set_seed(const std::string& name, std::uint64_t seed);
  /// Records (or overrides) a library version under `libraries.<name>`.
  void set_library_version(const std::string& name, const std::string& version);
  /// Adds a free-form top-level field. Throws std::invalid_argument if `key` is one of the
  /// reserved keys listed in the class comment.
  void set_field(const std::string& key, nlohmann::json value);
  /// Records the end time, wall time and final status. May be called again to overwrite.
  void finish(const std::string& status = "ok", const std::string& message = "");

  /// True once finish() has been called.
  bool finished() const { return finished_; }
  /// The manifest as JSON.
  nlohmann::json to_json() const;
  /// Atomically writes to_json() to `file` (pretty-printed, via write_json_atomic).
  void write(const std::filesystem::path& file) const;

 private:
  std::string command_;
  std::vector<std::string> argv_;
  std::string start_time_;
  std::chrono::steady_clock::time_point start_steady_;
  std::string end_time_;
  double wall_time_s_ = 0.0;
  bool finished_ = false;
  std::string status_ = "running";
  std::string message_;
  std::string git_sha_;
  std::string git_sha_source_;
  nlohmann::json git_dirty_;  // bool, or null when git is unavailable
  std::string hostname_;
  std::string cwd_;
  nlohmann::json libraries_ = nlohmann::json::object();
  nlohmann::json seeds_ = nlohmann::json::object();
  nlohmann::json config_;  // null until set_config()
  nlohmann::json fields_ = nlohmann::json::object();
};

}  // namespace flatmin::common
