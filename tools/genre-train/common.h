// Shared by the genre-train command files: exit codes, dataset options, small
// formatting helpers, and the registration of each command group.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "genre/data/dataset.h"
#include "genre/data/split.h"
#include "genre/error.h"

namespace genre_train {

namespace fs = std::filesystem;

using genre::kExitOk, genre::kExitUsage, genre::kExitModel, genre::kExitOutput, genre::kExitNoData, genre::kExitGroup;
constexpr int kExitSkipped = genre::kExitPartial;
inline constexpr const char* kVersion = GENRE_VERSION;

// Options shared by the subcommands that read a dataset.
struct DatasetArgs {
  genre::DatasetOptions dataset;
  std::string conflicts = "first";
  std::string split_lists;  // folder with train*/valid*/test* lists
  genre::SplitOptions split;
  int folds = 0;
  int threads = 0;
  std::string cache;

  void AddTo(CLI::App* app, bool with_split) {
    app->add_option("sources", dataset.sources,
                    "Genre folders, CSV manifests, feature tables (GTZAN layout), MSD .h5 files or folders of them")
        ->required();
    app->add_option("--labels", dataset.label_files,
                    "MSD label file (tagtraum / Top-MAGD / MASD .cls, gzip ok); repeatable");
    app->add_option("--conflicts", conflicts, "When label files disagree: first (the first file given wins) | drop")
        ->check(CLI::IsMember({"first", "drop"}))
        ->capture_default_str();
    app->add_option("--train-list", dataset.train_list, "Split list of training ids");
    app->add_option("--valid-list", dataset.valid_list, "Split list of validation ids");
    app->add_option("--test-list", dataset.test_list, "Split list of test ids");
    app->add_option("--split-lists", split_lists, "Folder holding train*.txt, valid*.txt and test*.txt split lists");
    app->add_option("-j,--threads", threads, "Threads (default: all cores)");
    if (!with_split) return;
    app->add_option("--valid", split.valid, "Share of each label for validation")->capture_default_str();
    app->add_option("--test", split.test, "Share of each label for test")->capture_default_str();
    app->add_option("--seed", split.seed, "Seed of the split")->capture_default_str();
    app->add_option("--folds", folds, "Also assign K grouped, stratified folds");
  }

  // Fills derived options; throws genre::Error.
  void Resolve() {
    dataset.conflicts = genre::ParseConflictPolicy(conflicts);
    if (!split_lists.empty()) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(split_lists, ec)) {
        const std::string name = entry.path().filename().string();
        auto pick = [&](const char* prefix, std::string& into) {
          if (name.rfind(prefix, 0) == 0 && into.empty()) into = entry.path().string();
        };
        pick("train", dataset.train_list);
        pick("valid", dataset.valid_list);
        pick("test", dataset.test_list);
      }
      if (ec) throw genre::IoError(split_lists + ": cannot list: " + ec.message());
    }
    split.Validate();
  }
};

inline void PrintSkipped(const genre::Dataset& d) {
  for (const genre::Skipped& s : d.skipped) std::cerr << "genre-train: skipped " << s.Line() << "\n";
}

// One line on stderr, and the exit code of the error's type (genre::ExitCodeFor).
inline int ErrorExit(const genre::Error& e) {
  std::cerr << "genre-train: " << e.what() << "\n";
  return genre::ExitCodeFor(e);
}

inline std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

inline std::string Pad(const std::string& s, std::size_t width, bool left = false) {
  if (s.size() >= width) return s;
  return left ? s + std::string(width - s.size(), ' ') : std::string(width - s.size(), ' ') + s;
}

inline constexpr const char* kFooter =
    "Exit codes: 0 done; 1 done, some files skipped (listed on stderr); 2 usage error or\n"
    "            invalid option; 3 model or checkpoint problem (unreadable, truncated, another\n"
    "            class list or architecture; the model tool missing); 4 output could not be\n"
    "            written; 5 no usable data (or it could not be processed); 6 a distributed\n"
    "            training group failed (a worker died, could not join or timed out).";

// The model commands and their one-line help. They run in genre-train-model (the
// only genre-train code that links libtorch, ~0.5 s and ~150 MB at start-up):
// genre-train hands them over with exec, so `genre-train data ...` never loads it.
struct ModelCommand {
  const char* name;
  const char* help;
};
inline constexpr ModelCommand kModelCommands[] = {
    {"train", "Train a model on a dataset (split: train / valid / test)"},
    {"eval", "Evaluate a model on a dataset: accuracy, F1, confusion matrix"},
    {"cv", "k-fold cross-validation over groups (--folds, default 5)"},
    {"search", "Grid search ranked by grouped CV (--folds, default 3)"},
    {"import-keras", "Import the MSD convnet of Choi et al. (Keras HDF5) as a backbone model"},
    {"attach", "Attach a head (mlp on msd-convnet features) to a backbone: a model that reads audio"},
    {"finetune", "Fine-tune the last blocks of an attached msd-convnet model on audio (small learning rate)"},
    {"convert",
     "Re-save a model file in this build's format (format_version 1 -> 2: weights readable without libtorch)"},
};

// Each command group adds its subcommands; the chosen one sets `action`.
using Action = std::function<int()>;
void AddDataCommands(CLI::App* data, Action& action);
void AddModelCommands(CLI::App* app, Action& action, const std::string& command);
void AddEnsembleCommands(CLI::App* app, Action& action, const std::string& command);
void AddBackboneCommands(CLI::App* app, Action& action, const std::string& command);

}  // namespace genre_train
