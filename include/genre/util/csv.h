// RFC 4180-style CSV fields: quoted when they hold a comma, quote or line break;
// CSV files read record by record with their bad lines reported.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

namespace genre {

std::string CsvField(const std::string& s);
// Splits one line; quoted fields may contain commas and doubled quotes. A
// trailing '\r' is dropped. Throws FormatError on an unterminated quote.
std::vector<std::string> ParseCsvLine(const std::string& line);
// A whole field as a number (std::from_chars: no spaces, nothing after it); false otherwise.
bool ParseNumber(const std::string& field, double& out);
bool ParseNumber(const std::string& field, long& out);

// A CSV file read one record at a time: empty lines and (optionally) lines starting
// with '#' are passed over; a line that does not parse is recorded as
// "PATH:LINE: problem (line skipped)" and passed over too.
class CsvFile {
 public:
  explicit CsvFile(const std::string& path, bool comments = true);  // throws IoError
  // The next record; false at the end. Throws IoError on a read error.
  bool Next(std::vector<std::string>& fields);
  std::size_t line() const { return line_; }  // 1-based line of the last record
  // Records a problem with the current line ("PATH:LINE: message (line skipped)").
  void Skip(const std::string& message);
  std::vector<std::string>& problems() { return problems_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  bool comments_;
  std::size_t line_ = 0;
  std::vector<std::string> problems_;
};

}  // namespace genre
