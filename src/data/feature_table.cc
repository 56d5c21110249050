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

const std::vector<std::string>& MsdConvnetColumns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c;
    for (const char* stat : {"mfcc", "dmfcc", "ddmfcc"})
      for (const char* what : {"_mean_", "_std_"})
        for (int i = 0; i < 20; ++i) c.push_back(stat + std::string(what) + std::to_string(i));
    for (int b = 1; b <= 5; ++b)
      for (int i = 0; i < 32; ++i) c.push_back("elu" + std::to_string(b) + "_" + std::to_string(i));
    return c;
  }();
  return columns;
}

namespace {
// filename,<values>,label (GTZAN) or filename,label,<values> (MSD convnet, and
// joined: more columns than the MSD convnet's).
TableLayout LayoutOf(const std::vector<std::string>& header) {
  if (header.size() < 2 || header[1] != "label") return TableLayout::kGtzan;
  return header.size() > 2 + MsdConvnetColumns().size() ? TableLayout::kMsdConvnetGtzan : TableLayout::kMsdConvnet;
}

// The value columns of a layout and what to call a table of it.
std::vector<std::string> ValueColumns(TableLayout layout) {
  if (layout == TableLayout::kGtzan) return GtzanColumns();
  std::vector<std::string> c = MsdConvnetColumns();
  if (layout == TableLayout::kMsdConvnetGtzan) c.insert(c.end(), GtzanColumns().begin(), GtzanColumns().end());
  return c;
}

const char* TableName(TableLayout layout) {
  switch (layout) {
    case TableLayout::kGtzan:
      return "a GTZAN feature table";
    case TableLayout::kMsdConvnet:
      return "an MSD-convnet feature table";
    case TableLayout::kMsdConvnetGtzan:
      return "a joined MSD-convnet + GTZAN feature table";
  }
  return "a feature table";
}
}  // namespace

TableLayout FeatureTableLayout(const std::string& path) {
  CsvFile csv(path, false);
  std::vector<std::string> header;
  if (!csv.Next(header)) throw FormatError(path + ": empty file, expected a feature table header");
  return LayoutOf(header);
}

FeatureTable ReadFeatureTable(const std::string& path) {
  CsvFile csv(path, false);
  FeatureTable t;
  t.path = path;
  std::vector<std::string> header;
  if (!csv.Next(header)) throw FormatError(path + ": empty file, expected a feature table header");
  t.layout = LayoutOf(header);
  const bool gtzan = t.layout == TableLayout::kGtzan;
  const std::vector<std::string> columns = ValueColumns(t.layout);
  const std::string name = TableName(t.layout);
  std::vector<std::string> want = {"filename"};
  if (!gtzan) want.push_back("label");
  want.insert(want.end(), columns.begin(), columns.end());
  if (gtzan) want.push_back("label");
  for (std::size_t i = 0; i < want.size(); ++i) {
    const std::string got = i < header.size() ? header[i] : std::string("(nothing)");
    if (got != want[i])
      throw FormatError(path + ": not " + name + ": column " + std::to_string(i + 1) + " is '" + got + "', expected '" +
                        want[i] + "'");
  }
  if (header.size() != want.size())
    throw FormatError(path + ": not " + name + ": " + std::to_string(header.size()) + " columns, expected " +
                      std::to_string(want.size()));
  const std::size_t first = gtzan ? 1 : 2;  // first value column
  std::vector<std::string> f;
  while (csv.Next(f)) {
    auto problem = [&](const std::string& m) { csv.Skip(m); };
    if (f.size() != want.size()) {
      problem(std::to_string(f.size()) + " fields, expected " + std::to_string(want.size()));
      continue;
    }
    FeatureTableRow row;
    row.filename = f.front();
    row.label = gtzan ? f.back() : f[1];
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
    for (std::size_t i = first; i < first + columns.size() && good; ++i) {
      double v = 0;
      if (!ParseNumber(f[i], v) || !std::isfinite(v)) {
        problem(columns[i - first] + " is '" + f[i] + "', not a finite number");
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
    t.table_layout = table.layout;
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

std::vector<float> ConvnetFeatures(const std::vector<double>& values) {
  if (values.size() != MsdConvnetColumns().size())
    throw InputError("an MSD-convnet table row has " + std::to_string(MsdConvnetColumns().size()) + " values, got " +
                     std::to_string(values.size()));
  return std::vector<float>(values.begin() + kMsdMfccStats, values.end());
}

std::vector<float> ConvnetGtzanFeatures(const std::vector<double>& values) {
  const std::size_t msd = MsdConvnetColumns().size();
  if (values.size() != msd + GtzanColumns().size())
    throw InputError("a joined MSD-convnet + GTZAN row has " + std::to_string(msd + GtzanColumns().size()) +
                     " values, got " + std::to_string(values.size()));
  std::vector<float> f = ConvnetFeatures(std::vector<double>(values.begin(), values.begin() + msd));
  const std::vector<float> g = ModelFeatures(std::vector<double>(values.begin() + msd, values.end()));
  f.insert(f.end(), g.begin(), g.end());
  return f;
}

}  // namespace genre
