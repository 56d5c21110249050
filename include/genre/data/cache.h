// The feature cache: the features of a dataset's audio files, extracted once, in
// one HDF5 file per dataset + options.
//
// Layout (format_version 1):
//   /                 attributes format="genre-feature-cache", format_version,
//                     options (canonical text), options_hash
//   /index            table: path, size, hash (content, 16 hex), duration_s
//   /failed           table: path, hash, error          (only when some failed)
//   /entries/<hash>/<feature>   float32 [rows, frames], gzip + shuffle
//   /entries/<hash>/vector      float32 [rows, columns]: a song vector cache's (below)
//
// Entries are keyed by content hash, so renamed or copied files are not
// recomputed and a changed file is. Update() writes a new file beside the old one
// and renames it into place, so a killed run leaves the previous cache intact;
// when nothing changed it writes nothing at all.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/data/dataset.h"
#include "genre/features/frontend.h"

namespace genre {

struct CacheOptions {
  FrontEndOptions front_end;
  unsigned features = kLogMel | kMfcc;  // Feature mask stored per file
  // A song vector cache instead: one matrix per file, song_vector(the file decoded at
  // front_end.sample_rate), e.g. the MSD convnet's features through a backbone; the
  // options text names only song_vector_id (what makes the vectors: say, the weights'
  // hash and the augmentation) and the rate. Called from several threads at once.
  std::function<Matrix(const Waveform&)> song_vector;
  std::string song_vector_id;
  int threads = 0;        // extraction threads; 0 = all cores
  int gzip = 4;           // deflate level of the stored matrices, 0..9
  bool progress = false;  // draw a progress line on stderr
  void Validate() const;  // throws OptionError
};

// The text that identifies features: front-end options, feature mask, cache format.
std::string CacheOptionsText(const CacheOptions& options);

struct CacheReport {
  std::size_t files = 0;        // distinct input paths
  std::size_t reused = 0;       // taken from the previous cache
  std::size_t computed = 0;     // extracted in this run
  std::vector<Skipped> failed;  // unreadable / undecodable files, with the error
  bool written = false;         // false when the cache was already up to date
  std::string rebuilt;          // why the previous cache was not used ("" when it was)
  double seconds = 0;
};

class FeatureCache {
 public:
  // Brings the cache at `path` up to date with exactly `files`. Throws IoError
  // when the cache cannot be written, InputError when no file is usable.
  static CacheReport Update(const std::string& path, const std::vector<std::string>& files,
                            const CacheOptions& options);
  // Opens a cache read-only; throws FormatError when it is not a cache, or
  // (when `expected` is given) when it was built with other options.
  static FeatureCache Open(const std::string& path, const CacheOptions* expected = nullptr);
  ~FeatureCache();
  FeatureCache(FeatureCache&&) noexcept;
  FeatureCache& operator=(FeatureCache&&) noexcept;

  const std::string& options_text() const;
  std::size_t size() const;  // cached files
  bool Has(const std::string& path) const;
  double DurationS(const std::string& path) const;  // throws InputError when not cached
  // The stored features of one file (the others are empty). Throws InputError
  // when the file is not cached. Not thread-safe (HDF5).
  FeatureSet Load(const std::string& path) const;
  Matrix LoadVector(const std::string& path) const;  // a song vector cache's; throws as Load
  const std::vector<Skipped>& failed() const;

 private:
  struct Impl;
  explicit FeatureCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genre
