// libFuzzer target: common::zip_archive_problem, the container check run before LibTorch reads a
// checkpoint, model or data file (any input; a problem is a phrase, never a crash or a bad read).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto p = flatmin::common::zip_archive_problem(std::string_view(reinterpret_cast<const char*>(data), size));
  if (p && p->empty()) std::abort();  // a problem must say what it is
  return 0;
}
