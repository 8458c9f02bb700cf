#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/csv.h"
#include "common/format.h"

namespace flatmin::common {
namespace {

std::uint64_t bits_of(double x) {
  std::uint64_t b = 0;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

double from_bits(std::uint64_t b) {
  double x = 0;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// Parses with strtod (independent of the to_chars implementation) and requires full consumption.
double parse_exact(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  EXPECT_EQ(end, s.c_str() + s.size()) << "trailing characters in '" << s << "'";
  return v;
}

void expect_round_trip(double x) {
  const std::string s = format_double(x);
  const double back = parse_exact(s);
  EXPECT_EQ(bits_of(back), bits_of(x)) << "value with bits 0x" << std::hex << bits_of(x) << " printed as " << s;
}

TEST(FormatDouble, RandomBitPatternsRoundTripBitExactly) {
  std::mt19937_64 rng(20240521);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = from_bits(rng());
    if (!std::isfinite(x)) continue;  // non-finite handled separately
    expect_round_trip(x);
    ++checked;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(checked, 199000);
}

TEST(FormatDouble, RandomOrdinaryValuesRoundTrip) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> expo(-30, 30);
  for (int i = 0; i < 50000 && !::testing::Test::HasFailure(); ++i) {
    expect_round_trip(std::ldexp(unit(rng), expo(rng)));
  }
}

TEST(FormatDouble, SpecialFiniteValuesRoundTrip) {
  const double specials[] = {0.0,
                             -0.0,
                             1.0,
                             0.1,
                             1.0 / 3.0,
                             1e23,
                             9007199254740993.0,
                             std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::denorm_min(),
                             -std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::lowest(),
                             std::numeric_limits<double>::epsilon(),
                             std::nextafter(1.0, 2.0),
                             std::nextafter(0.1, 0.0)};
  for (double x : specials) expect_round_trip(x);
}

TEST(FormatDouble, ShortestFormForSimpleValues) {
  EXPECT_EQ(format_double(1.0), "1");
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(-0.0), "-0");
  EXPECT_EQ(format_double(0.0), "0");
  EXPECT_EQ(format_double(1e300), "1e+300");
}

TEST(FormatDouble, NonFinite) {
  EXPECT_EQ(format_double(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(format_double(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_double(-std::numeric_limits<double>::infinity()), "-inf");
  // And strtod reads them back.
  EXPECT_TRUE(std::isnan(parse_exact(format_double(std::nan("")))));
  EXPECT_EQ(parse_exact(format_double(-std::numeric_limits<double>::infinity())),
            -std::numeric_limits<double>::infinity());
}

TEST(CsvWriter, HeaderAndNumericRows) {
  std::ostringstream os;
  CsvWriter csv(os, {"step", "loss", "lr"});
  EXPECT_EQ(os.str(), "step,loss,lr\n");
  csv.row({0, 2.5, 0.1});
  csv.row({1, std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity()});
  EXPECT_EQ(os.str(), "step,loss,lr\n0,2.5,0.1\n1,nan,-inf\n");
  EXPECT_EQ(csv.columns(), 3u);
  EXPECT_EQ(csv.rows_written(), 2u);
}

TEST(CsvWriter, NumericCellsRoundTrip) {
  std::ostringstream os;
  CsvWriter csv(os, {"x"});
  const double x = 0.1 + 0.2;
  csv.row({x});
  const std::string s = os.str();
  const std::string cell = s.substr(2, s.size() - 3);  // after "x\n", before final '\n'
  EXPECT_EQ(std::strtod(cell.c_str(), nullptr), x);
}

TEST(CsvWriter, QuotesCellsWithSpecialCharacters) {
  std::ostringstream os;
  CsvWriter csv(os, {"name", "note, with comma"});
  csv.row_strings({"plain", "say \"hi\""});
  csv.row_strings({"multi\nline", ""});
  csv.row_strings({"cr\rhere", "a,b"});
  EXPECT_EQ(os.str(),
            "name,\"note, with comma\"\n"
            "plain,\"say \"\"hi\"\"\"\n"
            "\"multi\nline\",\n"
            "\"cr\rhere\",\"a,b\"\n");
  EXPECT_EQ(CsvWriter::escape_cell("x"), "x");
  EXPECT_EQ(CsvWriter::escape_cell("\""), "\"\"\"\"");
}

TEST(CsvWriter, WidthMismatchThrowsAndWritesNothing) {
  std::ostringstream os;
  CsvWriter csv(os, {"a", "b"});
  const std::string before = os.str();
  EXPECT_THROW(csv.row({1.0}), std::invalid_argument);
  EXPECT_THROW(csv.row({1.0, 2.0, 3.0}), std::invalid_argument);
  EXPECT_THROW(csv.row_strings({"only one"}), std::invalid_argument);
  EXPECT_THROW(csv.row({}), std::invalid_argument);
  EXPECT_EQ(os.str(), before);
  EXPECT_EQ(csv.rows_written(), 0u);
  csv.row({1.0, 2.0});
  EXPECT_EQ(os.str(), "a,b\n1,2\n");
}

TEST(CsvWriter, EmptyHeaderRejected) {
  std::ostringstream os;
  EXPECT_THROW(CsvWriter(os, {}), std::invalid_argument);
}

}  // namespace
}  // namespace flatmin::common
