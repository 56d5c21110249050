#include "genre/data/feature_table.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/util/csv.h"

namespace genre {

bool IsFeatureTable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::string line;
  std::getline(in, line);
  return line.rfind("filename,", 0) == 0;
}

FeatureTable ReadFeatureTable(const std::string& path) {
  CsvFile csv(path, false);
  FeatureTable t;
  t.path = path;
  const std::vector<std::string>& columns = GtzanColumns();
  std::vector<std::string> header;
  if (!csv.Next(header)) throw FormatError(path + ": empty file, expected a feature table header");
  std::vector<std::string> want = {"filename"};
  want.insert(want.end(), columns.begin(), columns.end());
  want.push_back("label");
  for (std::size_t i = 0; i < want.size(); ++i) {
    const std::string got = i < header.size() ? header[i] : std::string("(nothing)");
    if (got != want[i])
      throw FormatError(path + ": not a GTZAN feature table: column " + std::to_string(i + 1) + " is '" + got +
                        "', expected '" + want[i] + "'");
  }
  if (header.size() != want.size())
    throw FormatError(path + ": not a GTZAN feature table: " + std::to_string(header.size()) + " columns, expected " +
                      std::to_string(want.size()));
  std::vector<std::string> f;
  while (csv.Next(f)) {
    auto problem = [&](const std::string& m) { csv.Skip(m); };
    if (f.size() != want.size()) {
      problem(std::to_string(f.size()) + " fields, expected " + std::to_string(want.size()));
      continue;
    }
    FeatureTableRow row;
    row.filename = f.front();
    row.label = f.back();
    row.line = csv.line();
    if (row.filename.empty()) {
      problem("empty filename");
      continue;
    }
    if (row.label.empty()) {
      problem("no label for '" + row.filename + "'");
      continue;
    }
    bool good = true;
    for (std::size_t i = 1; i + 1 < f.size() && good; ++i) {
      double v = 0;
      if (!ParseNumber(f[i], v) || !std::isfinite(v)) {
        problem(columns[i - 1] + " is '" + f[i] + "', not a finite number");
        good = false;
      }
      row.values.push_back(v);
    }
    if (good) t.rows.push_back(std::move(row));
  }
  t.problems = std::move(csv.problems());
  if (t.rows.empty()) throw FormatError(path + ": no usable rows");
  return t;
}

Dataset TableDataset(const FeatureTable& table) {
  Dataset d;
  std::map<std::vector<double>, std::size_t> first;  // values -> track index
  std::size_t repeats = 0;
  std::string example;
  for (const FeatureTableRow& row : table.rows) {
    Track t;
    t.path = table.path + "#" + row.filename;
    t.label = row.label;
    t.kind = TrackKind::kFeatures;
    t.features = row.values;
    t.group = FileStem(row.filename);
    if (auto [it, fresh] = first.emplace(row.values, d.tracks.size()); !fresh) {
      const Track& earlier = d.tracks[it->second];
      t.group = earlier.group;
      if (repeats++ == 0)
        example = row.filename + " = " + earlier.path.substr(earlier.path.rfind('#') + 1) +
                  (earlier.label != row.label ? " (labelled " + earlier.label + " and " + row.label + ")" : "");
    }
    d.tracks.push_back(std::move(t));
  }
  d.notes = table.problems;
  if (repeats)
    d.notes.push_back(table.path + ": " + std::to_string(repeats) +
                      " rows repeat an earlier row's values exactly and share its group, e.g. " + example);
  d.UpdateClasses();
  return d;
}

std::vector<float> ModelFeatures(const std::vector<double>& values) {
  if (values.size() != GtzanColumns().size())
    throw InputError("a GTZAN vector has " + std::to_string(GtzanColumns().size()) + " values, got " +
                     std::to_string(values.size()));
  return std::vector<float>(values.begin() + 1, values.end());
}

}  // namespace genre
