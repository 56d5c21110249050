// Tracks and seconds per label per split, and which files could not be used.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "genre/data/dataset.h"

namespace genre {

class FeatureCache;

struct SummaryRow {
  std::string label;
  std::array<std::size_t, 4> tracks{};  // indexed by Split: none, train, valid, test
  std::array<double, 4> seconds{};
  std::size_t total_tracks() const { return tracks[0] + tracks[1] + tracks[2] + tracks[3]; }
  double total_seconds() const { return seconds[0] + seconds[1] + seconds[2] + seconds[3]; }
};

struct DatasetSummary {
  std::vector<SummaryRow> rows;  // one per class, in class order
  SummaryRow total;              // label "total"
};

// Duration of every track in seconds: from the cache when it has the file, else
// from the audio header (no decoding) or the MSD songs table. Tracks whose file
// cannot be opened are moved from dataset.tracks to dataset.skipped, with
// the matching durations removed. Parallel on `threads` (0 = all cores).
std::vector<double> TrackDurations(Dataset& dataset, const FeatureCache* cache = nullptr, int threads = 0);

DatasetSummary Summarize(const Dataset& dataset, const std::vector<double>& durations);

// Per-fold track counts per label: result[class][fold].
std::vector<std::vector<std::size_t>> FoldCounts(const Dataset& dataset, const std::vector<int>& folds, int k);

}  // namespace genre
