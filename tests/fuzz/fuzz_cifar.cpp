// libFuzzer target: the CIFAR-10/100 binary record reader (gzip layer + records) of experiments/data,
// in memory. The first byte picks CIFAR-10 or -100. Any input may be rejected with InputError; an
// accepted set must be self-consistent (labels in range, n·3072 pixels).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/error.h"
#include "experiments/data/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int classes = (data[0] & 1) ? 100 : 10;
  try {
    const auto bytes = flatmin::data::gunzip_maybe(std::vector<uint8_t>(data + 1, data + size), "fuzz.bin");
    flatmin::data::ImageSet s;
    s.channels = 3;
    s.height = s.width = 32;
    s.num_classes = classes;
    flatmin::data::append_cifar_records(s, bytes, classes, "fuzz.bin");
    if (s.n != int64_t(s.labels.size()) || s.pixels.size() != size_t(s.n) * 3072) std::abort();
    for (auto l : s.labels)
      if (l < 0 || l >= classes) std::abort();
  } catch (const flatmin::common::InputError&) {
  }
  return 0;
}
