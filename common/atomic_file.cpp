#include "common/atomic_file.h"
#include "common/temp_cleanup.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>
#include <stdexcept>
#include <string>
#include <system_error>

namespace flatmin::common {

namespace {

std::atomic<std::uint64_t> g_temp_counter{0};

std::string errno_text(int err) { return std::system_category().message(err); }

/// fsync(2) on `path`; throws std::runtime_error with `what` context on failure.
void fsync_path(const std::filesystem::path& path, int flags, bool required) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    if (!required) return;
    throw std::runtime_error("cannot reopen '" + path.string() + "' for fsync: " + errno_text(errno));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && required) {
    throw std::runtime_error("fsync of '" + path.string() + "' failed: " + errno_text(err));
  }
}

constexpr int kTrackedSlots = 64;
constexpr std::size_t kTrackedPathMax = 4096;
char g_tracked_path[kTrackedSlots][kTrackedPathMax];
std::atomic<int> g_tracked_state[kTrackedSlots];  // 0 free, 1 being written, 2 tracked

extern "C" void flatmin_remove_temps_and_die(int sig) {
  for (int i = 0; i < kTrackedSlots; ++i) {
    if (g_tracked_state[i].load(std::memory_order_acquire) == 2) ::unlink(g_tracked_path[i]);  // async-signal-safe
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void track_temp(const char* path) {
  const std::size_t n = std::strlen(path);
  if (n >= kTrackedPathMax) return;
  for (int i = 0; i < kTrackedSlots; ++i) {
    int expected = 0;
    if (g_tracked_state[i].compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      std::memcpy(g_tracked_path[i], path, n + 1);
      g_tracked_state[i].store(2, std::memory_order_release);
      return;
    }
  }
}

void untrack_temp(const char* path) {
  for (int i = 0; i < kTrackedSlots; ++i) {
    if (g_tracked_state[i].load(std::memory_order_acquire) == 2 && std::strcmp(g_tracked_path[i], path) == 0) {
      int expected = 2;
      if (g_tracked_state[i].compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        g_tracked_path[i][0] = '\0';
        g_tracked_state[i].store(0, std::memory_order_release);
        return;
      }
    }
  }
}

void remove_temps_on_termination_signals() {
  for (const int sig : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;  // keep SIG_IGN (nohup) and handlers
    struct sigaction sa {};
    sa.sa_handler = flatmin_remove_temps_and_die;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
}

std::string write_error_message(const std::filesystem::path& file, int err) {
  std::string why;
  switch (err) {
    case ENOSPC: why = "no space left on device"; break;
    case EFBIG: why = "file too large (the file size limit, ulimit -f, was reached)"; break;
    case EDQUOT: why = "disk quota exceeded"; break;
    case 0: why = "write failed"; break;
    default: {
      why = errno_text(err);
      if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    }
  }
  return "cannot write '" + file.string() + "': " + why;
}

// ---- FdStreamBuf -----------------------------------------------------------------------------------------

FdStreamBuf::FdStreamBuf(int fd) : fd_(fd) { setp(buf_, buf_ + sizeof buf_); }

bool FdStreamBuf::write_all(const char* data, std::size_t n) {
  if (err_ != 0) return false;
  while (n > 0) {
    const ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err_ = errno;
      return false;
    }
    if (w == 0) {  // no progress: treat as a full device
      err_ = ENOSPC;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool FdStreamBuf::drain() {
  const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
  setp(buf_, buf_ + sizeof buf_);
  return n == 0 || write_all(buf_, n);
}

FdStreamBuf::int_type FdStreamBuf::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  return c;
}

std::streamsize FdStreamBuf::xsputn(const char* s, std::streamsize n) {
  if (err_ != 0) return 0;
  const std::streamsize room = epptr() - pptr();
  if (n <= room) {
    std::memcpy(pptr(), s, static_cast<std::size_t>(n));
    pbump(static_cast<int>(n));
    return n;
  }
  if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;
  return n;
}

int FdStreamBuf::sync() { return drain() ? 0 : -1; }

// ---- AtomicFile ------------------------------------------------------------------------------------------

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (target_.empty()) throw std::runtime_error("AtomicFile: empty target path");
  const std::filesystem::path parent = target_.parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);

  const std::uint64_t counter = g_temp_counter.fetch_add(1, std::memory_order_relaxed);
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." + std::to_string(counter);

  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOSPC || err == EDQUOT) throw std::runtime_error(write_error_message(target_, err));
    throw std::runtime_error("cannot create temporary file '" + temp_.string() + "' for '" +
                             target_.string() + "': " + errno_text(err));
  }
  track_temp(temp_.c_str());  // removed if SIGTERM/SIGINT/SIGHUP ends the process (run_main)
  buf_ = std::make_unique<FdStreamBuf>(fd_);
  out_ = std::make_unique<std::ostream>(buf_.get());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (committed_) return;
  std::error_code ec;
  std::filesystem::remove(temp_, ec);  // best effort; never throw from a destructor
  untrack_temp(temp_.c_str());
}

std::ostream& AtomicFile::stream() { return *out_; }

std::function<std::size_t(const void*, std::size_t)> AtomicFile::writer() {
  return [this](const void* data, std::size_t n) -> std::size_t {
    out_->write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    return n;  // a failure is kept in buf_ and reported by commit()
  };
}

void AtomicFile::check() const {
  if (buf_ && buf_->error() != 0) throw std::runtime_error(write_error_message(target_, buf_->error()));
}

void AtomicFile::commit() {
  if (committed_) throw std::logic_error("AtomicFile::commit called twice for '" + target_.string() + "'");
  if (fd_ < 0) throw std::runtime_error("AtomicFile: temporary for '" + target_.string() + "' is not open");

  out_->flush();
  check();
  if (!*out_) throw std::runtime_error(write_error_message(target_, 0));
  if (::fsync(fd_) != 0) {  // a delayed write error (ENOSPC on NFS, …) surfaces here
    const int err = errno;
    if (err != EINVAL && err != EROFS) throw std::runtime_error(write_error_message(target_, err));
  }
  if (::close(fd_) != 0) {
    const int err = errno;
    fd_ = -1;
    throw std::runtime_error(write_error_message(target_, err));
  }
  fd_ = -1;

  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw std::runtime_error("cannot rename '" + temp_.string() + "' to '" + target_.string() +
                             "': " + errno_text(errno));
  }
  committed_ = true;
  untrack_temp(temp_.c_str());

  // Persist the directory entry too (best effort: some file systems refuse fsync on directories).
  std::filesystem::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  fsync_path(dir, O_RDONLY | O_DIRECTORY, /*required=*/false);
}

void write_text_atomic(const std::filesystem::path& target, std::string_view content) {
  AtomicFile file(target);
  file.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  file.commit();
}

}  // namespace flatmin::common
