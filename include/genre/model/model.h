// A trained (or freshly initialised) network with its card. The API has no
// libtorch types; the implementation (genre_torch) links libtorch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/audio/augment.h"
#include "genre/features/matrix.h"
#include "genre/model/card.h"
#include "genre/train/windows.h"

namespace genre {

class Network;

// Sets libtorch's intra-op threads (Debian's libtorch defaults to 1): n > 0, or all
// cores for 0. Returns the number set.
int SetTorchThreads(int n);

class Model {
 public:
  // Random initialisation from the card (seeded); an empty standardisation becomes
  // the identity. Throws ModelError for an invalid card.
  static Model Create(const ModelCard& card, std::uint64_t seed);
  // Throws ModelError (missing, unreadable, not a model file, unknown version, truncated,
  // corrupt, weights that do not fit the card's architecture or are not finite), naming the file.
  // An ensemble file loads as an ensemble: no network of its own, its members in members().
  static Model Load(const std::string& path);
  static Model FromContents(ModelFileContents contents, const std::string& where);  // throws as Load
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // Atomic; format_version kModelFormatVersion. Throws ModelError naming the file for weights
  // that are not finite (nothing is written), OutputError when it cannot write.
  void Save(const std::string& path) const;
  const ModelCard& card() const;
  ModelCard& card();
  std::size_t parameters() const;
  std::string WeightsHash() const;  // 16 hex digits over every parameter and buffer (an ensemble: its members')
  bool is_ensemble() const { return card().IsEnsemble(); }
  const std::vector<std::shared_ptr<const Model>>& members() const;  // empty unless an ensemble

  // Class probabilities of each window ([rows, window] raw features; the card's
  // standardisation is applied inside). Rows sum to 1. Throws OptionError for an ensemble.
  // A multi-label model (the imported tagger, ArchOptions::MultiLabel) gives each
  // class's sigmoid instead.
  std::vector<std::vector<float>> Predict(const std::vector<Matrix>& windows, int batch = 64) const;
  // msd-convnet models: the backbone's features of each waveform window ([1, samples]);
  // throws OptionError for other architectures.
  std::vector<std::vector<float>> Features(const std::vector<Matrix>& windows) const;
  // msd-convnet models: the features (or, with `tags`, the tag probabilities of the
  // tagger) of a whole song (samples at the card's rate) in windows of input.window
  // samples every `hop` (0: input.hop), a last part shorter than the network's shortest
  // window (MinWindowSamples) joined to the window before it, a song shorter than that
  // zero-padded to it (SongWindows). Each window's start (in samples) and values.
  using WindowFeatures = genre::WindowFeatures;
  std::vector<WindowFeatures> SongFeatures(const std::vector<float>& samples, std::size_t hop = 0,
                                           bool tags = false) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The model as the inference runtime runs it (genre/infer/network.h; its weights through a
// tensor table, an ensemble with its members): what Classifier classifies songs with.
// Throws ModelError for weights that are not finite.
std::shared_ptr<const Network> ToNetwork(const Model& model);

struct KerasConvnet;
// The imported tagger (genre-train import-keras): an msd-convnet model with the
// tags as classes and every weight from `keras`; `card` gives name, training
// (provenance), commit and date, the rest is made from `keras`. Throws ModelError.
Model ImportKeras(const KerasConvnet& keras, ModelCard card);
// A genre model on the backbone: the backbone's blocks and front end, and the dense
// layers of `head` (an mlp trained on msd-convnet features) with its standardisation
// folded into the first layer. `card` gives name, training, commit and date. Throws
// ModelError when the head does not read the backbone's features.
Model AttachHead(const Model& backbone, const Model& head, ModelCard card);
// The mean of a song's window features (Model::SongFeatures) as a [features, 1] input.
Matrix MeanFeatures(const Model& backbone, const std::vector<float>& samples, std::size_t hop = 0);
// What a head on the backbone reads of one song (genre-train --backbone): a
// [features, 1 + variants] matrix, column 0 the song's MeanFeatures, then those of
// `variants` augmented versions of its audio (AugmentAudio), each seeded by the file's
// stem and its number, so a variant is the same in every run.
Matrix BackboneVectors(const Model& backbone, const Waveform& song, int variants, const AudioAugmentOptions& augment);
// What identifies those vectors for the feature cache: the backbone's weights, the number
// of variants and, with variants, their options.
std::string BackboneVectorsId(const Model& backbone, int variants, const AudioAugmentOptions& augment);

}  // namespace genre
