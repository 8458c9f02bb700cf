// experiments/data readers in memory (LibTorch-free): the inputs found by / seeded into tests/fuzz.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "experiments/data/dataset.h"

namespace data = flatmin::data;
using flatmin::common::InputError;

namespace {
std::vector<uint8_t> idx_header(const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> b{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  return b;
}
}  // namespace

TEST(Idx, ParsesInMemory) {
  auto b = idx_header({2, 3});
  for (int i = 0; i < 6; ++i) b.push_back(static_cast<uint8_t>(i));
  const auto a = data::parse_idx(b, "mem");
  EXPECT_EQ(a.dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data.size(), 6u);
}

TEST(Idx, DimensionProductOverflowIsAnInputError) {
  // 65536^4 = 2^64 wraps to 0 in uint64: an empty payload used to be accepted with these dims.
  const auto b = idx_header({65536, 65536, 65536, 65536});
  try {
    data::parse_idx(b, "overflow.idx");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("overflow.idx"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("multiply to more than"), std::string::npos) << e.what();
  }
  // A product that fits but exceeds the payload is the same error, and a zero dimension is fine.
  EXPECT_THROW(data::parse_idx(idx_header({4294967295u, 4294967295u}), "big.idx"), InputError);
  EXPECT_EQ(data::parse_idx(idx_header({0, 4294967295u}), "empty.idx").data.size(), 0u);
}

TEST(Gzip, CorruptOrTruncatedStreamIsAnInputError) {
  const std::vector<uint8_t> plain{1, 2, 3};
  EXPECT_EQ(data::gunzip_maybe(plain, "p"), plain);
  EXPECT_THROW(data::gunzip_maybe({0x1f, 0x8b, 0x08, 0, 0, 0}, "t.gz"), InputError);
  EXPECT_THROW(data::gunzip_maybe({0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff, 0xff}, "c.gz"), InputError);
}

TEST(Cifar, RecordsInMemory) {
  std::vector<uint8_t> b(2 * 3073, 7);
  b[0] = 3;
  b[3073] = 9;
  data::ImageSet s;
  data::append_cifar_records(s, b, 10, "mem");
  EXPECT_EQ(s.n, 2);
  EXPECT_EQ(s.labels, (std::vector<int64_t>{3, 9}));
  EXPECT_EQ(s.pixels.size(), 2u * 3072);
  b[3073] = 10;
  data::ImageSet t;
  EXPECT_THROW(data::append_cifar_records(t, b, 10, "mem"), InputError);
  b.pop_back();
  EXPECT_THROW(data::append_cifar_records(t, b, 10, "mem"), InputError);
}
