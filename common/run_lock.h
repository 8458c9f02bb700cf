#pragma once
/// \file
/// Exclusive ownership of a resumable run folder (`flatmin train --out`, a sweep folder) and the clean-up of
/// the temporary files (`<file>.tmp.<pid>.<n>`, common/atomic_file.h) that killed writers leave behind.

#include <cstddef>
#include <filesystem>
#include <string>

namespace flatmin::common {

/// The lock file inside a locked folder (kept after the run; its content is the last holder's PID).
inline constexpr const char* kRunLockFile = ".flatmin.lock";

/// An exclusive flock(2) on `<dir>/.flatmin.lock`, held until destruction (the run's lifetime; the kernel drops
/// it when the process dies, also on kill -9, so a stale lock file never blocks a later run). The descriptor is
/// close-on-exec: child processes do not inherit the lock.
class RunLock {
 public:
  /// Creates `dir` if needed and locks it. A folder locked by another process (or by another RunLock of this
  /// process) is an InputError (exit 2): "<what> '<dir>' is in use by PID <n> (…)".
  RunLock(const std::filesystem::path& dir, const std::string& what);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  bool created_ = false;  ///< this lock created the lock file (it is removed on release)
};

/// True when `name` is an AtomicFile temporary, `<target>.tmp.<pid>.<counter>`; `pid` receives the writer's PID.
bool is_atomic_temp_name(const std::string& name, long* pid = nullptr);

/// Removes the AtomicFile temporaries directly in `dir` (not in sub-folders) left by interrupted writers: with
/// `all` every one (call it only while holding the folder's RunLock, before this process writes there), else
/// only those whose writer PID is not a live process. Returns how many were removed; never throws.
std::size_t remove_stale_temps(const std::filesystem::path& dir, bool all);

}  // namespace flatmin::common
