// Held-out predictions of cross-validation runs, and candidates compared on them.
//
// `genre-train cv --out-dir D` writes D/predictions.csv: one line per held-out
// track, path,label,group,fold,<one probability per genre>. Runs made with the same
// fold file (cv --folds-from) hold out the same recordings in the same folds, so
// their predictions can be joined by recording (file stem) and averaged: the CV of
// an ensemble without training anything again.
#pragma once

#include <string>
#include <vector>

#include "genre/train/metrics.h"

namespace genre {

struct PredictionRow {
  std::string path, label, group;
  int fold = 0;
  std::vector<float> probs;  // in PredictionFile::classes order
};

struct PredictionFile {
  std::string path;
  std::vector<std::string> classes;
  std::vector<PredictionRow> rows;
};

// Throws IoError (unreadable), FormatError (bad header or line; names file and line).
PredictionFile ReadPredictions(const std::string& path);
std::string PredictionsCsv(const std::vector<std::string>& classes, const std::vector<PredictionRow>& rows);

// Track metrics per fold (mean and population std over folds) and pooled.
struct FoldedMetrics {
  std::vector<Metrics> folds;  // folds in increasing fold number (empty folds skipped)
  std::vector<int> fold_ids;
  double accuracy_mean = 0, accuracy_std = 0, macro_f1_mean = 0, macro_f1_std = 0;
  Metrics pooled;
};
// probs[i] are the class probabilities of track i (classes order); its prediction is the argmax.
FoldedMetrics ScoreFolds(const std::vector<int>& truth, const std::vector<std::vector<float>>& probs,
                         const std::vector<int>& fold, const std::vector<std::string>& classes);

// The recordings every file holds (joined by file stem), in the first file's order;
// probs[f][i] is file f's prediction of recording i, mapped to `classes` (the first
// file's order). Throws InputError when the files disagree on a recording's genre or
// fold, or hold other genres, or share no recording.
struct JoinedPredictions {
  std::vector<std::string> classes;
  std::vector<PredictionRow> rows;  // the first file's rows
  std::vector<int> truth;           // class index per recording
  std::vector<std::vector<std::vector<float>>> probs;
};
JoinedPredictions JoinPredictions(const std::vector<PredictionFile>& files);

// The element-wise mean of the files' predictions (the ensemble's).
std::vector<std::vector<float>> MeanPredictions(const JoinedPredictions& joined);

}  // namespace genre
