#include "genre/train/experiment.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "genre/error.h"
#include "genre/model/classifier.h"
#include "genre/train/predictions.h"
#include "genre/util/memory.h"
#include "genre/util/parallel.h"

namespace genre {

PreparedData PrepareData(const DatasetOptions& dataset_options, const SplitOptions& split, ModelCard& card,
                         const ExampleOptions& example_options) {
  PreparedData d;
  d.dataset = LoadDataset(dataset_options);
  AssignSplits(d.dataset, split);
  card.classes = d.dataset.classes;
  card.input.rows = InputRows(card.input);
  d.examples = BuildExamples(d.dataset, card.classes, card.input, example_options);
  ReleaseFreeMemory();  // what reading every input once left in the heap
  std::set<int> labels;
  for (const Example& e : d.examples.examples) labels.insert(e.label);
  if (labels.size() < 2)
    throw InputError("the dataset has " + std::to_string(labels.size()) +
                     " class(es) with usable tracks; a classifier needs at least 2");
  return d;
}

SplitExamples TakeSplits(PreparedData& data) {
  SplitExamples s;
  std::vector<Example>* const sets[] = {&s.train, &s.valid, &s.test};
  auto set_of = [&](std::size_t i) {  // index into sets; a track without a split trains
    const Split split = data.dataset.tracks[data.examples.track[i]].split;
    return split == Split::kValid ? 1 : split == Split::kTest ? 2 : 0;
  };
  std::size_t count[3] = {};  // each split's vector sized once
  for (std::size_t i = 0; i < data.examples.examples.size(); ++i) ++count[set_of(i)];
  for (int j = 0; j < 3; ++j) sets[j]->reserve(count[j]);
  for (std::size_t i = 0; i < data.examples.examples.size(); ++i)
    sets[set_of(i)]->push_back(std::move(data.examples.examples[i]));
  data.examples.examples = {};
  data.examples.track = {};
  return s;
}

RunOutcome TrainOnSplit(Model& model, const SplitExamples& s, const TrainOptions& options,
                        const EpochCallback& on_epoch, ProcessGroup* group) {
  RunOutcome out;
  out.n_train = s.train.size();
  out.n_valid = s.valid.size();
  out.n_test = s.test.size();
  out.result = Train(model, s.train, s.valid, options, on_epoch, group);
  if (!s.test.empty() && out.result.finished && (!group || group->rank() == 0)) {
    out.has_test = true;
    out.test = Evaluate(model, s.test);
  }
  return out;
}

CvOutcome CrossValidate(const ModelCard& card, const PreparedData& data, int k, double valid, std::uint64_t seed,
                        const TrainOptions& options, const FoldCallback& on_epoch, const std::vector<int>& fixed) {
  // The folds are drawn over the usable tracks only (or taken from `fixed`).
  Dataset usable;
  for (std::size_t i : data.examples.track) usable.tracks.push_back(data.dataset.tracks[i]);
  usable.UpdateClasses();
  std::vector<int> fold;
  if (fixed.empty()) {
    fold = AssignFolds(usable, k, seed);
  } else {
    if (fixed.size() != data.dataset.tracks.size())
      throw OptionError("CrossValidate: one fixed fold per track expected");
    for (std::size_t i : data.examples.track) fold.push_back(fixed[i]);
    for (int f = 0; f < k; ++f)
      if (std::find(fold.begin(), fold.end(), f) == fold.end())
        throw InputError("fold " + std::to_string(f) + " of " + std::to_string(k) + " holds no usable track");
  }
  CvOutcome cv;
  std::vector<int> truth, held_fold;
  std::vector<std::vector<float>> held_probs;
  for (int f = 0; f < k; ++f) {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset rest;
    std::vector<std::size_t> rest_index, test_index;
    std::vector<Example> train, val, test;
    for (std::size_t i = 0; i < usable.tracks.size(); ++i) {
      if (fold[i] < 0) continue;  // left out
      if (fold[i] == f) {
        test.push_back(data.examples.examples[i]);
        test_index.push_back(i);
      } else {
        Track t = usable.tracks[i];
        t.split = Split::kNone;
        rest.tracks.push_back(std::move(t));
        rest_index.push_back(i);
      }
    }
    rest.UpdateClasses();
    AssignSplits(rest, SplitOptions{valid, 0.0, seed + static_cast<std::uint64_t>(f)});
    for (std::size_t j = 0; j < rest.tracks.size(); ++j)
      (rest.tracks[j].split == Split::kValid ? val : train).push_back(data.examples.examples[rest_index[j]]);
    Model model = Model::Create(card, seed + 1000 + static_cast<std::uint64_t>(f));
    TrainOptions o = options;
    o.checkpoint_dir.clear();
    o.resume = false;
    const TrainResult r = Train(model, train, val, o, [&](const EpochStats& s, int epochs) {
      if (on_epoch) on_epoch(f, k, s, epochs);
    });
    const Evaluation ev = Evaluate(model, test);
    FoldOutcome out;
    out.fold = f;
    out.tracks = ev.tracks;
    out.windows = ev.windows;
    out.epochs = static_cast<int>(r.history.size());
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (std::size_t i = 0; i < test.size(); ++i) {
      truth.push_back(test[i].label);
      held_fold.push_back(f);
      held_probs.push_back(ev.track_probs[i]);
      cv.held_out.push_back({data.examples.track[test_index[i]], f, ev.track_probs[i]});
    }
    cv.folds.push_back(std::move(out));
  }
  const FoldedMetrics m = ScoreFolds(truth, held_probs, held_fold, card.classes);
  cv.accuracy_mean = m.accuracy_mean;
  cv.accuracy_std = m.accuracy_std;
  cv.macro_f1_mean = m.macro_f1_mean;
  cv.macro_f1_std = m.macro_f1_std;
  cv.pooled = m.pooled;
  return cv;
}

Evaluation EvaluateSongs(const Classifier& classifier, PreparedData& data, int threads) {
  const std::vector<std::string>& classes = classifier.network().card().classes;
  const std::vector<Track>& tracks = data.dataset.tracks;
  std::vector<std::vector<float>> probs(tracks.size());
  std::vector<std::string> errors(tracks.size());
  const int workers = std::min<int>(ResolveThreads(threads), static_cast<int>(tracks.size()));
  ClassifyOptions o;
  o.threads = workers > 1 ? 1 : ResolveThreads(threads);  // songs in parallel, or one on every core
  ParallelFor(tracks.size(), workers, [&](std::size_t i) {
    const Track& t = tracks[i];
    try {
      if (t.kind == TrackKind::kFeatures) throw InputError("an ensemble classifies audio, not rows of a feature table");
      probs[i] = classifier.ClassifyFile(t.path, o).probs;
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  });
  Evaluation ev;
  std::vector<int> truth, predicted;
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    if (!errors[i].empty()) {
      data.examples.skipped.push_back({tracks[i].path, errors[i]});
      continue;
    }
    const auto label = std::find(classes.begin(), classes.end(), tracks[i].label) - classes.begin();
    if (label == static_cast<long>(classes.size())) {
      data.examples.skipped.push_back({tracks[i].path, "genre '" + tracks[i].label + "' is not one of the model's"});
      continue;
    }
    truth.push_back(static_cast<int>(label));
    predicted.push_back(static_cast<int>(std::max_element(probs[i].begin(), probs[i].end()) - probs[i].begin()));
    ev.track_probs.push_back(probs[i]);
  }
  ev.tracks = ComputeMetrics(truth, predicted, classes);
  return ev;
}

}  // namespace genre
