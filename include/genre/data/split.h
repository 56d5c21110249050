// Leak-free splits: stratified by label, grouped by group id, seeded.
//
// Every group goes whole to one split (or fold). Groups are stratified by their
// majority label. Within a label, groups are visited in a seeded shuffle (an
// explicit SplitMix64 / Fisher-Yates, so a seed gives the same split on every
// platform and standard library) and each goes to the split that is furthest
// below its target share of that label's tracks. Tracks that already have a
// split (manifest column, split lists) keep it and count toward the targets.
#pragma once

#include <cstdint>
#include <vector>

#include "genre/data/dataset.h"

namespace genre {

struct SplitOptions {
  double valid = 0.1;  // share of each label's tracks for validation, [0, 1)
  double test = 0.1;   // share for test, [0, 1); valid + test < 1
  std::uint64_t seed = 42;
  void Validate() const;  // throws OptionError
};

// Fills in the split of every track that has none.
void AssignSplits(Dataset& dataset, const SplitOptions& options = {});

// k folds over groups, stratified by label: returns the fold (0..k-1) of every
// track. Throws OptionError when k < 2 or there are fewer groups than k.
std::vector<int> AssignFolds(const Dataset& dataset, int k, std::uint64_t seed = 42);

// Folds fixed by a file, so that several experiments (other sources, other models)
// hold out the same recordings: a manifest with a `fold` column (as `genre-train data
// split --folds K` writes it), or with a `split` column (train, valid, test = folds
// 0, 1, 2: published split lists become a 3-fold CV). A track takes the fold of the
// row with its stem, and the rest of its group with it; tracks with no row get -1
// (left out). Throws IoError, FormatError (no path and fold or split column, a bad
// value; names file and line), InputError (one group, two folds).
struct FixedFolds {
  std::vector<int> fold;   // per track of the dataset, -1 when absent from the file
  int k = 0;               // folds in the file (largest fold + 1)
  std::size_t absent = 0;  // tracks left out
};
FixedFolds FoldsFromFile(const Dataset& dataset, const std::string& path);

// Deterministic 64-bit generator (SplitMix64) with an unbiased bounded draw.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next();
  std::uint64_t Below(std::uint64_t bound);       // uniform in [0, bound), bound > 0
  double Uniform();                               // uniform in [0, 1), 53 bits
  std::uint64_t state() const { return state_; }  // SplitMix64(state()) continues the sequence

 private:
  std::uint64_t state_;
};

}  // namespace genre
