// Feature tables: CSV files, one row per clip, in one of three layouts:
//  - the GTZAN feature table (features_30_sec.csv): `filename,length,<57 feature
//    columns>,label`, the columns of GtzanColumns() in that order (genre-features
//    --kind gtzan-vector writes them);
//  - the MSD convnet's (Choi et al.'s gtzan_features.csv): `filename,label,<120 MFCC
//    statistics>,<160 convnet features>`, MsdConvnetColumns() (genre-features --kind
//    msd-convnet --mfcc-stats writes them).
//  - both joined (scripts/join_tables.sh writes it from the two): `filename,label,
//    <the 280 MSD-convnet columns>,<the GTZAN columns, length first>`, for heads on
//    the convnet's features and the GTZAN vector together (input msd-convnet+gtzan).
// genre-train reads them as datasets for the mlp.
#pragma once

#include <string>
#include <vector>

#include "genre/data/dataset.h"

namespace genre {

// The 280 value columns of the MSD convnet layout: mfcc_mean_i, mfcc_std_i, dmfcc_mean_i,
// dmfcc_std_i, ddmfcc_mean_i, ddmfcc_std_i (i < 20), then elu<b>_<c> (b 1..5, c < 32).
const std::vector<std::string>& MsdConvnetColumns();
inline constexpr int kMsdMfccStats = 120, kMsdConvnetFeatures = 160;

struct FeatureTableRow {
  std::string filename, label;
  std::vector<double> values;  // the layout's value columns in order (GTZAN: length, then the 57 features;
                               // joined: the MSD-convnet layout's, then the GTZAN layout's)
  std::size_t line = 0;        // 1-based line in the file
};

struct FeatureTable {
  std::string path;
  TableLayout layout = TableLayout::kGtzan;
  std::vector<FeatureTableRow> rows;
  std::vector<std::string> problems;  // "PATH:LINE: problem (line skipped)"
};

// True when the file's first line starts with "filename," (a feature table, not a
// manifest). Throws IoError when unreadable.
bool IsFeatureTable(const std::string& path);

// The layout a table's header announces (its first line only; ReadFeatureTable checks
// every column). Throws IoError (unreadable), FormatError (empty).
TableLayout FeatureTableLayout(const std::string& path);

// Throws IoError (unreadable), FormatError (a header of neither layout, naming the
// first column that differs, or no usable rows). Rows with the wrong
// number of fields, a non-numeric value or no label are skipped and reported.
FeatureTable ReadFeatureTable(const std::string& path);

// One track per row: kind kFeatures, path "TABLE#FILENAME", layout in table_layout, the row's values in
// `features`, group = the filename's stem, except that rows whose 58 values equal an
// earlier row's exactly (the same recording listed twice, e.g. GTZAN's repetitions)
// join that row's group and are counted in a note.
Dataset TableDataset(const FeatureTable& table);

// The 57 model features of a GTZAN-layout row (every value but `length`).
std::vector<float> ModelFeatures(const std::vector<double>& values);
// The 160 convnet features of an MSD-convnet-layout row.
std::vector<float> ConvnetFeatures(const std::vector<double>& values);
// The 160 convnet features, then the 57 GTZAN features, of a joined row.
std::vector<float> ConvnetGtzanFeatures(const std::vector<double>& values);

}  // namespace genre
