#include "common/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <utility>

namespace flatmin::common {

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fixed1(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

}  // namespace

Progress::Progress(std::string label, std::int64_t total, double non_tty_interval_s, std::ostream* os)
    : Progress(std::move(label), total, non_tty_interval_s, os, &steady_seconds,
               os == &std::cerr && ::isatty(STDERR_FILENO) == 1) {}

Progress::Progress(std::string label, std::int64_t total, double non_tty_interval_s, std::ostream* os, Clock clock,
                   bool tty)
    : label_(std::move(label)),
      total_(total),
      non_tty_interval_s_(non_tty_interval_s),
      os_(os),
      clock_(std::move(clock)),
      tty_(tty) {
  if (!clock_) throw std::invalid_argument("Progress: empty clock");
  if (!(non_tty_interval_s_ >= 0.0)) throw std::invalid_argument("Progress: negative or NaN print interval");
  start_ = clock_();
  // Terminal: draw on the first update. Log: first line after one full interval.
  last_print_ = tty_ ? -std::numeric_limits<double>::infinity() : start_;
}

Progress::~Progress() {
  if (os_ != nullptr && tty_ && printed_any_ && !finished_) {
    try {
      *os_ << '\n' << std::flush;
    } catch (...) {  // destructor must not throw
    }
  }
}

std::string Progress::format_line(std::int64_t done, double elapsed_s, bool with_eta) const {
  std::string line = label_ + ": " + std::to_string(done);
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
    line += "/" + std::to_string(total_) + " (" + fixed1(pct) + "%)";
  }
  line += " elapsed " + fixed1(elapsed_s) + "s";
  if (with_eta && total_ > 0) {
    if (done <= 0 || !(elapsed_s > 0.0)) {  // no rate information yet
      line += " ETA ?";
    } else {
      const double remaining = static_cast<double>(total_ - done);
      const double eta = remaining > 0 ? elapsed_s * remaining / static_cast<double>(done) : 0.0;
      line += " ETA " + fixed1(eta) + "s";
    }
  }
  return line;
}

void Progress::emit(const std::string& line, bool final_line) {
  if (os_ == nullptr) return;
  if (tty_) {
    std::string out = "\r" + line;
    if (line.size() < last_len_) out.append(last_len_ - line.size(), ' ');  // erase the longer old line
    if (final_line) out.push_back('\n');
    *os_ << out << std::flush;
    last_len_ = line.size();
  } else {
    *os_ << line << '\n' << std::flush;
  }
  printed_any_ = true;
  ++lines_printed_;
}

void Progress::update(std::int64_t done) {
  if (finished_) return;
  done_ = done;
  const double now = clock_();
  const double interval = tty_ ? tty_interval_s : non_tty_interval_s_;
  if (now - last_print_ < interval) return;
  last_print_ = now;
  emit(format_line(done_, now - start_), /*final_line=*/false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  const double now = clock_();
  emit(format_line(done_, now - start_, /*with_eta=*/false), /*final_line=*/true);
}

}  // namespace flatmin::common
