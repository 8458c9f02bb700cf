#pragma once
/// \file
/// Number formatting for result files.

#include <string>

namespace flatmin::common {

/// Formats `value` so that parsing the text (std::strtod) yields the identical double
/// (shortest round-trip representation via std::to_chars, at least as exact as "%.17g").
/// Non-finite values print as `nan`, `inf` and `-inf` (the sign of a NaN is dropped);
/// negative zero prints as `-0`.
std::string format_double(double value);

}  // namespace flatmin::common
