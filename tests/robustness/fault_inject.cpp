// Test-only LD_PRELOAD shim (issue 15 item 2): write(2) to a file whose path contains $FLATMIN_FAULT_PATH fails
// with $FLATMIN_FAULT_ERRNO (ENOSPC by default; "EFBIG" also understood), as on a full disk, without root or a
// special mount. Used by tests/robustness/runs_locks.py; never linked into flatmin.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

using write_fn = ssize_t (*)(int, const void*, size_t);

namespace {
int fault_for(int fd) {
  const char* pat = getenv("FLATMIN_FAULT_PATH");
  if (pat == NULL || *pat == '\0') return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t k = readlink(link, path, sizeof path - 1);
  if (k <= 0) return 0;
  path[k] = '\0';
  if (strstr(path, pat) == NULL) return 0;
  const char* e = getenv("FLATMIN_FAULT_ERRNO");
  return (e != NULL && strcmp(e, "EFBIG") == 0) ? EFBIG : ENOSPC;
}
}  // namespace

ssize_t write(int fd, const void* buf, size_t n) {
  static write_fn real = nullptr;
  if (real == nullptr) real = reinterpret_cast<write_fn>(dlsym(RTLD_NEXT, "write"));
  const int err = fault_for(fd);
  if (err != 0) {
    errno = err;
    return -1;
  }
  return real(fd, buf, n);
}

}  // extern "C"
