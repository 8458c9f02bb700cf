#pragma once
/// \file
/// Crash-safe output files: content is written to a temporary sibling file and renamed over the
/// target only on commit(), so readers never observe a partially written result.

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string_view>

namespace flatmin::common {

/// A file that appears at its target path atomically, or not at all.
///
/// The constructor creates missing parent directories and opens `<target>.tmp.<pid>.<counter>` in
/// the target's directory (same file system, so the final rename is atomic). commit() flushes,
/// verifies the stream, fsyncs and renames the temporary over the target. If the object is
/// destroyed without a successful commit() (early return, exception), the temporary is removed
/// and the target is left untouched.
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
  std::ofstream out_;
  bool committed_ = false;
};

/// Atomically replaces `target` with `content` (via AtomicFile).
void write_text_atomic(const std::filesystem::path& target, std::string_view content);

}  // namespace flatmin::common
