// Training and evaluation of a Model on Examples: Adam, class-weighted
// cross-entropy, window augmentation, early stopping, ReduceLROnPlateau,
// atomic checkpoints with exact resume. No libtorch types in this header.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "genre/model/inputs.h"
#include "genre/model/model.h"
#include "genre/train/distributed.h"
#include "genre/train/metrics.h"
#include "genre/train/report.h"
#include "genre/train/schedule.h"

namespace genre {

struct AugmentOptions {
  bool random_crop = true;  // a new random window position for every sample every epoch
  double gain_db = 6.0;     // logmel only: add a uniform offset in [-gain_db, gain_db] dB
  int time_masks = 1;       // masks of up to time_mask columns set to the (standardised) mean
  int time_mask = 16;
  int freq_masks = 1;  // masks of up to freq_mask rows (logmel, segments)
  int freq_mask = 12;
};

struct TrainOptions {
  int epochs = 40;
  int batch = 32;
  double lr = 1e-3;  // Adam
  double weight_decay = 1e-4;
  std::uint64_t seed = 42;
  bool class_weights = true;      // "balanced": n / (k * n_c) over the epoch's training windows
  bool balanced_sampler = false;  // draw every class equally often (with replacement)
  int per_genre_cap = 0;          // at most this many training tracks per genre (0 = all)
  int windows_per_track = 8;      // most windows a long track gives per epoch (>= 1)
  AugmentOptions augment;
  EarlyStoppingOptions early_stopping;
  PlateauOptions plateau;
  int threads = 0;             // libtorch threads; 0 = all cores
  std::string checkpoint_dir;  // last.ckpt every epoch, best.ckpt on each new best ("" = none)
  bool resume = false;         // continue from checkpoint_dir/last.ckpt
  int stop_after = 0;          // stop after this many epochs of this run (a simulated kill; 0 = off)
  // Most MB of training inputs a worker holds at once: streamed examples (genre/model/inputs.h)
  // are read a chunk of tracks at a time (all at once, and kept, when they fit).
  int window_mb = 256;
  void Validate() const;  // throws OptionError
};

struct TrainResult {
  std::vector<EpochStats> history;  // of the whole run, resumed epochs included
  int best_epoch = 0;
  std::string stop_reason;  // "epochs", "early stopping", "stop_after"
  bool finished = true;     // false when stop_after ended the run
};

using EpochCallback = std::function<void(const EpochStats&, int epochs)>;

// Trains `model` in place. The card's standardisation is computed from `train`. `valid` may be empty (then the training
// loss is monitored). Throws InputError (no training examples, a single class, resume with another class list or
// architecture), FormatError (a truncated checkpoint), IoError.
//
// With a `group`, every worker calls Train with the same model, examples and options, and they train one model
// data-parallel: `batch` is the global batch (each worker computes batch / workers windows of every step; it must
// divide); every epoch's tracks are shuffled in one order all workers share and each worker takes its share of
// each chunk; gradients (and batch-norm statistics) are averaged by all-reduce; the initial weights are rank 0's;
// the standardisation, the validation metrics and with them early stopping and the learning rate are computed
// over all workers, so every worker holds the same weights (checked after each epoch) and stops together. Rank 0
// alone writes checkpoints; a resume reads rank 0's. Throws GroupError when a worker is lost.
TrainResult Train(Model& model, const std::vector<Example>& train, const std::vector<Example>& valid,
                  const TrainOptions& options, const EpochCallback& on_epoch = {}, ProcessGroup* group = nullptr);

// Fills card.mean / card.stdev from the examples (per row, over all columns).
void ComputeStandardisation(ModelCard& card, const std::vector<Example>& examples);

struct Evaluation {
  Metrics windows, tracks;                      // window-level and track-level
  double loss = 0;                              // mean window cross-entropy
  std::vector<std::vector<float>> track_probs;  // mean of window probabilities per example
};

// Track prediction = mean of its window probabilities (windows every card.input.hop).
Evaluation Evaluate(const Model& model, const std::vector<Example>& examples);

// Every window of one example (card.input.window columns, hop card.input.hop); a song
// vector's first column only (the others are augmented variants: each training epoch
// draws one of its columns, as a random crop of width 1).
std::vector<Matrix> Windows(const ModelCard& card, const Matrix& x);

}  // namespace genre
