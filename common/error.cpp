#include "common/error.h"
#include "common/library_error.h"

#include <csignal>
#include <exception>
#include <iostream>
#include <vector>

#include "common/status.h"
#include "common/temp_cleanup.h"

namespace flatmin::common {

std::string single_line(std::string msg) {
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return msg;
}

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string short_library_error(const std::string& what, std::size_t max_chars) {
  std::string m = what;
  // the C++ backtrace of a c10::Error (and anything after it)
  for (const char* cut : {"Exception raised from ", "frame #0", "(most recent call first)"}) {
    if (const auto p = m.find(cut); p != std::string::npos) m.erase(p);
  }
  // split into lines; a TorchScript interpreter report keeps its "SomethingError: message" line
  std::vector<std::string> lines;
  for (std::size_t b = 0; b <= m.size();) {
    auto e = m.find('\n', b);
    if (e == std::string::npos) e = m.size();
    if (auto l = trim(m.substr(b, e - b)); !l.empty()) lines.push_back(std::move(l));
    b = e + 1;
  }
  std::string line;
  for (auto it = lines.rbegin(); it != lines.rend() && line.empty(); ++it) {  // the last "…Error: message" line
    const auto p = it->find("Error: ");
    if (p != std::string::npos && p > 0 && it->find(' ') > p) line = it->substr(p + 7);  // without "RuntimeError: "
  }
  if (line.empty() && !lines.empty()) line = lines.front();
  // collapse runs of whitespace
  std::string out;
  for (char c : line) {
    if (c == '\t' || c == '\r') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  out = trim(out);
  if (out.empty()) return "unknown error";
  if (out.size() > max_chars) {
    auto p = out.rfind(' ', max_chars);
    if (p == std::string::npos || p < max_chars / 2) p = max_chars;
    // do not split a UTF-8 sequence
    while (p > 0 && (static_cast<unsigned char>(out[p]) & 0xC0) == 0x80) --p;
    out = trim(out.substr(0, p)) + "…";
  }
  return out;
}

namespace {

void report(const std::string& prog, const char* kind, const std::string& msg) {
  std::cout.flush();  // keep ordering sane when stdout and stderr share a terminal
  std::cerr << prog << ": " << kind << ": " << single_line(msg) << '\n';
  std::cerr.flush();
}

}  // namespace

int run_main(const std::string& prog, const std::function<int()>& body) {
  // A write beyond the file size limit (ulimit -f) then fails with EFBIG, which AtomicFile reports as one line,
  // instead of killing the process silently with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  remove_temps_on_termination_signals();  // SIGTERM/SIGINT/SIGHUP mid-write leave no *.tmp.* behind
  try {
    return body();
  } catch (const InputError& e) {
    report(prog, "error", e.what());
    return 2;
  } catch (const DivergedError& e) {
    report(prog, "diverged", e.what());
    return 1;
  } catch (const std::exception& e) {
    report(prog, "fatal", e.what());
    return 1;
  } catch (...) {
    report(prog, "fatal", "unknown exception");
    return 1;
  }
}

}  // namespace flatmin::common
