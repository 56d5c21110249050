// The experiment record: what a model card says of how its model was made (commit, date,
// data, split, options, every epoch, test metrics), and the files that a training run, an
// evaluation and a cross-validation leave behind. The tools choose only where files go and
// what to print. No libtorch here.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "genre/data/dataset.h"
#include "genre/data/split.h"
#include "genre/model/card.h"
#include "genre/train/experiment.h"

namespace genre {

// The commit the library was built from (configure time; "unknown" outside a git checkout).
const char* BuildCommit();
// Now in UTC, as cards record it: "2026-12-02T10:00:00Z".
std::string UtcTimestamp();
// card.git_commit and card.created: every card a tool makes is stamped so.
void StampCard(ModelCard& card);

nlohmann::json ToJson(const EpochStats& epoch);
nlohmann::json ToJson(const TrainOptions& options);  // threads resolved to the count used
nlohmann::json ToJson(const CvOutcome& cv);          // per fold, mean and std, pooled metrics

// Sources and label files as given, tracks used and skipped, per class the tracks of each split.
nlohmann::json DataRecord(const PreparedData& data, const DatasetOptions& dataset);

// The card's `training` block of a finished run (TrainOnSplit).
struct TrainingRecord {
  nlohmann::json data;     // DataRecord, taken before the examples went to their splits
  std::string command;     // the command line
  SplitOptions split;      // how the split was drawn
  std::string split_file;  // where the run wrote it (split.csv)
};
nlohmann::json TrainingJson(const TrainOptions& options, const RunOutcome& run, const TrainingRecord& record);

// Every held-out track of a CV with its probabilities (predictions.csv; `genre-train combine`).
std::string HeldOutCsv(const CvOutcome& cv, const PreparedData& data, const std::vector<std::string>& classes);

// The files, each written atomically; throw OutputError. Each returns false when its SVG
// could not be drawn (gnuplot missing), true otherwise.
// dir/metrics.json, confusion.{txt,csv,svg}, report.txt.
bool WriteEvaluation(const std::string& dir, const Evaluation& evaluation, const std::string& title);
// run_dir/history.csv, curves.svg.
bool WriteHistory(const std::string& run_dir, const std::vector<EpochStats>& history, const std::string& title);
// dir/cv.json (`record`), confusion.{txt,csv,svg} (pooled), predictions.csv.
bool WriteCv(const std::string& dir, const CvOutcome& cv, const PreparedData& data,
             const std::vector<std::string>& classes, const nlohmann::json& record, const std::string& title);

}  // namespace genre
