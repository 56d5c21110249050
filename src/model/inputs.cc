#include "genre/model/inputs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

#include "genre/data/cache.h"
#include "genre/data/feature_table.h"
#include "genre/error.h"
#include "genre/features/extract.h"
#include "genre/features/gtzan_vector.h"
#include "genre/io/h5.h"
#include "genre/train/windows.h"
#include "genre/util/parallel.h"

namespace genre {

int InputRows(const InputSpec& input) {
  if (input.kind == "logmel") return input.front_end.mel.n_mels;
  if (input.kind == "segments") return 24;
  if (input.kind == "vector") return 48;
  if (input.kind == "gtzan") return kGtzanFeatureCount;
  if (input.kind == "waveform" || input.kind == "waveform+gtzan") return 1;
  if (input.kind == "msd-convnet") return kMsdConvnetFeatures;
  if (input.kind == "msd-convnet+gtzan") return kMsdConvnetFeatures + kGtzanFeatureCount;
  throw OptionError(
      "input kind must be logmel, segments, vector, gtzan, waveform, msd-convnet, msd-convnet+gtzan or "
      "waveform+gtzan, got '" +
      input.kind + "'");
}

bool IsSongVector(const InputSpec& input) {
  return input.kind == "vector" || input.kind == "gtzan" || input.kind == "msd-convnet" ||
         input.kind == "msd-convnet+gtzan";
}

float PadValue(const InputSpec& input, const Matrix& x) { return input.kind == "logmel" ? MinValue(x) : 0.0f; }

namespace {

Matrix Segments(const MsdTrack& t) {
  Matrix x(24, t.segments());
  for (std::size_t r = 0; r < 12; ++r)
    for (std::size_t s = 0; s < t.segments(); ++s) {
      x(r, s) = t.timbre(r, s);
      x(r + 12, s) = t.pitches(r, s);
    }
  return x;
}

// Mean and standard deviation of every row: [2 * rows, 1].
Matrix RowStatistics(const Matrix& x) {
  Matrix v(2 * x.rows, 1);
  for (std::size_t r = 0; r < x.rows; ++r) {
    double sum = 0, sq = 0;
    for (std::size_t c = 0; c < x.cols; ++c) sum += x(r, c);
    const double mean = x.cols ? sum / static_cast<double>(x.cols) : 0.0;
    for (std::size_t c = 0; c < x.cols; ++c) sq += (x(r, c) - mean) * (x(r, c) - mean);
    v(r, 0) = static_cast<float>(mean);
    v(r + x.rows, 0) = static_cast<float>(x.cols ? std::sqrt(sq / static_cast<double>(x.cols)) : 0.0);
  }
  return v;
}

MsdAnalysisOptions AnalysisOptions(const InputSpec& input) {
  MsdAnalysisOptions o;
  o.front_end = input.front_end;
  o.segment_s = input.segment_s;
  return o;
}

Matrix Column(std::vector<float> f) {
  Matrix x(f.size(), 1);
  x.data = std::move(f);
  return x;
}

// One extractor for every thread (Compute is const).
const GtzanExtractor& Extractor() {
  static const GtzanExtractor extractor;
  return extractor;
}

// A table row as the input kind asks: [57, 1] from a GTZAN row (`length` dropped),
// [160, 1] from an MSD-convnet row (the convnet features), [217, 1] (both) from a
// joined row.
Matrix FromTableRow(const Track& t, const InputSpec& input) {
  const TableLayout l = t.table_layout;
  if (input.kind == "gtzan" && l == TableLayout::kGtzan) return Column(ModelFeatures(t.features));
  if (input.kind == "msd-convnet" && l == TableLayout::kMsdConvnet) return Column(ConvnetFeatures(t.features));
  if (input.kind == "msd-convnet+gtzan" && l == TableLayout::kMsdConvnetGtzan)
    return Column(ConvnetGtzanFeatures(t.features));
  const char* table = l == TableLayout::kGtzan        ? "a GTZAN"
                      : l == TableLayout::kMsdConvnet ? "an MSD-convnet"
                                                      : "a joined MSD-convnet + GTZAN";
  throw InputError(std::string("a row of ") + table + " feature table cannot give '" + input.kind + "' input");
}

}  // namespace

Matrix InputFromMsd(const MsdTrack& track, const InputSpec& input) {
  if (input.kind == "segments") return Segments(track);
  if (input.kind == "vector") return RowStatistics(Segments(track));
  throw InputError("an MSD track cannot give '" + input.kind + "' input (it holds no audio)");
}

Matrix InputFromAudio(const Waveform& audio, const InputSpec& input) {
  if (input.kind == "logmel") return FrontEnd(input.front_end).Compute(audio.samples, kLogMel).logmel;
  if (input.kind == "gtzan") {
    if (audio.sample_rate != kGtzanSampleRate)
      throw InputError("the GTZAN vector needs audio at 22050 Hz, got " + std::to_string(audio.sample_rate) + " Hz");
    return Column(ModelFeatures(Extractor().Compute(audio.samples)));
  }
  if (input.kind == "waveform" || input.kind == "waveform+gtzan") {
    if (audio.sample_rate != input.DecodeRate())
      throw InputError(input.kind + " input needs audio at " + std::to_string(input.DecodeRate()) + " Hz, got " +
                       std::to_string(audio.sample_rate) + " Hz");
    Matrix x(1, audio.samples.size());
    x.data = audio.samples;
    return x;
  }
  if (input.kind == "msd-convnet")
    throw InputError("msd-convnet features of audio need the backbone (genre-train --backbone FILE)");
  if (input.kind == "msd-convnet+gtzan")
    throw InputError("msd-convnet+gtzan input is read from joined feature tables only, not from audio");
  const MsdTrack t = AnalyzeAudio(audio, 0, AnalysisOptions(input));
  return InputFromMsd(t, input);
}

Matrix FusedClipInput(const std::vector<float>& clip, const InputSpec& input) {
  if (input.kind != "waveform+gtzan")
    throw OptionError("a fused clip input is for waveform+gtzan models, not " + input.kind);
  const std::vector<float> vector = ModelFeatures(Extractor().Compute(clip));
  std::vector<float> audio = Resample(clip, kGtzanSampleRate, input.front_end.sample_rate);
  audio.resize(std::max(audio.size(), static_cast<std::size_t>(input.min_window)), 0.0f);
  Matrix x(1, vector.size() + audio.size());
  std::copy(vector.begin(), vector.end(), x.data.begin());
  std::copy(audio.begin(), audio.end(), x.data.begin() + static_cast<std::ptrdiff_t>(vector.size()));
  return x;
}

LoadedInputs::LoadedInputs(const std::vector<const Example*>& examples) : at_(examples.size(), nullptr) {
  // Streamed examples: one Read per source, with every key of that source.
  std::vector<const ExampleSource*> sources;
  for (const Example* e : examples)
    if (e->source && std::find(sources.begin(), sources.end(), e->source.get()) == sources.end())
      sources.push_back(e->source.get());
  std::vector<std::pair<std::size_t, std::size_t>> slot;  // example -> read_ index
  for (const ExampleSource* source : sources) {
    std::vector<std::size_t> keys, which;
    for (std::size_t i = 0; i < examples.size(); ++i)
      if (examples[i]->source.get() == source) {
        keys.push_back(examples[i]->key);
        which.push_back(i);
      }
    std::vector<Matrix> got = source->Read(keys);
    for (std::size_t j = 0; j < which.size(); ++j) {
      slot.emplace_back(which[j], read_.size());
      read_.push_back(std::move(got[j]));
    }
  }
  for (const auto& [i, r] : slot) at_[i] = &read_[r];
  for (std::size_t i = 0; i < examples.size(); ++i)
    if (!examples[i]->source) at_[i] = &examples[i]->x;
}

namespace {

// MSD songs read when needed, a chunk at a time, in the reader process (util/isolate.h).
class MsdSource : public ExampleSource {
 public:
  // Each file's path is held once (an aggregate file holds thousands of songs).
  MsdSource(const std::vector<MsdSong>& songs, InputSpec input) : input_(std::move(input)) {
    std::map<std::string, std::uint32_t> index;
    for (const MsdSong& s : songs) {
      const auto [at, added] = index.emplace(s.path, static_cast<std::uint32_t>(files_.size()));
      if (added) files_.push_back(s.path);
      songs_.push_back({at->second, s.song});
    }
  }
  std::vector<Matrix> Read(const std::vector<std::size_t>& keys) const override {
    // In file order: consecutive songs of one file are read through one open file.
    std::vector<std::size_t> order(keys.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const Song &x = songs_[keys[a]], &y = songs_[keys[b]];
      return x.file != y.file ? x.file < y.file : x.song < y.song;
    });
    std::vector<MsdSong> want;
    for (std::size_t i : order) want.push_back({files_[songs_[keys[i]].file], songs_[keys[i]].song});
    std::vector<Matrix> out(keys.size());
    std::exception_ptr first;  // thrown once the reader is done
    ReadMsdSongs(want, [&](std::size_t k, MsdTrack* t, const std::exception_ptr& failed) {
      if (first) return;
      try {
        if (failed) std::rethrow_exception(failed);
        out[order[k]] = InputFromMsd(*t, input_);
      } catch (...) {
        first = std::current_exception();
      }
    });
    if (first) std::rethrow_exception(first);
    return out;
  }

 private:
  struct Song {
    std::uint32_t file = 0;  // index into files_
    std::size_t song = 0;
  };
  std::vector<std::string> files_;
  std::vector<Song> songs_;
  InputSpec input_;
};

// Inputs read from the feature cache when needed.
class CacheSource : public ExampleSource {
 public:
  CacheSource(FeatureCache cache, std::vector<std::string> paths, bool vectors)
      : cache_(std::move(cache)), paths_(std::move(paths)), vectors_(vectors) {}
  bool Has(std::size_t key) const { return cache_.Has(paths_[key]); }
  std::vector<Matrix> Read(const std::vector<std::size_t>& keys) const override {
    std::lock_guard lock(h5::LibraryMutex());
    std::vector<Matrix> out;
    out.reserve(keys.size());
    for (std::size_t k : keys)
      out.push_back(vectors_ ? cache_.LoadVector(paths_[k]) : std::move(cache_.Load(paths_[k]).logmel));
    return out;
  }

 private:
  FeatureCache cache_;
  std::vector<std::string> paths_;
  bool vectors_;
};

}  // namespace

ExampleSet BuildExamples(const Dataset& d, const std::vector<std::string>& classes, const InputSpec& input,
                         const ExampleOptions& o) {
  InputRows(input);  // validates the kind
  ExampleSet out;
  std::vector<int> label(d.tracks.size(), -1);
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    for (std::size_t c = 0; c < classes.size(); ++c)
      if (classes[c] == d.tracks[i].label) label[i] = static_cast<int>(c);
  }
  std::vector<Matrix> x(d.tracks.size());
  std::vector<std::string> error(d.tracks.size());
  for (std::size_t i = 0; i < d.tracks.size(); ++i)
    if (label[i] < 0) error[i] = "label '" + d.tracks[i].label + "' is not one of the model's classes";

  // MSD tracks: read in a reader process, serially (HDF5 is not thread-safe).
  std::vector<std::size_t> msd;
  std::vector<MsdSong> songs;
  for (std::size_t i = 0; i < d.tracks.size(); ++i)
    if (d.tracks[i].kind == TrackKind::kMsd && error[i].empty()) {
      msd.push_back(i);
      songs.push_back({d.tracks[i].path, d.tracks[i].song});
    }
  // Streamed: each example's name in its source and its columns (the input is dropped).
  std::vector<std::shared_ptr<const ExampleSource>> source(d.tracks.size());
  std::vector<std::size_t> key(d.tracks.size(), 0), cols(d.tracks.size(), 0);
  auto stream = [&](std::size_t i, const std::shared_ptr<const ExampleSource>& from, std::size_t k) {
    source[i] = from;
    key[i] = k;
    cols[i] = x[i].cols;
    x[i] = Matrix();
  };
  const auto msd_source = o.stream ? std::make_shared<const MsdSource>(songs, input) : nullptr;
  ReadMsdSongs(songs, [&](std::size_t k, MsdTrack* t, const std::exception_ptr& failed) {
    const std::size_t i = msd[k];
    try {
      if (failed) std::rethrow_exception(failed);
      x[i] = InputFromMsd(*t, input);
      if (msd_source) stream(i, msd_source, k);
    } catch (const Error& e) {
      error[i] = e.what();
    }
  });
  songs = {};

  // Feature-table rows: the GTZAN vector as it is.
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    const Track& t = d.tracks[i];
    if (t.kind != TrackKind::kFeatures || !error[i].empty()) continue;
    try {
      x[i] = FromTableRow(t, input);
    } catch (const Error& e) {
      error[i] = e.what();
    }
  }

  std::vector<std::size_t> audio;
  for (std::size_t i = 0; i < d.tracks.size(); ++i)
    if (d.tracks[i].kind == TrackKind::kAudio && error[i].empty()) audio.push_back(i);
  const bool vectors = o.from_audio && !o.from_audio_id.empty();
  if ((input.kind == "logmel" || vectors) && !o.cache.empty() && !audio.empty()) {
    CacheOptions co;
    co.front_end = input.front_end;
    co.features = kLogMel;
    if (vectors) {
      co.song_vector = o.from_audio;
      co.song_vector_id = o.from_audio_id;
    }
    co.threads = o.threads;
    co.progress = o.progress;
    std::vector<std::string> files;
    for (std::size_t i : audio) files.push_back(d.tracks[i].path);
    const CacheReport report = FeatureCache::Update(o.cache, files, co);
    auto from = std::make_shared<const CacheSource>(FeatureCache::Open(o.cache, &co), files, vectors);
    for (std::size_t k = 0; k < audio.size(); ++k) {
      const std::size_t i = audio[k];
      if (from->Has(k)) x[i] = std::move(from->Read({k})[0]);
      for (const Skipped& s : report.failed)
        if (s.path == d.tracks[i].path) error[i] = s.reason;
      if (o.stream && error[i].empty() && !x[i].data.empty()) stream(i, from, k);
    }
  } else {
    Progress progress("features", audio.size(), o.progress);
    ParallelFor(audio.size(), o.threads, [&](std::size_t k) {
      const std::size_t i = audio[k];
      try {
        AudioReadOptions read;
        read.sample_rate = input.DecodeRate();
        const Waveform w = LoadAudio(d.tracks[i].path, read);
        try {
          x[i] = o.from_audio ? o.from_audio(w) : InputFromAudio(w, input);
        } catch (const Error& e) {
          e.RethrowWithContext(d.tracks[i].path);
        }
      } catch (const Error& e) {
        error[i] = e.what();
      }
      progress.Advance();
    });
  }

  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    if (error[i].empty() && x[i].data.empty() && !source[i]) error[i] = "no features";
    if (!error[i].empty()) {
      out.skipped.push_back({d.tracks[i].path, error[i]});
      continue;
    }
    out.examples.push_back({std::move(x[i]), label[i], d.tracks[i].path, source[i], key[i], cols[i]});
    out.track.push_back(i);
  }
  return out;
}

}  // namespace genre
