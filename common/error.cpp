#include "common/error.h"

#include <csignal>
#include <exception>
#include <iostream>

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
