#include "genre/train/record.h"

#include <ctime>
#include <filesystem>

#include "genre/train/predictions.h"
#include "genre/train/report.h"
#include "genre/util/atomic_file.h"
#include "genre/util/parallel.h"

#ifndef GENRE_GIT_COMMIT
#define GENRE_GIT_COMMIT "unknown"
#endif

namespace genre {

namespace fs = std::filesystem;

const char* BuildCommit() { return GENRE_GIT_COMMIT; }

std::string UtcTimestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return when;
}

void StampCard(ModelCard& card) {
  card.git_commit = BuildCommit();
  card.created = UtcTimestamp();
}

nlohmann::json ToJson(const EpochStats& s) {
  return {{"epoch", s.epoch},
          {"train_loss", s.train_loss},
          {"train_accuracy", s.train_accuracy},
          {"valid_loss", s.valid_loss},
          {"valid_accuracy", s.valid_accuracy},
          {"valid_track_accuracy", s.valid_track_accuracy},
          {"lr", s.lr},
          {"seconds", s.seconds},
          {"windows_per_second", s.windows_per_second},
          {"best", s.best}};
}

nlohmann::json ToJson(const TrainOptions& o) {
  return {{"epochs", o.epochs},
          {"batch", o.batch},
          {"lr", o.lr},
          {"weight_decay", o.weight_decay},
          {"seed", o.seed},
          {"class_weights", o.class_weights ? "balanced" : "none"},
          {"balanced_sampler", o.balanced_sampler},
          {"per_genre_cap", o.per_genre_cap},
          {"windows_per_track", o.windows_per_track},
          {"window_mb", o.window_mb},
          {"augment",
           {{"random_crop", o.augment.random_crop},
            {"gain_db", o.augment.gain_db},
            {"time_masks", o.augment.time_masks},
            {"time_mask", o.augment.time_mask},
            {"freq_masks", o.augment.freq_masks},
            {"freq_mask", o.augment.freq_mask}}},
          {"early_stopping",
           {{"patience", o.early_stopping.patience},
            {"min_delta", o.early_stopping.min_delta},
            {"restore_best", o.early_stopping.restore_best}}},
          {"plateau", {{"factor", o.plateau.factor}, {"patience", o.plateau.patience}, {"min_lr", o.plateau.min_lr}}},
          {"threads", ResolveThreads(o.threads)}};
}

nlohmann::json ToJson(const CvOutcome& cv) {
  nlohmann::json folds = nlohmann::json::array();
  for (const auto& f : cv.folds)
    folds.push_back({{"fold", f.fold},
                     {"track_accuracy", f.tracks.accuracy},
                     {"macro_f1", f.tracks.macro_f1},
                     {"window_accuracy", f.windows.accuracy},
                     {"tracks", f.tracks.n},
                     {"epochs", f.epochs},
                     {"seconds", f.seconds}});
  return {{"track_accuracy", {{"mean", cv.accuracy_mean}, {"std", cv.accuracy_std}}},
          {"macro_f1", {{"mean", cv.macro_f1_mean}, {"std", cv.macro_f1_std}}},
          {"folds", folds},
          {"pooled", ToJson(cv.pooled)}};
}

nlohmann::json DataRecord(const PreparedData& d, const DatasetOptions& dataset) {
  nlohmann::json counts = nlohmann::json::object();
  for (std::size_t i = 0; i < d.examples.examples.size(); ++i) {
    const Track& t = d.dataset.tracks[d.examples.track[i]];
    const std::string split = ToString(t.split).empty() ? "train" : ToString(t.split);
    nlohmann::json& c = counts[t.label];
    if (!c.is_object()) c = nlohmann::json::object();
    c[split] = c.value(split, 0) + 1;
  }
  return {{"sources", dataset.sources},
          {"label_files", dataset.label_files},
          {"tracks", d.examples.examples.size()},
          {"skipped", d.examples.skipped.size() + d.dataset.skipped.size()},
          {"per_class", counts}};
}

nlohmann::json TrainingJson(const TrainOptions& options, const RunOutcome& run, const TrainingRecord& r) {
  nlohmann::json j = {{"data", r.data},
                      {"split",
                       {{"seed", r.split.seed},
                        {"valid", r.split.valid},
                        {"test", r.split.test},
                        {"train_tracks", run.n_train},
                        {"valid_tracks", run.n_valid},
                        {"test_tracks", run.n_test},
                        {"file", r.split_file}}},
                      {"options", ToJson(options)},
                      {"stop_reason", run.result.stop_reason},
                      {"best_epoch", run.result.best_epoch},
                      {"epochs_run", run.result.history.size()},
                      {"command", r.command}};
  nlohmann::json history = nlohmann::json::array();
  for (const auto& epoch : run.result.history) history.push_back(ToJson(epoch));
  j["history"] = history;
  if (run.has_test)
    j["metrics"] = {{"test_tracks", ToJson(run.test.tracks)}, {"test_windows_accuracy", run.test.windows.accuracy}};
  return j;
}

std::string HeldOutCsv(const CvOutcome& cv, const PreparedData& data, const std::vector<std::string>& classes) {
  std::vector<PredictionRow> rows;
  for (const HeldOut& h : cv.held_out) {
    const Track& t = data.dataset.tracks[h.track];
    rows.push_back({t.path, t.label, t.group, h.fold, h.probs});
  }
  return PredictionsCsv(classes, rows);
}

namespace {
// dir/confusion.{txt,csv,svg} of `m`; false when the SVG was not drawn.
bool WriteConfusion(const fs::path& dir, const Metrics& m, const std::string& title) {
  WriteTextFile((dir / "confusion.txt").string(), ConfusionTable(m));
  WriteTextFile((dir / "confusion.csv").string(), ConfusionCsv(m));
  return PlotConfusion((dir / "confusion.svg").string(), m, title);
}
}  // namespace

bool WriteEvaluation(const std::string& dir, const Evaluation& ev, const std::string& title) {
  MakeDirectories(dir);
  WriteTextFile(
      (fs::path(dir) / "metrics.json").string(),
      nlohmann::json{{"tracks", ToJson(ev.tracks)}, {"windows", ToJson(ev.windows)}, {"window_loss", ev.loss}}.dump(2));
  WriteTextFile((fs::path(dir) / "report.txt").string(), ClassReport(ev.tracks));
  return WriteConfusion(dir, ev.tracks, title);
}

bool WriteHistory(const std::string& run_dir, const std::vector<EpochStats>& history, const std::string& title) {
  WriteTextFile((fs::path(run_dir) / "history.csv").string(), HistoryCsv(history));
  return PlotLearningCurves((fs::path(run_dir) / "curves.svg").string(), history, title);
}

bool WriteCv(const std::string& dir, const CvOutcome& cv, const PreparedData& data,
             const std::vector<std::string>& classes, const nlohmann::json& record, const std::string& title) {
  WriteTextFile((fs::path(dir) / "cv.json").string(), record.dump(2));
  WriteTextFile((fs::path(dir) / "predictions.csv").string(), HeldOutCsv(cv, data, classes));
  return WriteConfusion(dir, cv.pooled, title);
}

}  // namespace genre
