#pragma once
/// \file
/// Minimal RFC-4180-style CSV writer for result tables.

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace flatmin::common {

/// Writes a CSV table to a borrowed stream: comma separator, '\n' line ends, header written by the
/// constructor. Cells containing a comma, double quote, CR or LF are wrapped in double quotes
/// with embedded quotes doubled. Numbers are written with format_double (bit-exact round trip;
/// non-finite values as nan/inf/-inf). The stream must outlive the writer.
class CsvWriter {
 public:
  /// Writes the header line. Throws std::invalid_argument if `header` is empty.
  CsvWriter(std::ostream& os, std::vector<std::string> header);

  /// Writes one numeric row. Throws std::invalid_argument if values.size() != columns()
  /// (nothing is written in that case).
  void row(const std::vector<double>& values);

  /// Writes one row of preformatted cells (quoted as needed). Throws std::invalid_argument if
  /// cells.size() != columns() (nothing is written in that case).
  void row_strings(const std::vector<std::string>& cells);

  /// Number of columns (size of the header).
  std::size_t columns() const { return header_.size(); }
  /// Column names as given to the constructor.
  const std::vector<std::string>& header() const { return header_; }
  /// Number of data rows written so far (excluding the header).
  std::size_t rows_written() const { return rows_; }

  /// Quotes a single cell if it contains ',', '"', '\r' or '\n'; returns it unchanged otherwise.
  static std::string escape_cell(const std::string& cell);

 private:
  void write_line(const std::vector<std::string>& cells);

  std::ostream& os_;
  std::vector<std::string> header_;
  std::size_t rows_ = 0;
};

}  // namespace flatmin::common
