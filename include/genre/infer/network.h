// Inference without libtorch: a model file's network run on oneDNN (convolutions, pooling,
// dense layers) and FFTW (the MSD convnet's STFT), from the card and the tensor table of a
// format_version 2 file. Every architecture genre trains or imports (cnn2d, cnn1d, mlp,
// msd-convnet with its tags, features or features+gtzan head) gives the probabilities
// Model::Predict gives (libtorch) within 1e-5 (tests/infer/network_test.cc); an ensemble
// holds its members' networks. Batch norm is folded into the convolutions at load.
//
// Threads: oneDNN runs on OpenMP; SetInferenceThreads sets how many the calling thread's
// next calls use (OpenMP keeps the count per thread). Results do not depend on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "genre/features/matrix.h"
#include "genre/model/card.h"
#include "genre/train/windows.h"

namespace genre {

class Network {
 public:
  // Throws ModelError naming the file: unreadable, not a model file, truncated, corrupt, an
  // invalid card, format_version 1 (libtorch weights: convert with genre-train convert),
  // weights that do not fit the card (a tensor missing, of another shape or left over).
  static std::shared_ptr<const Network> Load(const std::string& path);
  static std::shared_ptr<const Network> FromContents(const ModelFileContents& contents, const std::string& where);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  const ModelCard& card() const;
  bool is_ensemble() const { return card().IsEnsemble(); }
  const std::vector<std::shared_ptr<const Network>>& members() const;  // an ensemble's, else empty

  // Class probabilities of each window ([rows, window] raw input, the card's standardisation
  // applied inside), as Model::Predict: softmax rows, or each class's sigmoid for a
  // multi-label model. Windows of one shape run `batch` at a time (msd-convnet: one).
  // Throws OptionError for an ensemble, InputError for a window of another row count.
  std::vector<std::vector<float>> Predict(const std::vector<Matrix>& windows, int batch = 16) const;
  // msd-convnet: each waveform window's features (the 160 block averages, as Model::Features);
  // throws OptionError for other architectures.
  std::vector<std::vector<float>> Features(const std::vector<Matrix>& windows) const;
  // msd-convnet: the features (or, with `tags`, the tag probabilities of the tagger) of a
  // whole song at the card's rate, window by window as SongWindows cuts it (hop 0: the
  // card's). Throws OptionError for other architectures, as SongWindows does.
  std::vector<WindowFeatures> SongFeatures(const std::vector<float>& samples, std::size_t hop = 0,
                                           bool tags = false) const;

  struct Impl;

 private:
  explicit Network(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The threads oneDNN uses for the calling thread's inference (n >= 1; 0: all cores).
// Returns the number set.
int SetInferenceThreads(int n);

}  // namespace genre
