#include "common/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "common/error.h"

namespace flatmin::common {

namespace fs = std::filesystem;

namespace {

/// The PID recorded in an open lock file ("" when none could be read).
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char c : s) {
    if (c < '0' || c > '9') return "";
  }
  return s;
}

}  // namespace

RunLock::RunLock(const fs::path& dir, const std::string& what) : dir_(dir) {
  fs::create_directories(dir_);
  const fs::path file = dir_ / kRunLockFile;
  int lock_errno = 0;
  for (int attempt = 0;; ++attempt) {
    // O_EXCL first: a lock file this process creates is removed again when the lock is released, so that a run
    // refused for bad input (after the lock, e.g. a corrupt checkpoint) leaves the folder as it was.
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created_ = fd_ >= 0;
    if (fd_ < 0 && errno == EEXIST) fd_ = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0 && errno == ENOENT && attempt < 100) continue;  // removed by its releasing holder in between
    if (fd_ < 0) {
      throw std::runtime_error("cannot open the lock file '" + file.string() + "': " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {  // in use (or an error): reported below
      lock_errno = errno;
      break;
    }
    // Locked. The file must still be the one at `file` (its holder may have removed it while we opened it).
    struct stat held {}, now {};
    if (::fstat(fd_, &held) == 0 && ::stat(file.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      break;
    }
    ::close(fd_);
    fd_ = -1;
    if (attempt >= 100) throw std::runtime_error("cannot lock '" + file.string() + "': it keeps being replaced");
  }
  if (lock_errno != 0) {
    const int err = lock_errno;
    const std::string pid = holder_pid(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      throw InputError(what + " '" + dir_.string() + "' is in use by " + (pid.empty() ? "another process" : "PID " + pid) +
                       " (" + file.string() + "); wait for it to end or choose another folder");
    }
    throw std::runtime_error("cannot lock '" + file.string() + "': " + std::strerror(err));
  }
  const std::string me = std::to_string(static_cast<long long>(::getpid())) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // the lock is held all the same; only the holder's PID in messages to others is missing
  }
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  if (created_) ::unlink((dir_ / kRunLockFile).c_str());  // still held: a waiter re-checks the path after locking
  ::close(fd_);  // releases the flock
}

bool is_atomic_temp_name(const std::string& name, long* pid) {
  // <target>.tmp.<digits>.<digits>
  const size_t last_dot = name.rfind('.');
  if (last_dot == std::string::npos || last_dot == 0 || last_dot + 1 == name.size()) return false;
  for (size_t i = last_dot + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  const size_t pid_dot = name.rfind('.', last_dot - 1);
  if (pid_dot == std::string::npos || pid_dot + 1 == last_dot) return false;
  for (size_t i = pid_dot + 1; i < last_dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  constexpr std::string_view tag = ".tmp";
  if (pid_dot < tag.size() + 1 || name.compare(pid_dot - tag.size(), tag.size(), tag) != 0) return false;
  if (pid) *pid = std::stol(name.substr(pid_dot + 1, last_dot - pid_dot - 1));
  return true;
}

std::size_t remove_stale_temps(const fs::path& dir, bool all) {
  std::size_t removed = 0;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (!it->is_regular_file(e2)) continue;
    long pid = 0;
    if (!is_atomic_temp_name(it->path().filename().string(), &pid)) continue;
    if (!all) {
      const bool alive = pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
      if (alive) continue;
    }
    if (fs::remove(it->path(), e2)) ++removed;
  }
  return removed;
}

}  // namespace flatmin::common
