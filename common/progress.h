#pragma once
/// \file
/// Rate-limited progress reporting for long loops (terminal or log file).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iostream>
#include <ostream>
#include <string>

namespace flatmin::common {

/// Progress line `label: 45/100 (45.0%) elapsed 12.3s ETA 15.0s`.
///
/// On a terminal the line is redrawn in place with '\r' at most every tty_interval_s (0.2 s);
/// otherwise (log files, pipes) a full line is printed at most every `non_tty_interval_s`
/// seconds, the first one no earlier than `non_tty_interval_s` after construction. finish() prints
/// the final line (without ETA) exactly once. The ETA extrapolates the mean rate since
/// construction; it shows `?` before any progress or elapsed time. With `total <= 0` the total is unknown and only
/// the count and elapsed time are shown. A null `os` disables all output.
class Progress {
 public:
  /// Monotonic time source in seconds (the origin is arbitrary).
  using Clock = std::function<double()>;

  /// Redraw interval on a terminal, in seconds.
  static constexpr double tty_interval_s = 0.2;

  /// Uses std::chrono::steady_clock; terminal mode iff `os` is &std::cerr and isatty(2).
  Progress(std::string label, std::int64_t total, double non_tty_interval_s = 10.0, std::ostream* os = &std::cerr);

  /// Fully injectable variant (tests): explicit clock and terminal mode.
  Progress(std::string label, std::int64_t total, double non_tty_interval_s, std::ostream* os, Clock clock, bool tty);

  /// Terminates a half-drawn terminal line with '\n' if finish() was not called. Never throws.
  ~Progress();

  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Records that `done` items are complete and prints if the rate limit allows. No-op after finish().
  void update(std::int64_t done);
  /// Prints the final line once (later calls do nothing).
  void finish();

  /// The progress line for `done` items after `elapsed_s` seconds (with ETA if `with_eta`).
  std::string format_line(std::int64_t done, double elapsed_s, bool with_eta = true) const;

  /// Whether terminal (in-place redraw) mode is active.
  bool tty() const { return tty_; }
  /// Number of times a line has been emitted (redraws included).
  std::size_t lines_printed() const { return lines_printed_; }

 private:
  void emit(const std::string& line, bool final_line);

  std::string label_;
  std::int64_t total_;
  double non_tty_interval_s_;
  std::ostream* os_;
  Clock clock_;
  bool tty_;
  double start_;
  double last_print_;
  bool printed_any_ = false;
  bool finished_ = false;
  std::int64_t done_ = 0;
  std::size_t last_len_ = 0;
  std::size_t lines_printed_ = 0;
};

}  // namespace flatmin::common
