// A synthetic Million Song Dataset of any size, for benchmarks that need more songs than
// ../shared/data holds (bench/bench_distributed.sh).
//
//   build/bench/make_synthetic_msd OUTDIR TRACKS [--per-file 10000] [--segments 80] [--seed 1]
//
// Writes OUTDIR/part-00000.h5, part-00001.h5, ...: MSD-layout aggregate files of at most
// --per-file songs each (genre::WriteMsdFile), one file's songs in memory at a time, so the
// memory needed does not grow with TRACKS. Parts of an earlier run numbered past the last one
// written are removed, so that the folder holds exactly this set.
//
// Each song: track id "TR" + 16 hex digits (a bijection of the song's index, so unique);
// genre the song's index modulo 10 in the GTZAN order (blues .. rock; balanced classes), written
// to /metadata/songs genre, which `genre-train` takes as the label when no label file is given;
// n segments, n uniform in [segments/2, 3*segments/2], 0.25 s apart (duration n * 0.25 s).
// Timbre, pitches, loudness and tempo are a per-genre mean (drawn from --seed) plus a per-song
// offset plus per-segment noise. The genre means are closer together than the per-song offsets
// are wide, so a classifier learns something but not everything. Pitches are clamped into
// [0, 1], loudness to <= 0 dB. A song depends only on --seed and its index (not on --per-file).
//
// Exit codes: 0 done; 2 usage error; 4 a file could not be written.
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <string>
#include <system_error>
#include <vector>

#include "genre/data/msd.h"
#include "genre/error.h"

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 10> kGenres = {"blues", "classical", "country", "disco",  "hiphop",
                                                 "jazz",  "metal",     "pop",     "reggae", "rock"};
constexpr std::size_t kDims = 12;      // timbre and pitch dimensions of the MSD
constexpr double kSegmentS = 0.25;     // segment spacing, seconds
constexpr double kGenreSpread = 0.35;  // genre means around the base, in units of each dimension's scale
// Per-song offset, wider than the genre spread so that classes overlap: with these three, the
// nearest genre mean (the best possible rule for these Gaussians) names the genre of about 64%
// of the songs from their 12 timbre + 12 pitch + loudness means (a simulation; tempo aside).
constexpr double kSongSpread = 0.9;
constexpr double kSegmentNoise = 0.8;  // per-segment noise

constexpr const char* kUsage = "make_synthetic_msd OUTDIR TRACKS [--per-file 10000] [--segments 80] [--seed 1]";

struct Options {
  std::string outdir;
  std::uint64_t tracks = 0;
  std::uint64_t per_file = 10000;
  std::uint64_t segments = 80;
  std::uint64_t seed = 1;
};

struct UsageError {
  std::string message;
};

// splitmix64's finalizer: a bijection of 64-bit integers.
std::uint64_t Mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A small generator of our own (splitmix64) with Box-Muller normals: std::normal_distribution
// differs between standard libraries, and the set should be the same everywhere for a seed.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() { return Mix(state_ += 0x9e3779b97f4a7c15ULL); }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }                 // bias negligible for small n
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u = 1.0 - Uniform(), v = Uniform();  // u in (0, 1]
    const double r = std::sqrt(-2.0 * std::log(u));
    spare_ = r * std::sin(2.0 * std::numbers::pi * v);
    has_spare_ = true;
    return r * std::cos(2.0 * std::numbers::pi * v);
  }

 private:
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// The per-genre means, drawn once from the seed.
struct GenreModel {
  std::array<double, kDims> timbre{}, pitches{};
  double loudness_db = 0, tempo_bpm = 0;
};

// Typical spread of each Echo Nest timbre dimension: the first (loudness-like) is small and
// positive, the others shrink with the index, roughly as in the real MSD.
double TimbreScale(std::size_t d) { return d == 0 ? 6.0 : 60.0 / (1.0 + 0.4 * static_cast<double>(d)); }
double TimbreBase(std::size_t d) { return d == 0 ? 42.0 : 0.0; }
constexpr double kPitchBase = 0.45, kPitchScale = 0.25;
constexpr double kLoudnessBase = -12.0, kLoudnessScale = 6.0;
constexpr double kTempoBase = 120.0, kTempoScale = 25.0;

std::vector<GenreModel> MakeGenres(std::uint64_t seed) {
  Rng rng(Mix(seed ^ 0x67656e7265ULL));
  std::vector<GenreModel> genres(kGenres.size());
  for (GenreModel& g : genres) {
    for (std::size_t d = 0; d < kDims; ++d) g.timbre[d] = TimbreBase(d) + kGenreSpread * TimbreScale(d) * rng.Normal();
    for (std::size_t d = 0; d < kDims; ++d) g.pitches[d] = kPitchBase + kGenreSpread * kPitchScale * rng.Normal();
    g.loudness_db = kLoudnessBase + kGenreSpread * kLoudnessScale * rng.Normal();
    g.tempo_bpm = kTempoBase + 2 * kGenreSpread * kTempoScale * rng.Normal();
  }
  return genres;
}

std::string TrackId(std::uint64_t index, std::uint64_t seed) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llX",
                static_cast<unsigned long long>(Mix(index + Mix(seed) * 0x9e3779b97f4a7c15ULL)));
  return std::string("TR") + hex;
}

genre::MsdTrack MakeTrack(std::uint64_t index, const Options& o, const std::vector<GenreModel>& genres) {
  Rng rng(Mix(Mix(o.seed) ^ Mix(index + 1)));
  const std::size_t g = index % kGenres.size();
  const GenreModel& m = genres[g];
  genre::MsdTrack t;
  t.track_id = TrackId(index, o.seed);
  t.genre = kGenres[g];
  const std::uint64_t lo = o.segments / 2, hi = 3 * o.segments / 2;
  const std::size_t n = lo + rng.Below(hi - lo + 1);

  std::array<double, kDims> timbre{}, pitches{};  // this song's means
  for (std::size_t d = 0; d < kDims; ++d) timbre[d] = m.timbre[d] + kSongSpread * TimbreScale(d) * rng.Normal();
  for (std::size_t d = 0; d < kDims; ++d) pitches[d] = m.pitches[d] + kSongSpread * kPitchScale * rng.Normal();
  const double loudness = m.loudness_db + kSongSpread * kLoudnessScale * rng.Normal();
  t.tempo_bpm = std::max(40.0, m.tempo_bpm + kSongSpread * kTempoScale * rng.Normal());
  t.loudness_db = std::min(0.0, loudness);
  t.key = static_cast<int>(rng.Below(12));
  t.mode = static_cast<int>(rng.Below(2));
  t.time_signature = 4;
  t.duration_s = static_cast<double>(n) * kSegmentS;

  t.segments_start.resize(n);
  t.segments_loudness_max.resize(n);
  t.timbre = genre::Matrix(kDims, n);
  t.pitches = genre::Matrix(kDims, n);
  for (std::size_t s = 0; s < n; ++s) {
    t.segments_start[s] = static_cast<double>(s) * kSegmentS;
    t.segments_loudness_max[s] = std::min(0.0, loudness + kSegmentNoise * kLoudnessScale * rng.Normal());
    for (std::size_t d = 0; d < kDims; ++d) {
      t.timbre(d, s) = static_cast<float>(timbre[d] + kSegmentNoise * TimbreScale(d) * rng.Normal());
      t.pitches(d, s) =
          static_cast<float>(std::clamp(pitches[d] + kSegmentNoise * kPitchScale * rng.Normal(), 0.0, 1.0));
    }
  }
  return t;
}

std::uint64_t ParseCount(const std::string& name, const std::string& text, std::uint64_t min) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || v < min)
    throw UsageError{name + " must be an integer >= " + std::to_string(min) + ", got '" + text + "'"};
  return v;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--per-file" || a == "--segments" || a == "--seed") {
      if (i + 1 >= argc) throw UsageError{a + " needs a value"};
      const std::string v = argv[++i];
      if (a == "--per-file") o.per_file = ParseCount(a, v, 1);
      if (a == "--segments") o.segments = ParseCount(a, v, 2);
      if (a == "--seed") o.seed = ParseCount(a, v, 0);
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError{"unknown option " + a};
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2)
    throw UsageError{"expected 2 arguments (OUTDIR TRACKS), got " + std::to_string(positional.size())};
  o.outdir = positional[0];
  o.tracks = ParseCount("TRACKS", positional[1], 1);
  if (o.segments > 1000000) throw UsageError{"--segments must be <= 1000000, got " + std::to_string(o.segments)};
  if (o.tracks / o.per_file >= 100000) throw UsageError{"more than 100000 files: raise --per-file"};
  return o;
}

std::string PartName(std::uint64_t part) {
  char name[32];
  std::snprintf(name, sizeof name, "part-%05llu.h5", static_cast<unsigned long long>(part));
  return name;
}

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) {
    std::printf("usage: %s\n", kUsage);
    return 0;
  }
  Options o;
  try {
    o = ParseArgs(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "make_synthetic_msd: %s (usage: %s)\n", e.message.c_str(), kUsage);
    return 2;
  }
  try {
    const double start = Now();
    std::error_code ec;
    fs::create_directories(o.outdir, ec);
    if (ec || !fs::is_directory(o.outdir))
      throw genre::OutputError(o.outdir + ": cannot create folder" + (ec ? ": " + ec.message() : ""));
    const std::vector<GenreModel> genres = MakeGenres(o.seed);
    const std::uint64_t files = (o.tracks + o.per_file - 1) / o.per_file;
    std::uintmax_t bytes = 0;
    for (std::uint64_t part = 0; part < files; ++part) {
      const double part_start = Now();
      const std::uint64_t first = part * o.per_file, last = std::min(o.tracks, first + o.per_file);
      std::vector<genre::MsdTrack> tracks;
      tracks.reserve(last - first);
      for (std::uint64_t i = first; i < last; ++i) tracks.push_back(MakeTrack(i, o, genres));
      const std::string path = (fs::path(o.outdir) / PartName(part)).string();
      genre::WriteMsdFile(path, tracks);
      const std::uintmax_t size = fs::file_size(path);
      bytes += size;
      std::printf("%s: %zu tracks, %ju bytes, %.1f s\n", path.c_str(), tracks.size(), size, Now() - part_start);
      std::fflush(stdout);
    }
    // Parts left by an earlier, larger run would join this set: remove them.
    for (std::uint64_t part = files;; ++part) {
      const fs::path stale = fs::path(o.outdir) / PartName(part);
      if (!fs::exists(stale)) break;
      fs::remove(stale);
      std::printf("%s: removed (left by an earlier run)\n", stale.c_str());
    }
    std::printf("make_synthetic_msd: files %ju, tracks %ju, bytes %ju, seconds %.1f\n",
                static_cast<std::uintmax_t>(files), static_cast<std::uintmax_t>(o.tracks), bytes, Now() - start);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_synthetic_msd: %s\n", e.what());
    return 4;
  }
}
