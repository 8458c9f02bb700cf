#include "common/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace flatmin::common {
namespace {

/// Random access to the archive's bytes (a string in memory, or a file).
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  /// n bytes at off into out; false when [off, off + n) is not inside the source or the read failed.
  virtual bool read(uint64_t off, size_t n, unsigned char* out) = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(std::string_view s) : s_(s) {}
  uint64_t size() const override { return s_.size(); }
  bool read(uint64_t off, size_t n, unsigned char* out) override {
    if (off > s_.size() || n > s_.size() - off) return false;
    std::copy_n(reinterpret_cast<const unsigned char*>(s_.data()) + off, n, out);
    return true;
  }

 private:
  std::string_view s_;
};

class FileSource : public Source {
 public:
  FileSource(std::ifstream& in, uint64_t size) : in_(in), size_(size) {}
  uint64_t size() const override { return size_; }
  bool read(uint64_t off, size_t n, unsigned char* out) override {
    if (off > size_ || n > size_ - off) return false;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(off));
    in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n));
    return static_cast<size_t>(in_.gcount()) == n;
  }

 private:
  std::ifstream& in_;
  uint64_t size_;
};

uint16_t u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t u32(const unsigned char* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24); }
uint64_t u64(const unsigned char* p) { return uint64_t(u32(p)) | (uint64_t(u32(p + 4)) << 32); }

constexpr uint32_t kEocd = 0x06054b50, kZip64Locator = 0x07064b50, kZip64Eocd = 0x06064b50, kCentral = 0x02014b50,
                   kLocal = 0x04034b50;
constexpr uint64_t kMaxDirectory = uint64_t(1) << 30;  // a directory of ~10 M entries: not a torch archive

/// "entry '<name>'", the name cut at 200 bytes and any byte outside printable ASCII written \xNN (a
/// damaged name must not put raw bytes into the one-line message)
std::string entry_name(const std::string& name) {
  static const char* hex = "0123456789abcdef";
  std::string out = "entry '";
  for (unsigned char ch : name.substr(0, 200)) {
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += static_cast<char>(ch);
    } else {
      out += "\\x";
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out + (name.size() > 200 ? "…'" : "'");
}

std::optional<std::string> problem_of(Source& src) {
  const uint64_t n = src.size();
  if (n < 22) return "not a zip archive (" + std::to_string(n) + " bytes, too short)";
  // End of central directory: the last record with that signature whose comment reaches the end of the file
  const uint64_t tail = std::min<uint64_t>(n, 22 + 65535);
  std::vector<unsigned char> t(tail);
  if (!src.read(n - tail, tail, t.data())) return std::string("cannot be read");
  int64_t at = -1;
  for (int64_t i = static_cast<int64_t>(tail) - 22; i >= 0; --i) {
    if (u32(&t[i]) == kEocd && uint64_t(i) + 22 + u16(&t[i + 20]) == tail) {
      at = i;
      break;
    }
  }
  if (at < 0) return std::string("not a zip archive, or truncated (no end-of-central-directory record)");
  const uint64_t eocd = n - tail + uint64_t(at);
  const unsigned char* e = &t[at];
  if (u16(e + 4) != 0 || u16(e + 6) != 0) return std::string("a zip archive over several disks");
  uint64_t entries = u16(e + 10), cd_size = u32(e + 12), cd_off = u32(e + 16), cd_limit = eocd;
  if (u16(e + 8) != u16(e + 10)) return std::string("zip directory counts disagree");
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_off == 0xFFFFFFFF) {  // zip64
    unsigned char loc[20], z[56];
    if (eocd < 20 || !src.read(eocd - 20, 20, loc) || u32(loc) != kZip64Locator)
      return std::string("zip64 end-of-central-directory locator missing");
    const uint64_t z_off = u64(loc + 8);
    if (z_off > eocd - 20 || !src.read(z_off, 56, z) || u32(z) != kZip64Eocd)
      return std::string("zip64 end-of-central-directory record missing");
    if (u64(z + 24) != u64(z + 32)) return std::string("zip64 directory counts disagree");
    entries = u64(z + 32);
    cd_size = u64(z + 40);
    cd_off = u64(z + 48);
    cd_limit = z_off;
  }
  if (cd_off > cd_limit || cd_size > cd_limit - cd_off)
    return "zip directory (" + std::to_string(cd_size) + " bytes at " + std::to_string(cd_off) + ") lies outside the file";
  if (cd_size > kMaxDirectory) return std::string("zip directory too large");
  if (entries > cd_size / 46) return "zip directory holds " + std::to_string(entries) + " entries in " + std::to_string(cd_size) + " bytes";
  std::vector<unsigned char> cd(static_cast<size_t>(cd_size));
  if (!src.read(cd_off, cd.size(), cd.data())) return std::string("cannot be read");
  std::vector<unsigned char> chunk(1 << 20);
  uint64_t pos = 0;
  for (uint64_t k = 0; k < entries; ++k) {
    if (pos + 46 > cd_size || u32(&cd[pos]) != kCentral) return "zip directory entry " + std::to_string(k) + " is damaged";
    const unsigned char* c = &cd[pos];
    const uint16_t flags = u16(c + 8), method = u16(c + 10), nlen = u16(c + 28), xlen = u16(c + 30), clen = u16(c + 32);
    const uint32_t crc = u32(c + 16);
    uint64_t csize = u32(c + 20), usize = u32(c + 24), loff = u32(c + 42);
    if (pos + 46 + nlen + xlen + clen > cd_size) return "zip directory entry " + std::to_string(k) + " is damaged";
    const std::string name(reinterpret_cast<const char*>(c + 46), nlen);
    for (uint64_t x = 0; x + 4 <= xlen;) {  // extra fields: zip64 sizes/offset replace the saturated ones, in order
      const unsigned char* f = c + 46 + nlen + x;
      const uint16_t id = u16(f), len = u16(f + 2);
      if (x + 4 + len > xlen) return entry_name(name) + ": damaged extra field";
      if (id == 0x0001) {
        uint64_t q = 0;
        for (uint64_t* v : {&usize, &csize, &loff}) {
          if (*v != 0xFFFFFFFF) continue;
          if (q + 8 > len) return entry_name(name) + ": damaged zip64 field";
          *v = u64(f + 4 + q);
          q += 8;
        }
      }
      x += 4 + uint64_t(len);
    }
    pos += 46 + uint64_t(nlen) + xlen + clen;
    if (flags & 1) return entry_name(name) + " is encrypted";
    if (method != 0 && method != 8) return entry_name(name) + ": unknown compression method " + std::to_string(method);
    unsigned char l[30];
    if (loff > cd_off || !src.read(loff, 30, l) || u32(l) != kLocal) return entry_name(name) + ": local header missing or damaged";
    const uint64_t data = loff + 30 + u16(l + 26) + u16(l + 28);
    std::string lname(u16(l + 26), '\0');
    if (u16(l + 26) != nlen || !src.read(loff + 30, nlen, reinterpret_cast<unsigned char*>(lname.data())) || lname != name)
      return entry_name(name) + ": local header names another entry";
    // without a data descriptor (flag bit 3) the local header repeats CRC and sizes (zip64: saturated)
    if (!(flags & 8) && (u32(l + 14) != crc || (u32(l + 18) != csize && u32(l + 18) != 0xFFFFFFFF) ||
                         (u32(l + 22) != usize && u32(l + 22) != 0xFFFFFFFF)))
      return entry_name(name) + ": local header and directory disagree";
    if (data > cd_off || csize > cd_off - data) return entry_name(name) + " runs past the zip directory (truncated?)";
    if (method != 0) continue;  // deflated: the bounds are checked; torch.save and LibTorch store entries
    if (csize != usize) return entry_name(name) + ": stored entry with two sizes";
    uLong sum = crc32(0L, Z_NULL, 0);
    for (uint64_t done = 0; done < csize;) {
      const size_t m = static_cast<size_t>(std::min<uint64_t>(chunk.size(), csize - done));
      if (!src.read(data + done, m, chunk.data())) return std::string("cannot be read");
      sum = crc32(sum, chunk.data(), static_cast<uInt>(m));
      done += m;
    }
    if (static_cast<uint32_t>(sum) != crc) return entry_name(name) + " fails its CRC-32 check (the file is damaged)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> zip_archive_problem(std::string_view bytes) {
  MemorySource src(bytes);
  return problem_of(src);
}

std::optional<std::string> zip_file_problem(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return std::string("cannot be read");
  FileSource src(in, size);
  return problem_of(src);
}

}  // namespace flatmin::common
