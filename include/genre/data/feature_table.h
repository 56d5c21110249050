// Feature tables: CSV files in the layout of the GTZAN feature table
// (features_30_sec.csv): `filename,length,<57 feature columns>,label`, one row per
// clip, the columns of GtzanColumns() in that order. genre-features --kind
// gtzan-vector writes them; genre-train reads them as datasets for the mlp.
#pragma once

#include <string>
#include <vector>

#include "genre/data/dataset.h"

namespace genre {

struct FeatureTableRow {
  std::string filename, label;
  std::vector<double> values;  // GtzanColumns() order: length, then the 57 features
  std::size_t line = 0;        // 1-based line in the file
};

struct FeatureTable {
  std::string path;
  std::vector<FeatureTableRow> rows;
  std::vector<std::string> problems;  // "PATH:LINE: problem (line skipped)"
};

// True when the file's first line starts with "filename," (a feature table, not a
// manifest). Throws IoError when unreadable.
bool IsFeatureTable(const std::string& path);

// Throws IoError (unreadable), FormatError (a header other than the GTZAN layout,
// naming the first column that differs, or no usable rows). Rows with the wrong
// number of fields, a non-numeric value or no label are skipped and reported.
FeatureTable ReadFeatureTable(const std::string& path);

// One track per row: kind kFeatures, path "TABLE#FILENAME", the row's values in
// `features`, group = the filename's stem, except that rows whose 58 values equal an
// earlier row's exactly (the same recording listed twice, e.g. GTZAN's repetitions)
// join that row's group and are counted in a note.
Dataset TableDataset(const FeatureTable& table);

// The 57 model features of a row (every value but `length`).
std::vector<float> ModelFeatures(const std::vector<double>& values);

}  // namespace genre
