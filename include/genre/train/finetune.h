// Fine-tuning the last blocks of a model on the MSD convnet (a backbone with a genre
// head, genre-train attach) on audio, with a small learning rate. The front end and
// the first blocks stay as they are, so their output for each song (and each of its
// augmented variants) is computed once and cached: the "prefix". Training then runs
// only the last blocks and the head, on CPU in seconds an epoch. Batch-norm layers
// keep their running statistics (few songs, small batches). No libtorch types here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/audio/augment.h"
#include "genre/model/inputs.h"
#include "genre/model/model.h"
#include "genre/train/schedule.h"

namespace genre {

struct FineTuneOptions {
  int blocks = 2;  // the last blocks trained, 1 .. the network's blocks - 1
  int epochs = 30;
  int batch = 16;                       // windows a step
  double lr = 1e-4;                     // Adam
  double weight_decay = 0.0;            // L2 on the trained weights, as Adam adds it
  bool class_weights = true;            // "balanced" over the training songs
  std::uint64_t seed = 42;              // order and the variant drawn each epoch
  EarlyStoppingOptions early_stopping;  // on the validation loss (the training loss without validation songs)
  int threads = 0;                      // libtorch threads; 0 = all cores
  void Validate() const;                // throws OptionError naming the option
};

// The prefix of one song: each window of each variant (the song itself, then
// `variants` augmented copies, AugmentAudio seeded by the file's stem, as
// BackboneVectors draws them) through the front end and the first blocks
// (all but `trained`), windows as SongFeatures cuts them. A matrix whose columns
// are the time steps of the pooled maps, rows: variant, window, the frozen blocks'
// averages, then the map's channels x mel bands. Throws OptionError when `model`
// is not an msd-convnet with a genre head or `trained` is out of range.
Matrix FineTunePrefix(const Model& model, int trained, const Waveform& song, int variants,
                      const AudioAugmentOptions& augment = {});
// What identifies the prefixes (for the feature cache): weights, blocks, variants, augmentation.
std::string FineTunePrefixId(const Model& model, int trained, int variants, const AudioAugmentOptions& augment);

struct FineTuneEpoch {
  int epoch = 0;
  double train_loss = 0, valid_loss = 0, valid_accuracy = 0, seconds = 0;
};

struct FineTuneResult {
  std::vector<FineTuneEpoch> history;
  int best_epoch = 0;
  std::string stop_reason;  // "epochs" | "early stopping"
};

// Trains the last options.blocks blocks and the head of `model` in place on
// examples whose x are FineTunePrefix matrices (same `trained`): every epoch each
// training song gives one window of one variant, drawn at random. Validation songs
// are read as genre-guess reads them (their first variant, window features
// averaged). Throws InputError (no training songs, a label outside the classes, a
// prefix of another shape), OptionError.
FineTuneResult FineTune(Model& model, const std::vector<Example>& train, const std::vector<Example>& valid,
                        const FineTuneOptions& options, const std::function<void(const FineTuneEpoch&)>& on_epoch = {});

// Song probabilities from prefixes, as FineTune's validation reads them (the first
// variant's windows, features averaged, softmax and the card's temperature).
std::vector<std::vector<float>> PredictFromPrefixes(const Model& model, int trained, const std::vector<Example>& songs);

}  // namespace genre
