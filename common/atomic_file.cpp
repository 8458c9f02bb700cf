#include "common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
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

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (target_.empty()) throw std::runtime_error("AtomicFile: empty target path");
  const std::filesystem::path parent = target_.parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);

  const std::uint64_t counter = g_temp_counter.fetch_add(1, std::memory_order_relaxed);
  temp_ = target_;
  temp_ += ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." + std::to_string(counter);

  out_.open(temp_, std::ios::out | std::ios::binary | std::ios::trunc);
  if (!out_.is_open()) {
    throw std::runtime_error("cannot create temporary file '" + temp_.string() + "' for '" +
                             target_.string() + "': " + errno_text(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (out_.is_open()) out_.close();
  std::error_code ec;
  std::filesystem::remove(temp_, ec);  // best effort; never throw from a destructor
}

std::ostream& AtomicFile::stream() { return out_; }

void AtomicFile::commit() {
  if (committed_) throw std::logic_error("AtomicFile::commit called twice for '" + target_.string() + "'");
  if (!out_.is_open()) throw std::runtime_error("AtomicFile: temporary for '" + target_.string() + "' is not open");

  out_.flush();
  if (!out_) throw std::runtime_error("write to '" + temp_.string() + "' failed");
  out_.close();
  if (out_.fail()) throw std::runtime_error("closing '" + temp_.string() + "' failed");

  fsync_path(temp_, O_RDONLY, /*required=*/true);

  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    throw std::runtime_error("cannot rename '" + temp_.string() + "' to '" + target_.string() +
                             "': " + errno_text(errno));
  }
  committed_ = true;

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
