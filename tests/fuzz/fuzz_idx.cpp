// libFuzzer target: the IDX reader (gzip layer + header/dims/payload checks) of experiments/data,
// in memory. Any input may be rejected with InputError; an accepted array must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "experiments/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto bytes = flatmin::data::gunzip_maybe(std::vector<uint8_t>(data, data + size), "fuzz.idx");
    const auto a = flatmin::data::parse_idx(bytes, "fuzz.idx");
    uint64_t count = 1;
    for (auto d : a.dims)
      if (__builtin_mul_overflow(count, uint64_t(d), &count)) std::abort();  // accepted dims that wrap
    if (a.dims.empty() || count != a.data.size()) std::abort();             // accepted but inconsistent
  } catch (const flatmin::common::InputError&) {
  }
  return 0;
}
