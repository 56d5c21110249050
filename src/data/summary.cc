#include "genre/data/summary.h"

#include <mutex>

#include "genre/audio/audio_reader.h"
#include "genre/data/cache.h"
#include "genre/data/msd.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/util/parallel.h"

namespace genre {

std::vector<double> TrackDurations(Dataset& d, const FeatureCache* cache, int threads) {
  std::vector<double> seconds(d.tracks.size(), 0.0);
  std::vector<std::string> errors(d.tracks.size());
  std::vector<bool> known(d.tracks.size(), false);
  // Cache and MSD files go through HDF5, which is not thread-safe: serial; MSD files in a
  // reader process (a damaged one may crash libhdf5).
  std::vector<std::size_t> msd;
  std::vector<MsdSong> songs;
  for (std::size_t i = 0; i < d.tracks.size(); ++i)
    if (d.tracks[i].kind == TrackKind::kMsd) {
      msd.push_back(i);
      songs.push_back({d.tracks[i].path, d.tracks[i].song});
    }
  ReadMsdSongs(songs, [&](std::size_t k, MsdTrack* t, const std::exception_ptr& failed) {
    const std::size_t i = msd[k];
    known[i] = true;
    try {
      if (failed) std::rethrow_exception(failed);
      seconds[i] = t->duration_s;
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    const Track& t = d.tracks[i];
    if (t.kind == TrackKind::kMsd) continue;
    try {
      if (t.kind == TrackKind::kFeatures) {  // `length` in samples at 22050 Hz
        seconds[i] = t.features.empty() ? 0.0 : t.features[0] / kGtzanSampleRate;
        known[i] = true;
      } else if (cache && cache->Has(t.path)) {
        seconds[i] = cache->DurationS(t.path);
        known[i] = true;
      }
    } catch (const Error& e) {
      errors[i] = e.what();
      known[i] = true;
    }
  }
  if (cache)
    for (const Skipped& s : cache->failed())
      for (std::size_t i = 0; i < d.tracks.size(); ++i)
        if (!known[i] && d.tracks[i].path == s.path) {
          errors[i] = s.reason;
          known[i] = true;
        }
  ParallelFor(d.tracks.size(), threads, [&](std::size_t i) {
    if (known[i]) return;
    try {
      AudioReadOptions read;
      read.sample_rate = 0;  // header only: no resampler
      const AudioStream stream(d.tracks[i].path, read);
      const AudioInfo& info = stream.info();
      seconds[i] = info.native_sample_rate > 0 && info.native_frames > 0
                       ? static_cast<double>(info.native_frames) / info.native_sample_rate
                       : 0.0;
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  });
  std::vector<Track> kept;
  std::vector<double> kept_seconds;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    if (errors[i].empty()) {
      kept.push_back(std::move(d.tracks[i]));
      kept_seconds.push_back(seconds[i]);
    } else {
      d.skipped.push_back({d.tracks[i].path, errors[i]});
    }
  }
  d.tracks = std::move(kept);
  d.UpdateClasses();
  return kept_seconds;
}

DatasetSummary Summarize(const Dataset& d, const std::vector<double>& durations) {
  if (durations.size() != d.tracks.size()) throw OptionError("Summarize: one duration per track expected");
  DatasetSummary s;
  for (const std::string& c : d.classes) s.rows.push_back({c, {}, {}});
  s.total.label = "total";
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    const int c = d.ClassIndex(d.tracks[i].label);
    const auto split = static_cast<std::size_t>(d.tracks[i].split);
    for (SummaryRow* row : {&s.rows[static_cast<std::size_t>(c)], &s.total}) {
      ++row->tracks[split];
      row->seconds[split] += durations[i];
    }
  }
  return s;
}

std::vector<std::vector<std::size_t>> FoldCounts(const Dataset& d, const std::vector<int>& folds, int k) {
  std::vector<std::vector<std::size_t>> counts(d.classes.size(),
                                               std::vector<std::size_t>(static_cast<std::size_t>(k), 0));
  for (std::size_t i = 0; i < d.tracks.size() && i < folds.size(); ++i)
    ++counts[static_cast<std::size_t>(d.ClassIndex(d.tracks[i].label))][static_cast<std::size_t>(folds[i])];
  return counts;
}

}  // namespace genre
