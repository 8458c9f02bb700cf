#include "common/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

// Under AddressSanitizer malloc is ASan's, not glibc's: mallopt and mallinfo2 say nothing about it.
#if defined(__SANITIZE_ADDRESS__)
#define FLATMIN_GLIBC_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLATMIN_GLIBC_MALLOC 0
#endif
#endif
#if !defined(FLATMIN_GLIBC_MALLOC) && defined(__GLIBC__)
#define FLATMIN_GLIBC_MALLOC 1
#endif

TEST(Allocator, TuningIsIdempotentAndKeepsLargeFreedBlocks) {
  const std::string first = flatmin::common::tune_allocator();
  EXPECT_EQ(flatmin::common::tune_allocator(), first);
#if FLATMIN_GLIBC_MALLOC
  const char* env = std::getenv("FLATMIN_MALLOC_TUNING");
  if (env != nullptr && std::string(env) == "0") {
    EXPECT_NE(first.find("off"), std::string::npos);
    return;
  }
  ASSERT_NE(first.find("mmap_threshold=33554432"), std::string::npos) << first;
  // An 8 MiB block (above glibc's default 128 KiB mmap threshold) now comes from the heap, not
  // from mmap: mallinfo2's hblkhd (bytes in mmapped blocks) does not grow while it is held.
  const size_t before = mallinfo2().hblkhd;
  std::vector<char*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(static_cast<char*>(std::malloc(8u << 20)));
  for (auto* b : blocks) b[0] = 1;
  EXPECT_EQ(mallinfo2().hblkhd, before);
  for (auto* b : blocks) std::free(b);
#endif
}
