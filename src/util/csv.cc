#include "genre/util/csv.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include "genre/error.h"

namespace genre {

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::vector<std::string> ParseCsvLine(const std::string& raw) {
  std::string line = raw;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) throw FormatError("unterminated quoted field");
  return fields;
}

namespace {
template <class T>
bool ParseWhole(const std::string& s, T& out) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, out);
  return r.ec == std::errc() && r.ptr == end;
}
}  // namespace

bool ParseNumber(const std::string& field, double& out) { return ParseWhole(field, out); }
bool ParseNumber(const std::string& field, long& out) { return ParseWhole(field, out); }

CsvFile::CsvFile(const std::string& path, bool comments)
    : path_(path), in_(path, std::ios::binary), comments_(comments) {
  if (!in_) throw IoError(path + ": cannot open: " + std::strerror(errno));
}

bool CsvFile::Next(std::vector<std::string>& fields) {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || (comments_ && text[0] == '#')) continue;
    try {
      fields = ParseCsvLine(text);
    } catch (const Error& e) {
      Skip(e.what());
      continue;
    }
    return true;
  }
  if (in_.bad()) throw IoError(path_ + ": read error");
  return false;
}

void CsvFile::Skip(const std::string& message) {
  problems_.push_back(path_ + ":" + std::to_string(line_) + ": " + message + " (line skipped)");
}

}  // namespace genre
