#include "common/csv.h"

#include <stdexcept>
#include <utility>

#include "common/format.h"

namespace flatmin::common {

namespace {

std::string width_message(std::size_t got, std::size_t want) {
  return "CsvWriter: row has " + std::to_string(got) + " cells but the header has " +
         std::to_string(want) + " columns";
}

}  // namespace

CsvWriter::CsvWriter(std::ostream& os, std::vector<std::string> header)
    : os_(os), header_(std::move(header)) {
  if (header_.empty()) throw std::invalid_argument("CsvWriter: empty header");
  write_line(header_);
}

std::string CsvWriter::escape_cell(const std::string& cell) {
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out;
  out.reserve(cell.size() + 2);
  out.push_back('"');
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void CsvWriter::write_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line.push_back(',');
    line += escape_cell(cells[i]);
  }
  line.push_back('\n');
  os_ << line;
}

void CsvWriter::row(const std::vector<double>& values) {
  if (values.size() != header_.size()) throw std::invalid_argument(width_message(values.size(), header_.size()));
  std::vector<std::string> cells;
  cells.reserve(values.size());
  for (double v : values) cells.push_back(format_double(v));
  write_line(cells);
  ++rows_;
}

void CsvWriter::row_strings(const std::vector<std::string>& cells) {
  if (cells.size() != header_.size()) throw std::invalid_argument(width_message(cells.size(), header_.size()));
  write_line(cells);
  ++rows_;
}

}  // namespace flatmin::common
