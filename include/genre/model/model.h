// A trained (or freshly initialised) network with its card. The API has no
// libtorch types; the implementation (genre_torch) links libtorch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "genre/features/matrix.h"
#include "genre/model/card.h"

namespace genre {

// Sets libtorch's intra-op threads (Debian's libtorch defaults to 1): n > 0, or all
// cores for 0. Returns the number set.
int SetTorchThreads(int n);

class Model {
 public:
  // Random initialisation from the card (seeded); an empty standardisation becomes
  // the identity. Throws FormatError for an invalid card.
  static Model Create(const ModelCard& card, std::uint64_t seed);
  // Throws IoError / FormatError (not a model file, unknown version, truncated,
  // corrupt, weights that do not fit the card's architecture), naming the file.
  // An ensemble file loads as an ensemble: no network of its own, its members in members().
  static Model Load(const std::string& path);
  static Model FromContents(ModelFileContents contents, const std::string& where);  // throws as Load
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  void Save(const std::string& path) const;  // atomic
  const ModelCard& card() const;
  ModelCard& card();
  std::size_t parameters() const;
  std::string WeightsHash() const;  // 16 hex digits over every parameter and buffer (an ensemble: its members')
  bool is_ensemble() const { return card().IsEnsemble(); }
  const std::vector<std::shared_ptr<const Model>>& members() const;  // empty unless an ensemble

  // Class probabilities of each window ([rows, window] raw features; the card's
  // standardisation is applied inside). Rows sum to 1. Throws OptionError for an ensemble.
  std::vector<std::vector<float>> Predict(const std::vector<Matrix>& windows, int batch = 64) const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genre
