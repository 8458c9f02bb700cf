#include "optim/options_schema.h"

#include "common/format.h"

namespace flatmin::optim::schema {

std::string format_number(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return common::format_double(x);
}

void wrong_type(const std::string& who, const std::string& key, const std::string& expected, const json& got) {
  throw common::InputTypeError(who + ": option '" + key + "' must be " + expected + ", got " + got.dump());
}

void out_of_range(const std::string& who, const std::string& key, double value, const std::string& constraint) {
  throw common::InputError(who + ": " + key + " = " + format_number(value) + " violates " + constraint);
}

}  // namespace flatmin::optim::schema
