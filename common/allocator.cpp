#include "common/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace flatmin::common {

std::string tune_allocator() {
  static const std::string result = [] {
    const char* env = std::getenv("FLATMIN_MALLOC_TUNING");
    if (env != nullptr && std::strcmp(env, "0") == 0) return std::string("off (FLATMIN_MALLOC_TUNING=0)");
#if defined(__GLIBC__)
    constexpr int kMmapThreshold = 32 << 20;       // glibc's HEAP_MAX for mmap_threshold on 64-bit
    constexpr long kTrimThreshold = 4L << 30;
    constexpr int kTopPad = 256 << 20;
    const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
                    mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<long>(kTrimThreshold, 0x7fffffffL))) == 1 &&
                    mallopt(M_TOP_PAD, kTopPad) == 1;
    if (!ok) return std::string("glibc: mallopt refused the settings (defaults kept)");
    return "glibc: mmap_threshold=" + std::to_string(kMmapThreshold) +
           " trim_threshold=" + std::to_string(std::min<long>(kTrimThreshold, 0x7fffffffL)) +
           " top_pad=" + std::to_string(kTopPad);
#else
    return std::string("not glibc: allocator defaults kept");
#endif
  }();
  return result;
}

}  // namespace flatmin::common
