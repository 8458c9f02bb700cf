#include "common/format.h"

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace flatmin::common {

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest representation that round-trips (C++17 <charconv>; implemented since GCC 11).
  std::array<char, 64> buf{};
  const std::to_chars_result res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  if (res.ec != std::errc()) throw std::runtime_error("format_double: std::to_chars failed");
  return std::string(buf.data(), res.ptr);
}

}  // namespace flatmin::common
