// RFC 4180-style CSV fields: quoted when they hold a comma, quote or line break.
#pragma once

#include <string>
#include <vector>

namespace genre {

std::string CsvField(const std::string& s);
// Splits one line; quoted fields may contain commas and doubled quotes. A
// trailing '\r' is dropped. Throws FormatError on an unterminated quote.
std::vector<std::string> ParseCsvLine(const std::string& line);

}  // namespace genre
