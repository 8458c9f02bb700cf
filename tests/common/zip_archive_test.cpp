// common/zip_archive: the container check run before LibTorch reads a checkpoint, model or data file.
#include "common/zip_archive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/temp_dir.h"

namespace {

using flatmin::common::zip_archive_problem;
using flatmin::common::zip_file_problem;

uint32_t crc32_of(const std::string& s) {  // bitwise CRC-32 (IEEE), independent of zlib's
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put16(std::string& o, uint32_t v) { o += char(v & 0xFF), o += char((v >> 8) & 0xFF); }
void put32(std::string& o, uint32_t v) { put16(o, v & 0xFFFF), put16(o, v >> 16); }

/// A stored (uncompressed) zip archive of `entries` (name, content), as LibTorch's writer lays it out:
/// local headers and data, the central directory, the end-of-central-directory record.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    const uint32_t off = static_cast<uint32_t>(out.size()), crc = crc32_of(data), n = static_cast<uint32_t>(data.size());
    put32(out, 0x04034b50), put16(out, 20), put16(out, 0), put16(out, 0), put32(out, 0), put32(out, crc);
    put32(out, n), put32(out, n), put16(out, static_cast<uint32_t>(name.size())), put16(out, 0);
    out += name + data;
    put32(cd, 0x02014b50), put16(cd, 20), put16(cd, 20), put16(cd, 0), put16(cd, 0), put32(cd, 0), put32(cd, crc);
    put32(cd, n), put32(cd, n), put16(cd, static_cast<uint32_t>(name.size())), put16(cd, 0), put16(cd, 0);
    put16(cd, 0), put16(cd, 0), put32(cd, 0), put32(cd, off);
    cd += name;
  }
  const uint32_t cd_off = static_cast<uint32_t>(out.size());
  out += cd;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0), put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size())), put32(out, static_cast<uint32_t>(cd.size())), put32(out, cd_off), put16(out, 0);
  return out;
}

const std::vector<std::pair<std::string, std::string>> kEntries = {
    {"archive/data.pkl", std::string("\x80\x02}q\x00.", 6)}, {"archive/data/0", std::string(256, '\x3f')}, {"archive/version", "3\n"}};

TEST(ZipArchive, AWellFormedStoredArchivePasses) {
  EXPECT_EQ(zip_archive_problem(stored_zip(kEntries)), std::nullopt);
  EXPECT_EQ(zip_archive_problem(stored_zip({})), std::nullopt);  // empty, but well formed
}

TEST(ZipArchive, EveryFlippedDataByteFailsTheCrcAndNamesTheEntry) {
  const std::string z = stored_zip(kEntries);
  const size_t start = 30 + kEntries[0].first.size() + kEntries[0].second.size() + 30 + kEntries[1].first.size();
  for (size_t i = start; i < start + kEntries[1].second.size(); ++i) {
    std::string b = z;
    b[i] = static_cast<char>(b[i] ^ 0x10);
    const auto p = zip_archive_problem(b);
    ASSERT_TRUE(p.has_value()) << "byte " << i;
    EXPECT_NE(p->find("'archive/data/0' fails its CRC-32 check"), std::string::npos) << *p;
  }
}

TEST(ZipArchive, ANameWithRawBytesIsEscapedInTheMessage) {
  std::string z = stored_zip({{std::string("w\xfd\n", 3), "payload"}});
  z[30 + 3] = 'P';  // the first data byte
  EXPECT_EQ(zip_archive_problem(z).value(), "entry 'w\\xfd\\x0a' fails its CRC-32 check (the file is damaged)");
}

TEST(ZipArchive, EveryTruncationIsFound) {
  const std::string z = stored_zip(kEntries);
  for (size_t n = 0; n < z.size(); ++n) EXPECT_TRUE(zip_archive_problem(z.substr(0, n)).has_value()) << n << " bytes";
}

TEST(ZipArchive, EveryChangedHeaderByteIsFoundButTheIgnoredFields) {
  // every byte inverted in turn: found, except in the fields the check ignores (versions, the local flags
  // and method, times and dates, flag bits 8-15, disk start, attributes); never a crash or an
  // out-of-range read (the sanitizer build runs this too)
  const std::string z = stored_zip(kEntries);
  std::vector<bool> ignored(z.size(), false);
  auto ignore = [&](size_t at, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) ignored[at + i] = true;
  };
  size_t local = 0, central = z.size() - 22;
  for (auto it = kEntries.rbegin(); it != kEntries.rend(); ++it) central -= 46 + it->first.size();
  for (const auto& [name, data] : kEntries) {
    ignore(local, 4, 14);    // version needed, flags, method, time, date (local)
    ignore(central, 4, 8);   // version made by, version needed
    ignore(central, 9, 10);  // flag bits 8-15
    ignore(central, 12, 16); // time, date
    ignore(central, 34, 42); // disk start, internal and external attributes
    local += 30 + name.size() + data.size();
    central += 46 + name.size();
  }
  size_t missed = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    std::string b = z;
    b[i] = static_cast<char>(b[i] ^ 0xFF);
    const bool found = zip_archive_problem(b).has_value();
    if (!ignored[i]) {
      EXPECT_TRUE(found) << "byte " << i << " of " << z.size();
    }
    missed += !found;
  }
  EXPECT_LE(missed, static_cast<size_t>(std::count(ignored.begin(), ignored.end(), true)));
}

TEST(ZipArchive, NotAZipAndDamagedOffsetsAreNamed) {
  EXPECT_NE(zip_archive_problem("").value().find("not a zip archive"), std::string::npos);
  EXPECT_NE(zip_archive_problem(std::string(100, '\x80')).value().find("not a zip archive"), std::string::npos);
  std::string z = stored_zip(kEntries);
  z[z.size() - 3] = '\x7f';  // the directory's offset points past the end
  EXPECT_NE(zip_archive_problem(z).value().find("lies outside the file"), std::string::npos);
}

TEST(ZipArchive, TheFileCheckAgreesWithTheMemoryCheck) {
  flatmin::common::testing_support::TempDir dir;
  const std::string good = stored_zip(kEntries);
  std::string bad = good;
  bad[40] = static_cast<char>(bad[40] ^ 1);
  for (const auto& bytes : {good, bad}) {
    std::ofstream(dir / "a.pt", std::ios::binary) << bytes;
    EXPECT_EQ(zip_file_problem((dir / "a.pt").string()), zip_archive_problem(bytes));
  }
  EXPECT_EQ(zip_file_problem((dir / "missing.pt").string()).value(), "cannot be read");
}

}  // namespace
