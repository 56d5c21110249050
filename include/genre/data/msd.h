// Million Song Dataset HDF5 files: per-track files (one row in each `songs`
// table) and aggregate files (many rows; each song's segments are the slice
// [idx_segments_*[i], idx_segments_*[i + 1]) of the segment datasets).
//
// Also the reverse: an audio file analysed into the same layout (`to-msd`), so
// audio datasets and MSD tracks feed the same sequence model. Those features
// APPROXIMATE the Echo Nest analysis, they do not equal it: segments lie on a
// regular grid (Echo Nest segments follow onsets), "timbre" is the mean of 12
// MFCCs per segment (Echo Nest timbre is a different 12-D basis and scale),
// "pitches" the mean chroma per segment scaled to a maximum of 1, loudness is
// RMS in dBFS, tempo a global autocorrelation estimate, key/mode a
// Krumhansl-Schmuckler guess, and time_signature is 0 (not estimated).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/features/chroma.h"
#include "genre/features/matrix.h"
#include "genre/features/options.h"
#include "genre/util/isolate.h"

namespace genre {

struct MsdTrack {
  std::string track_id;       // "TRAAABD128F429CF47"
  std::string artist, title;  // /metadata/songs artist_name, title
  std::string genre;          // /metadata/songs genre: empty in the real MSD, set by to-msd
  std::string group;          // root attribute genre_group (to-msd), else empty
  double duration_s = 0, tempo_bpm = 0, loudness_db = 0;
  int key = 0, mode = 0, time_signature = 0;
  std::vector<double> segments_start;         // s, one per segment
  std::vector<double> segments_loudness_max;  // dB
  Matrix timbre;                              // [12, n_segments] (features x time, as the front end's matrices)
  Matrix pitches;                             // [12, n_segments], each column in [0, 1]
  std::size_t segments() const { return segments_start.size(); }
};

// The datasets an MSD file must have; Open() names the first one missing.
const std::vector<std::string>& MsdRequiredDatasets();

class MsdFile {
 public:
  // Throws IoError / FormatError ("PATH: not MSD layout: no dataset '/analysis/segments_timbre'").
  static MsdFile Open(const std::string& path);
  ~MsdFile();
  MsdFile(MsdFile&&) noexcept;
  MsdFile& operator=(MsdFile&&) noexcept;

  const std::string& path() const;
  std::size_t size() const;  // songs in the file
  std::string TrackId(std::size_t song) const;
  std::string Genre(std::size_t song) const;  // metadata genre ("" when absent)
  std::string Group() const;                  // root attribute genre_group ("" when absent)
  MsdTrack Read(std::size_t song) const;      // throws FormatError on inconsistent slices

 private:
  struct Impl;
  explicit MsdFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reading MSD files safely. libhdf5 itself crashes (SIGSEGV) or loops forever on some
// damaged files (fuzz/third-party/), before any check of ours can refuse them. These read
// in a child process (util/isolate.h) and cost such a file a FormatError naming it
// ("PATH: libhdf5 crashed reading it (Segmentation fault)", "PATH: libhdf5 did not finish
// reading it within 60 s"), never the tool; other errors are MsdFile's. Tools use these;
// MsdFile is the in-process reader under them.

// The songs of an MSD file without their analysis: what a dataset listing needs.
struct MsdListing {
  std::vector<std::string> track_ids, genres;  // one per song; a genre is "" when absent
  std::string group;                           // root attribute genre_group ("" when absent)
  std::size_t size() const { return track_ids.size(); }
};
MsdListing ListMsdFile(const std::string& path, const IsolateOptions& options = {});
// Many files in one reader process (a new one after a crash): each listing, or (listing ==
// nullptr) the error that its file met, in order.
void ListMsdFiles(const std::vector<std::string>& paths,
                  const std::function<void(std::size_t, MsdListing* listing, const std::exception_ptr& error)>& each,
                  const IsolateOptions& options = {});

struct MsdSong {
  std::string path;
  std::size_t song = 0;
};
// Reads the songs in order (one child process for all, a new one after a crash) and hands
// each to `each` as it arrives: the track, or (track == nullptr) the error that it met.
void ReadMsdSongs(const std::vector<MsdSong>& songs,
                  const std::function<void(std::size_t, MsdTrack* track, const std::exception_ptr& error)>& each,
                  const IsolateOptions& options = {});
// One song, from a reader process that this process keeps for such calls; throws its error.
MsdTrack ReadMsdSong(const std::string& path, std::size_t song, const IsolateOptions& options = {});

// Writes tracks as one MSD-layout file (an aggregate file when more than one),
// atomically: a temporary file beside `path`, renamed into place. Throws IoError.
void WriteMsdFile(const std::string& path, const std::vector<MsdTrack>& tracks);

struct MsdAnalysisOptions {
  FrontEndOptions front_end;  // STFT / mel / MFCC settings (n_mfcc is raised to >= 12)
  ChromaOptions chroma;
  double segment_s = 0.25;             // segment grid step, seconds (> 0)
  double min_bpm = 40, max_bpm = 240;  // tempo search range
  void Validate() const;               // throws OptionError
};

// Analyses decoded audio (at options.front_end.sample_rate) into an MsdTrack.
// track_id is "TR" + 16 hex digits of `content_hash`.
MsdTrack AnalyzeAudio(const Waveform& audio, std::uint64_t content_hash, const MsdAnalysisOptions& options = {});

}  // namespace genre
