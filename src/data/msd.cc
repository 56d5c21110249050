#include "genre/data/msd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "genre/error.h"
#include "genre/features/frontend.h"
#include "genre/io/h5.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"

namespace genre {

namespace {
// A double as a whole number for messages ("12", "1e+300", "nan"): no cast to an integer.
std::string Whole(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", std::trunc(v));
  return buf;
}

std::string Packed(const MsdTrack& t) {
  Pack p;
  for (const std::string* s : {&t.track_id, &t.artist, &t.title, &t.genre, &t.group}) p.String(*s);
  for (double v : {t.duration_s, t.tempo_bpm, t.loudness_db}) p.Pod(v);
  for (int v : {t.key, t.mode, t.time_signature}) p.Pod(v);
  p.Vector(t.segments_start);
  p.Vector(t.segments_loudness_max);
  for (const Matrix* m : {&t.timbre, &t.pitches}) {
    p.Pod<std::uint64_t>(m->rows);
    p.Pod<std::uint64_t>(m->cols);
    p.Vector(m->data);
  }
  return p.Take();
}

MsdTrack UnpackedTrack(const std::string& bytes) {
  Unpack u(bytes);
  MsdTrack t;
  for (std::string* s : {&t.track_id, &t.artist, &t.title, &t.genre, &t.group}) *s = u.String();
  for (double* v : {&t.duration_s, &t.tempo_bpm, &t.loudness_db}) *v = u.Pod<double>();
  for (int* v : {&t.key, &t.mode, &t.time_signature}) *v = u.Pod<int>();
  t.segments_start = u.Vector<double>();
  t.segments_loudness_max = u.Vector<double>();
  for (Matrix* m : {&t.timbre, &t.pitches}) {
    m->rows = u.Pod<std::uint64_t>();
    m->cols = u.Pod<std::uint64_t>();
    m->data = u.Vector<float>();
    if (m->data.size() != m->rows * m->cols) throw FormatError("reader process: a matrix of the wrong size");
  }
  return t;
}

constexpr const char* kReader = "libhdf5";
}  // namespace

const std::vector<std::string>& MsdRequiredDatasets() {
  static const std::vector<std::string> names = {"/analysis/songs",
                                                 "/analysis/segments_start",
                                                 "/analysis/segments_timbre",
                                                 "/analysis/segments_pitches",
                                                 "/analysis/segments_loudness_max",
                                                 "/metadata/songs"};
  return names;
}

struct MsdFile::Impl {
  h5::File file;
  h5::Table analysis, metadata;
  std::string group;
};

MsdFile::MsdFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MsdFile::~MsdFile() = default;
MsdFile::MsdFile(MsdFile&&) noexcept = default;
MsdFile& MsdFile::operator=(MsdFile&&) noexcept = default;

MsdFile MsdFile::Open(const std::string& path) {
  h5::File file = h5::File::Open(path);
  for (const std::string& name : MsdRequiredDatasets())
    if (!file.Exists(name)) throw FormatError(path + ": not MSD layout: no dataset '" + name + "'");
  h5::Table analysis = file.ReadTable("/analysis/songs");
  h5::Table metadata = file.ReadTable("/metadata/songs");
  for (const char* field : {"track_id", "duration", "idx_segments_start", "idx_segments_timbre", "idx_segments_pitches",
                            "idx_segments_loudness_max"})
    if (!analysis.Has(field))
      throw FormatError(path + ": not MSD layout: /analysis/songs has no field '" + field + "'");
  if (metadata.rows() != analysis.rows())
    throw FormatError(path + ": /metadata/songs has " + std::to_string(metadata.rows()) + " rows, /analysis/songs " +
                      std::to_string(analysis.rows()));
  std::string group = file.HasAttribute("/", "genre_group") ? file.ReadStringAttribute("/", "genre_group") : "";
  auto impl =
      std::unique_ptr<Impl>(new Impl{std::move(file), std::move(analysis), std::move(metadata), std::move(group)});
  return MsdFile(std::move(impl));
}

const std::string& MsdFile::path() const { return impl_->file.path(); }
std::size_t MsdFile::size() const { return impl_->analysis.rows(); }
std::string MsdFile::TrackId(std::size_t song) const { return impl_->analysis.String(song, "track_id"); }
std::string MsdFile::Genre(std::size_t song) const {
  return impl_->metadata.Has("genre") ? impl_->metadata.String(song, "genre") : "";
}
std::string MsdFile::Group() const { return impl_->group; }

MsdTrack MsdFile::Read(std::size_t song) const {
  const h5::Table& a = impl_->analysis;
  const h5::Table& m = impl_->metadata;
  const h5::File& f = impl_->file;
  MsdTrack t;
  t.track_id = a.String(song, "track_id");
  auto finite = [&](double v, const std::string& what) {
    if (!std::isfinite(v))
      throw FormatError(f.path() + ": song " + std::to_string(song) + ": " + what + " is not a finite number");
    return v;
  };
  t.duration_s = finite(a.Number(song, "duration"), "duration");
  auto number = [&](const char* field) { return a.Has(field) ? finite(a.Number(song, field), field) : 0.0; };
  // An integer field: out of int's range (a damaged file) reads as 0, as an absent one.
  auto integer = [&](const char* field) {
    const double v = number(field);
    return std::fabs(v) < 1e9 ? static_cast<int>(v) : 0;
  };
  t.tempo_bpm = number("tempo");
  t.loudness_db = number("loudness");
  t.key = integer("key");
  t.mode = integer("mode");
  t.time_signature = integer("time_signature");
  auto text = [&](const char* field) { return m.Has(field) ? m.String(song, field) : std::string(); };
  t.artist = text("artist_name");
  t.title = text("title");
  t.genre = text("genre");
  t.group = impl_->group;

  // Rows of one song in a segment dataset: [idx[song], idx[song + 1]).
  auto slice = [&](const std::string& name) {
    const std::string dataset = "/analysis/" + name;
    const std::vector<std::size_t> shape = f.Shape(dataset);
    if (shape.empty()) throw FormatError(f.path() + ": " + dataset + " holds one value, not rows of segments");
    const std::size_t total = shape[0];
    const double begin = a.Number(song, "idx_" + name);
    const double end = song + 1 < a.rows() ? a.Number(song + 1, "idx_" + name) : static_cast<double>(total);
    if (!(begin >= 0) || !(end >= begin) || !(end <= static_cast<double>(total)))  // NaN fails too
      throw FormatError(f.path() + ": song " + std::to_string(song) + ": idx_" + name + " slice [" + Whole(begin) +
                        ", " + Whole(end) + ") outside " + std::to_string(total) + " rows");
    h5::Array rows = f.ReadRows(dataset, static_cast<std::size_t>(begin), static_cast<std::size_t>(end));
    // The analyzer's values are far inside +-1e6 (timbre ~ +-300, pitches [0, 1], loudness
    // dB, start seconds); beyond it (or NaN) a value would overflow float and every
    // statistic after it, so the file is refused.
    for (double v : rows.values)
      if (!(std::fabs(v) <= 1e6))
        throw FormatError(f.path() + ": song " + std::to_string(song) + ": /analysis/" + name + " holds " +
                          std::to_string(v) + ", not a number within +-1e6");
    return rows;
  };
  t.segments_start = slice("segments_start").values;
  t.segments_loudness_max = slice("segments_loudness_max").values;
  auto to_matrix = [&](const std::string& name) {
    h5::Array rows = slice(name);
    const std::size_t width = rows.shape.size() == 2 ? rows.shape[1] : 0;
    if (width != 12)
      throw FormatError(f.path() + ": /analysis/" + name + " has " + std::to_string(width) + " columns, expected 12");
    Matrix out(12, rows.shape[0]);  // transpose to [12, n]
    for (std::size_t s = 0; s < rows.shape[0]; ++s)
      for (std::size_t c = 0; c < 12; ++c) out(c, s) = static_cast<float>(rows.values[s * 12 + c]);
    return out;
  };
  t.timbre = to_matrix("segments_timbre");
  t.pitches = to_matrix("segments_pitches");
  const std::size_t n = t.segments_start.size();
  if (t.segments_loudness_max.size() != n || t.timbre.cols != n || t.pitches.cols != n)
    throw FormatError(f.path() + ": song " + std::to_string(song) +
                      ": segment datasets disagree on the number of segments");
  return t;
}

void ListMsdFiles(const std::vector<std::string>& paths,
                  const std::function<void(std::size_t, MsdListing*, const std::exception_ptr&)>& each,
                  const IsolateOptions& options) {
  auto list = [&](std::size_t i) {
    const MsdFile file = MsdFile::Open(paths[i]);
    Pack p;
    p.String(file.Group());
    p.Pod<std::uint64_t>(file.size());
    for (std::size_t s = 0; s < file.size(); ++s) {
      p.String(file.TrackId(s));
      p.String(file.Genre(s));
    }
    return p.Take();
  };
  auto done = [&](std::size_t i, const std::string& bytes, const std::exception_ptr& error) {
    if (error) return each(i, nullptr, error);
    MsdListing listing;
    try {
      Unpack u(bytes);
      listing.group = u.String();
      for (auto n = u.Pod<std::uint64_t>(); n > 0; --n) {
        listing.track_ids.push_back(u.String());
        listing.genres.push_back(u.String());
      }
    } catch (...) {
      return each(i, nullptr, std::current_exception());
    }
    each(i, &listing, nullptr);
  };
  RunIsolated(
      paths.size(), list, done, [&](std::size_t i) { return paths[i]; }, kReader, options, &h5::LibraryMutex());
}

MsdListing ListMsdFile(const std::string& path, const IsolateOptions& options) {
  MsdListing out;
  ListMsdFiles(
      {path},
      [&](std::size_t, MsdListing* listing, const std::exception_ptr& error) {
        if (error) std::rethrow_exception(error);
        out = std::move(*listing);
      },
      options);
  return out;
}

void ReadMsdSongs(const std::vector<MsdSong>& songs,
                  const std::function<void(std::size_t, MsdTrack*, const std::exception_ptr&)>& each,
                  const IsolateOptions& options) {
  // Runs in the reader process: consecutive songs of one (aggregate) file share its opening.
  std::unique_ptr<MsdFile> open;
  auto read = [&](std::size_t i) {
    if (!open || open->path() != songs[i].path) {
      open.reset();
      open = std::make_unique<MsdFile>(MsdFile::Open(songs[i].path));
    }
    return Packed(open->Read(songs[i].song));
  };
  auto done = [&](std::size_t i, const std::string& bytes, const std::exception_ptr& error) {
    if (error) return each(i, nullptr, error);
    MsdTrack t;
    try {
      t = UnpackedTrack(bytes);
    } catch (...) {
      return each(i, nullptr, std::current_exception());
    }
    each(i, &t, nullptr);
  };
  RunIsolated(
      songs.size(), read, done, [&](std::size_t i) { return songs[i].path; }, kReader, options, &h5::LibraryMutex());
}

MsdTrack ReadMsdSong(const std::string& path, std::size_t song, const IsolateOptions& options) {
  // One reader process for every call of this process (genre-guess asks file by file).
  static ReaderProcess reader(
      [](const std::string& request) {
        Unpack u(request);
        const std::string file = u.String();
        return Packed(MsdFile::Open(file).Read(u.Pod<std::uint64_t>()));
      },
      kReader, &h5::LibraryMutex());
  Pack request;
  request.String(path);
  request.Pod<std::uint64_t>(song);
  return UnpackedTrack(reader.Call(request.Take(), path, options));
}

void WriteMsdFile(const std::string& path, const std::vector<MsdTrack>& tracks) {
  using h5::Column;
  WriteAtomically(path, [&](const std::string& tmp) {
    auto f = h5::File::Create(tmp);
    std::vector<double> start, loud, timbre, pitches;
    Column sr{"analysis_sample_rate", Column::kInt32}, duration{"duration"}, tempo{"tempo"}, loudness{"loudness"},
        key{"key", Column::kInt32}, mode{"mode", Column::kInt32}, ts{"time_signature", Column::kInt32},
        track_id{"track_id", Column::kString}, i_start{"idx_segments_start", Column::kInt32},
        i_loud{"idx_segments_loudness_max", Column::kInt32}, i_timbre{"idx_segments_timbre", Column::kInt32},
        i_pitches{"idx_segments_pitches", Column::kInt32};
    Column artist{"artist_name", Column::kString}, title{"title", Column::kString}, genre{"genre", Column::kString};
    for (const MsdTrack& t : tracks) {
      const std::size_t n = t.segments();
      if (t.timbre.rows != 12 || t.pitches.rows != 12 || t.timbre.cols != n || t.pitches.cols != n ||
          t.segments_loudness_max.size() != n)
        throw IoError(path + ": track " + t.track_id + ": segment arrays disagree");
      const double first = static_cast<double>(start.size());
      for (Column* c : {&i_start, &i_loud, &i_timbre, &i_pitches}) c->numbers.push_back(first);
      start.insert(start.end(), t.segments_start.begin(), t.segments_start.end());
      loud.insert(loud.end(), t.segments_loudness_max.begin(), t.segments_loudness_max.end());
      for (std::size_t s = 0; s < n; ++s)
        for (std::size_t c = 0; c < 12; ++c) {
          timbre.push_back(t.timbre(c, s));
          pitches.push_back(t.pitches(c, s));
        }
      sr.numbers.push_back(22050);
      duration.numbers.push_back(t.duration_s);
      tempo.numbers.push_back(t.tempo_bpm);
      loudness.numbers.push_back(t.loudness_db);
      key.numbers.push_back(t.key);
      mode.numbers.push_back(t.mode);
      ts.numbers.push_back(t.time_signature);
      track_id.strings.push_back(t.track_id);
      artist.strings.push_back(t.artist);
      title.strings.push_back(t.title);
      genre.strings.push_back(t.genre);
    }
    const std::size_t n = start.size();
    f.WriteTable("/analysis/songs",
                 {sr, duration, i_loud, i_pitches, i_start, i_timbre, key, loudness, mode, tempo, ts, track_id});
    f.WriteArray("/analysis/segments_start", start, {n});
    f.WriteArray("/analysis/segments_loudness_max", loud, {n});
    f.WriteArray("/analysis/segments_timbre", timbre, {n, 12});
    f.WriteArray("/analysis/segments_pitches", pitches, {n, 12});
    f.WriteTable("/metadata/songs", {artist, genre, title});
    if (tracks.size() == 1 && !tracks[0].group.empty()) f.SetAttribute("/", "genre_group", tracks[0].group);
    f.SetAttribute("/", "genre_note",
                   std::string("written by genre to-msd: features approximate, and do not equal, "
                               "the Echo Nest analysis"));
    f.Close();
  });
}

void MsdAnalysisOptions::Validate() const {
  front_end.Validate();
  chroma.Validate();
  if (!(segment_s > 0)) throw OptionError("segment_s must be > 0, got " + std::to_string(segment_s));
  if (!(min_bpm > 0 && max_bpm > min_bpm))
    throw OptionError("tempo range must satisfy 0 < min_bpm < max_bpm, got " + std::to_string(min_bpm) + ", " +
                      std::to_string(max_bpm));
}

namespace {

// Global tempo: autocorrelation of the onset envelope (mean positive log-mel
// flux), weighted by a log-normal prior around 120 BPM (one octave wide).
double EstimateTempo(const Matrix& logmel, double frame_rate, const MsdAnalysisOptions& o) {
  const std::size_t T = logmel.cols;
  if (T < 4) return 0;
  std::vector<double> onset(T, 0.0);
  for (std::size_t t = 1; t < T; ++t) {
    double sum = 0;
    for (std::size_t m = 0; m < logmel.rows; ++m) sum += std::max(0.0f, logmel(m, t) - logmel(m, t - 1));
    onset[t] = sum / static_cast<double>(logmel.rows);
  }
  const double mean = std::accumulate(onset.begin(), onset.end(), 0.0) / static_cast<double>(T);
  for (double& v : onset) v -= mean;
  const auto lag_min = static_cast<std::size_t>(std::max(1.0, std::floor(60.0 * frame_rate / o.max_bpm)));
  const auto lag_max = std::min(T - 1, static_cast<std::size_t>(std::ceil(60.0 * frame_rate / o.min_bpm)));
  double best = -1e300, best_bpm = 0;
  for (std::size_t lag = lag_min; lag <= lag_max; ++lag) {
    double r = 0;
    for (std::size_t t = 0; t + lag < T; ++t) r += onset[t] * onset[t + lag];
    r /= static_cast<double>(T - lag);
    const double bpm = 60.0 * frame_rate / static_cast<double>(lag);
    const double prior = std::exp(-0.5 * std::pow(std::log2(bpm / 120.0), 2.0));
    if (r * prior > best) {
      best = r * prior;
      best_bpm = bpm;
    }
  }
  return best_bpm;
}

// Krumhansl-Kessler key profiles, correlated with the mean chroma (C first).
void EstimateKey(const std::vector<double>& chroma, int& key, int& mode) {
  static const double major[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
  static const double minor[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
  auto corr = [&](const double* profile, int shift) {
    double mx = 0, my = 0;
    for (int i = 0; i < 12; ++i) {
      mx += chroma[static_cast<std::size_t>((i + shift) % 12)];
      my += profile[i];
    }
    mx /= 12;
    my /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; ++i) {
      const double x = chroma[static_cast<std::size_t>((i + shift) % 12)] - mx, y = profile[i] - my;
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
    }
    return sxx > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
  };
  double best = -2;
  key = 0;
  mode = 1;
  for (int k = 0; k < 12; ++k)
    for (int m = 0; m < 2; ++m)
      if (double c = corr(m == 1 ? major : minor, k); c > best) {
        best = c;
        key = k;
        mode = m;
      }
}

}  // namespace

MsdTrack AnalyzeAudio(const Waveform& audio, std::uint64_t content_hash, const MsdAnalysisOptions& options) {
  MsdAnalysisOptions o = options;
  o.front_end.mfcc.n_mfcc = std::max(o.front_end.mfcc.n_mfcc, 12);
  o.Validate();
  if (audio.sample_rate != o.front_end.sample_rate)
    throw InputError("audio at " + std::to_string(audio.sample_rate) + " Hz, the analysis expects " +
                     std::to_string(o.front_end.sample_rate) + " Hz");
  const FrontEnd fe(o.front_end);
  const FeatureSet fs = fe.Compute(audio.samples, kPower | kLogMel | kMfcc | kRms);
  const Matrix chroma =
      ChromaFromPower(fs.power, ChromaFilterBank(o.front_end.sample_rate, o.front_end.stft.n_fft, o.chroma));

  MsdTrack t;
  t.track_id = "TR" + ToHex(content_hash);
  for (char& c : t.track_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  t.duration_s = audio.duration_s();
  double energy = 0;
  for (float s : audio.samples) energy += static_cast<double>(s) * s;
  t.loudness_db = 10.0 * std::log10(energy / std::max<std::size_t>(audio.samples.size(), 1) + 1e-10);
  const double frame_rate = static_cast<double>(o.front_end.sample_rate) / o.front_end.stft.hop_length;
  t.tempo_bpm = EstimateTempo(fs.logmel, frame_rate, o);

  const std::size_t T = fs.mfcc.cols;
  const auto n_seg = static_cast<std::size_t>(std::max(1.0, std::ceil(t.duration_s / o.segment_s)));
  t.timbre = Matrix(12, n_seg);
  t.pitches = Matrix(12, n_seg);
  t.segments_loudness_max.assign(n_seg, -100.0);
  std::vector<std::size_t> count(n_seg, 0);
  std::vector<double> mean_chroma(12, 0.0);
  for (std::size_t f = 0; f < T; ++f) {
    const std::size_t s =
        std::min(n_seg - 1, static_cast<std::size_t>(static_cast<double>(f) / frame_rate / o.segment_s));
    ++count[s];
    for (std::size_t c = 0; c < 12; ++c) {
      t.timbre(c, s) += fs.mfcc(c, f);
      t.pitches(c, s) += chroma(c, f);
      mean_chroma[c] += chroma(c, f);
    }
    const double db = 20.0 * std::log10(std::max(1e-5, static_cast<double>(fs.rms(0, f))));
    t.segments_loudness_max[s] = std::max(t.segments_loudness_max[s], db);
  }
  for (std::size_t s = 0; s < n_seg; ++s) {
    t.segments_start.push_back(static_cast<double>(s) * o.segment_s);
    if (count[s] == 0) continue;
    float peak = 0;
    for (std::size_t c = 0; c < 12; ++c) {
      t.timbre(c, s) /= static_cast<float>(count[s]);
      t.pitches(c, s) /= static_cast<float>(count[s]);
      peak = std::max(peak, t.pitches(c, s));
    }
    if (peak > 0)
      for (std::size_t c = 0; c < 12; ++c) t.pitches(c, s) /= peak;
  }
  EstimateKey(mean_chroma, t.key, t.mode);
  t.time_signature = 0;
  return t;
}

}  // namespace genre
