// Whole experiments over a dataset: load, split, build inputs, train, evaluate;
// k-fold cross-validation over groups. No libtorch types here.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "genre/data/dataset.h"
#include "genre/data/split.h"
#include "genre/train/trainer.h"

namespace genre {

class Classifier;

struct PreparedData {
  Dataset dataset;      // with every track's split assigned
  ExampleSet examples;  // inputs of the usable tracks
};

// Loads the dataset, assigns the seeded split (pre-assigned tracks keep theirs),
// sets card.classes to the dataset's labels and builds the inputs the card
// describes. Throws as LoadDataset / BuildExamples, and InputError when fewer
// than two classes have usable tracks.
PreparedData PrepareData(const DatasetOptions& dataset, const SplitOptions& split, ModelCard& card,
                         const ExampleOptions& examples);

struct SplitExamples {
  std::vector<Example> train, valid, test;
};
// Moves every example of `data` to its track's split: data.examples keeps only its skipped
// list (no copy of the examples: a million-track set holds each once).
SplitExamples TakeSplits(PreparedData& data);

struct RunOutcome {
  TrainResult result;
  bool has_test = false;
  Evaluation test;  // on the test split (when it has tracks)
  std::size_t n_train = 0, n_valid = 0, n_test = 0;
};

// Trains `model` on the train split (valid split for early stopping) and
// evaluates it on the test split (with a group: on rank 0; see Train).
RunOutcome TrainOnSplit(Model& model, const SplitExamples& split, const TrainOptions& options,
                        const EpochCallback& on_epoch = {}, ProcessGroup* group = nullptr);

// Each track of data.dataset classified song by song as genre-guess does (for an ensemble,
// which has no windows of its own); `threads` songs at a time. Tracks that fail, or whose
// label is not one of the classifier's, go to data.examples.skipped.
Evaluation EvaluateSongs(const Classifier& classifier, PreparedData& data, int threads);

struct FoldOutcome {
  int fold = 0;
  Metrics tracks, windows;
  int epochs = 0;
  double seconds = 0;
};

// One held-out track of a CV: its probabilities from the fold that held it out.
struct HeldOut {
  std::size_t track = 0;  // index into PreparedData::dataset.tracks
  int fold = 0;
  std::vector<float> probs;
};

struct CvOutcome {
  std::vector<HeldOut> held_out;  // every track, in fold order
  std::vector<FoldOutcome> folds;
  double accuracy_mean = 0, accuracy_std = 0;  // track accuracy over folds (population std)
  double macro_f1_mean = 0, macro_f1_std = 0;
  Metrics pooled;  // every held-out track of every fold: the CV confusion matrix
};

using FoldCallback = std::function<void(int fold, int folds, const EpochStats&, int epochs)>;

// k-fold CV over groups (stratified, seeded): each fold is the test set once; a
// grouped share `valid` of the remaining tracks monitors early stopping. `fixed`
// (one fold per dataset track, -1 = left out; see FoldsFromFile) replaces the drawn
// folds; k must then be its number of folds.
CvOutcome CrossValidate(const ModelCard& card, const PreparedData& data, int k, double valid, std::uint64_t seed,
                        const TrainOptions& options, const FoldCallback& on_epoch = {},
                        const std::vector<int>& fixed = {});

}  // namespace genre
