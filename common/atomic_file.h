#pragma once
/// \file
/// Crash-safe output files: content is written to a temporary sibling file and renamed over the
/// target only on commit(), so readers never observe a partially written result.

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace flatmin::common {

/// One line for a failed write of `file` with errno `err`: "cannot write '<file>': no space left on device"
/// (ENOSPC), "…: file too large (the file size limit, ulimit -f, was reached)" (EFBIG), else strerror's text.
std::string write_error_message(const std::filesystem::path& file, int err);

/// The buffer under AtomicFile::stream(): write(2) on a descriptor, keeping the first errno (a failed write
/// sets the stream's badbit; later writes are dropped).
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd);
  /// The first write error (0 when none).
  int error() const { return err_; }
  /// Writes n bytes at once (after the buffered ones); false (and error() set) on failure.
  bool write_all(const char* data, std::size_t n);

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  bool drain();
  int fd_;
  int err_ = 0;
  char buf_[1 << 16];
};

/// A file that appears at its target path atomically, or not at all.
///
/// The constructor creates missing parent directories and opens `<target>.tmp.<pid>.<counter>` in
/// the target's directory (same file system, so the final rename is atomic). commit() flushes,
/// verifies the stream, fsyncs and renames the temporary over the target. If the object is
/// destroyed without a successful commit() (early return, exception), the temporary is removed
/// and the target is left untouched. A failed write (ENOSPC, EFBIG, …) makes commit() throw
/// std::runtime_error with write_error_message(target, errno): one line naming the target.
class AtomicFile {
 public:
  /// Opens the temporary file. Throws std::runtime_error (std::filesystem::filesystem_error for
  /// directory creation) if the temporary cannot be created.
  explicit AtomicFile(std::filesystem::path target);
  /// Removes the temporary file unless commit() succeeded. Never throws.
  ~AtomicFile();

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile(AtomicFile&&) = delete;
  AtomicFile& operator=(AtomicFile&&) = delete;

  /// Stream writing to the temporary file (binary mode, no newline translation).
  std::ostream& stream();
  /// A writer function for LibTorch's save_to(func) / jit::ExportModule(module, func): writes through stream()
  /// and always reports success, so that LibTorch never throws (from a destructor) on a full disk; the
  /// error is kept and commit() reports it.
  std::function<std::size_t(const void*, std::size_t)> writer();
  /// Throws the commit() error now if a write has already failed (for long writers that should stop early).
  void check() const;

  /// Flushes, checks for write errors, fsyncs and renames the temporary over the target.
  /// Throws std::runtime_error on any failure (the temporary is then removed by the destructor)
  /// and std::logic_error if called twice.
  void commit();

  /// Final path of the file.
  const std::filesystem::path& target() const { return target_; }
  /// Path of the temporary file (exists until commit() or destruction).
  const std::filesystem::path& temp_path() const { return temp_; }
  /// True once commit() has succeeded.
  bool committed() const { return committed_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::unique_ptr<FdStreamBuf> buf_;
  std::unique_ptr<std::ostream> out_;
  bool committed_ = false;
};

/// Atomically replaces `target` with `content` (via AtomicFile).
void write_text_atomic(const std::filesystem::path& target, std::string_view content);

}  // namespace flatmin::common
