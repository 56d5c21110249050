// genre-train combine | ensemble | calibrate: candidates compared on the same
// held-out recordings, an ensemble model file made of trained models, and the
// temperature that calibrates (a mean of) held-out predictions. No libtorch.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <fstream>

#include "common.h"
#include "genre/model/card.h"
#include "genre/train/calibration.h"
#include "genre/train/predictions.h"
#include "genre/train/record.h"
#include "genre/train/report.h"
#include "genre/util/atomic_file.h"

namespace genre_train {

namespace {

nlohmann::json FoldedJson(const genre::FoldedMetrics& m) {
  nlohmann::json folds = nlohmann::json::array();
  for (std::size_t i = 0; i < m.folds.size(); ++i)
    folds.push_back({{"fold", m.fold_ids[i]},
                     {"track_accuracy", m.folds[i].accuracy},
                     {"macro_f1", m.folds[i].macro_f1},
                     {"tracks", m.folds[i].n}});
  return {{"track_accuracy", {{"mean", m.accuracy_mean}, {"std", m.accuracy_std}}},
          {"macro_f1", {{"mean", m.macro_f1_mean}, {"std", m.macro_f1_std}}},
          {"folds", folds},
          {"pooled", genre::ToJson(m.pooled)}};
}

int Combine(const std::vector<std::string>& files, std::vector<std::string> names, const std::string& out_dir,
            const std::string& command) {
  if (files.size() < 2) {
    std::cerr << "genre-train: combine needs at least 2 prediction files\n";
    return kExitUsage;
  }
  if (!names.empty() && names.size() != files.size()) {
    std::cerr << "genre-train: --names has " << names.size() << " names for " << files.size() << " files\n";
    return kExitUsage;
  }
  genre::JoinedPredictions joined;
  std::vector<genre::PredictionFile> read;
  for (const std::string& f : files) read.push_back(genre::ReadPredictions(f));
  joined = genre::JoinPredictions(read);
  if (names.empty())
    for (const std::string& f : files) names.push_back(fs::path(f).parent_path().filename().string());
  std::vector<int> fold;
  for (const auto& r : joined.rows) fold.push_back(r.fold);
  std::vector<genre::FoldedMetrics> scores;
  for (const auto& p : joined.probs) scores.push_back(genre::ScoreFolds(joined.truth, p, fold, joined.classes));
  const std::vector<std::vector<float>> mean = genre::MeanPredictions(joined);
  scores.push_back(genre::ScoreFolds(joined.truth, mean, fold, joined.classes));
  names.push_back("mean of " + std::to_string(files.size()));

  std::cout << joined.rows.size() << " recordings held out by every run, " << scores.back().folds.size()
            << " folds\n\n";
  std::size_t width = 9;
  for (const std::string& n : names) width = std::max(width, n.size());
  std::cout << Pad("candidate", width, true)
            << "  track accuracy      macro-F1            pooled: accuracy  macro-F1\n";
  nlohmann::json candidates = nlohmann::json::array();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const genre::FoldedMetrics& s = scores[i];
    std::cout << Pad(names[i], width, true) << "  " << Fixed(s.accuracy_mean, 4) << " ± " << Fixed(s.accuracy_std, 4)
              << "   " << Fixed(s.macro_f1_mean, 4) << " ± " << Fixed(s.macro_f1_std, 4) << "           "
              << Fixed(s.pooled.accuracy, 4) << "    " << Fixed(s.pooled.macro_f1, 4) << "\n";
    nlohmann::json c = FoldedJson(s);
    c["name"] = names[i];
    c["predictions"] = i < files.size() ? files[i] : std::string();
    candidates.push_back(c);
  }
  std::cout << "\n"
            << names.back() << ", pooled over folds:\n"
            << genre::ClassReport(scores.back().pooled) << "\n"
            << genre::ConfusionTable(scores.back().pooled);
  if (!out_dir.empty()) {
    genre::MakeDirectories(out_dir);
    const nlohmann::json j = {{"command", command}, {"recordings", joined.rows.size()}, {"candidates", candidates}};
    genre::WriteTextFile((fs::path(out_dir) / "cv.json").string(), j.dump(2));
    genre::WriteTextFile((fs::path(out_dir) / "confusion.txt").string(), genre::ConfusionTable(scores.back().pooled));
    genre::WriteTextFile((fs::path(out_dir) / "confusion.csv").string(), genre::ConfusionCsv(scores.back().pooled));
    std::vector<genre::PredictionRow> rows = joined.rows;
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i].probs = mean[i];
    genre::WriteTextFile((fs::path(out_dir) / "predictions.csv").string(), genre::PredictionsCsv(joined.classes, rows));
  }
  return kExitOk;
}

nlohmann::json CalibrationJson(const genre::CalibrationReport& r) {
  return {{"ece", r.ece}, {"nll", r.nll}, {"accuracy", r.accuracy}};
}

// One file: its own rows. Several: the recordings all of them hold, joined by file
// stem, and the mean of their predictions (the ensemble of those runs).
int Calibrate(const std::vector<std::string>& files, const std::string& out_dir) {
  constexpr int kBins = 15;
  std::vector<std::vector<float>> probs;
  std::vector<int> truth;
  double temperature = 1;
  genre::CalibrationReport before, after;
  std::vector<genre::PredictionFile> read;
  for (const std::string& f : files) read.push_back(genre::ReadPredictions(f));
  if (read.size() == 1) {
    const genre::PredictionFile& p = read.front();
    for (const genre::PredictionRow& r : p.rows) {
      const auto label = std::find(p.classes.begin(), p.classes.end(), r.label) - p.classes.begin();
      if (label == static_cast<long>(p.classes.size()))
        throw genre::InputError(p.path + ": " + r.path + " has genre " + r.label + ", not one of the file's");
      truth.push_back(static_cast<int>(label));
      probs.push_back(r.probs);
    }
  } else {
    const genre::JoinedPredictions joined = genre::JoinPredictions(read);
    truth = joined.truth;
    probs = genre::MeanPredictions(joined);
  }
  temperature = genre::FitTemperature(probs, truth);
  before = genre::Calibration(probs, truth, kBins);
  std::vector<std::vector<float>> scaled;
  for (const auto& p : probs) scaled.push_back(genre::ApplyTemperature(p, temperature));
  after = genre::Calibration(scaled, truth, kBins);
  std::cout << probs.size() << " tracks"
            << (files.size() > 1 ? ", mean of " + std::to_string(files.size()) + " runs" : std::string()) << "\n"
            << "temperature: " << Fixed(temperature, 4) << "\n\n"
            << "            ECE     NLL  accuracy\n"
            << "before  " << Fixed(before.ece, 4) << "  " << Fixed(before.nll, 4) << "    " << Fixed(before.accuracy, 4)
            << "\n"
            << "after   " << Fixed(after.ece, 4) << "  " << Fixed(after.nll, 4) << "    " << Fixed(after.accuracy, 4)
            << "\n";
  if (!out_dir.empty()) {
    genre::MakeDirectories(out_dir);
    const nlohmann::json j = {
        {"temperature", temperature},
        {"tracks", probs.size()},
        {"before", CalibrationJson(before)},
        {"after", CalibrationJson(after)},
        {"bins", kBins},
        {"predictions", files.size() == 1 ? nlohmann::json(files.front()) : nlohmann::json(files)}};
    genre::WriteTextFile((fs::path(out_dir) / "calibration.json").string(), j.dump(2) + "\n");
  }
  return kExitOk;
}

int Ensemble(const std::vector<std::string>& models, const std::string& out, const std::string& name,
             const std::vector<std::string>& cv_files, const std::string& calibration, const std::string& command) {
  genre::ModelCard card;
  card.name = name.empty() ? fs::path(out).stem().string() : name;
  genre::StampCard(card);
  card.training = {{"command", command}};
  if (!calibration.empty()) {
    const genre::CalibrationFile c = genre::ReadCalibrationFile(calibration);
    card.temperature = c.temperature;
    card.calibration = c.record;
  }
  if (models.size() < 2) {
    std::cerr << "genre-train: an ensemble needs at least 2 member models\n";
    return kExitUsage;
  }
  for (const std::string& m : models) genre::ReadModelCard(m);
  for (const std::string& cv_file : cv_files) {
    std::ifstream in(cv_file);
    try {
      card.training["cv"].push_back(nlohmann::json::parse(in));
      card.training["cv"].back()["file"] = cv_file;
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "genre-train: " << cv_file << ": cannot read as JSON: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  card = genre::WriteEnsembleFile(out, models, card);
  std::cout << out << ": ensemble of " << models.size() << " models (" << card.classes.size() << " genres)\n";
  return kExitOk;
}

}  // namespace

void AddEnsembleCommands(CLI::App* app, Action& action, const std::string& command) {
  struct State {
    std::vector<std::string> files, names, models;
    std::vector<std::string> cv, calibrate;
    std::string out_dir, out, name, calibrate_out, calibration;
  };
  auto s = std::make_shared<State>();
  CLI::App* combine = app->add_subcommand(
      "combine", "Compare CV runs made with the same --folds-from file, and their mean (an ensemble's CV)");
  combine->add_option("predictions", s->files, "predictions.csv of each run (genre-train cv --out-dir)")->required();
  combine->add_option("--names", s->names, "A name per file (default: each file's folder)")->delimiter(',');
  combine->add_option("--out-dir", s->out_dir, "Write cv.json, the mean's confusion matrix and predictions here");
  combine->callback(
      [s, &action, command] { action = [s, command] { return Combine(s->files, s->names, s->out_dir, command); }; });
  CLI::App* calibrate = app->add_subcommand(
      "calibrate", "Fit the temperature that calibrates held-out predictions (several files: their mean)");
  calibrate
      ->add_option("predictions", s->calibrate,
                   "predictions.csv of a run (genre-train cv --out-dir); several: "
                   "runs made with the same --folds-from file, calibrated as their mean")
      ->required();
  calibrate->add_option("--out-dir", s->calibrate_out, "Write calibration.json here");
  calibrate->callback([s, &action] { action = [s] { return Calibrate(s->calibrate, s->calibrate_out); }; });
  CLI::App* ensemble = app->add_subcommand(
      "ensemble", "Make one model file of trained models: it classifies a song by the mean of their probabilities");
  ensemble->add_option("models", s->models, "Member model files (.gmdl), at least 2")->required();
  ensemble->add_option("-o,--out", s->out, "Ensemble model file to write")->required();
  ensemble->add_option("--name", s->name, "Model name (default: the output's stem)");
  ensemble->add_option("--cv", s->cv, "A cv.json of genre-train combine to record in the card; repeatable");
  ensemble->add_option(
      "--calibration", s->calibration,
      "A calibration.json of genre-train calibrate: its temperature applies to the song probabilities");
  ensemble->callback([s, &action, command] {
    action = [s, command] { return Ensemble(s->models, s->out, s->name, s->cv, s->calibration, command); };
  });
}

}  // namespace genre_train
