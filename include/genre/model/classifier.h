// Whole-song classification with a Network (the inference runtime: no libtorch; a
// trained Model gives one with ToNetwork): the input its card describes, windows
// slid over the whole track (hop configurable), class probabilities averaged.
// Log-mel models read files and standard input streaming: the decoded song is
// never held, only its mel frames (about 80 MB per hour at 128 bands).
// GTZAN-vector models read 30-s clips back to back (as their table was computed;
// a last part under 15 s joins the clip before it), one clip in memory at a time;
// waveform models (heads on the MSD convnet) windows of 29 s the same way (a last
// part shorter than the network's shortest window joins the window before it).
// Song probabilities get the card's calibration temperature.
// The front end is built from the model file, never hard-coded. An ensemble runs
// each member on the song and averages their song probabilities.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/infer/network.h"

namespace genre {

struct ClassifyOptions {
  double offset_s = 0.0;      // analyse from here (seconds)
  double duration_s = -1;     // analyse at most this long; < 0: to the end
  int hop = 0;                // window hop in input columns; 0: hop_s, else the model's (half a window)
  double hop_s = 0;           // window hop in seconds (rounded to columns); 0: the model's (GTZAN-vector models: clips)
                              // waveform models: columns are samples; the hop is at most the window
  bool timeline = false;      // keep each window's probabilities and start time
  double silence_dbfs = -70;  // a song whose loudest sample stays below this level is silent
  int threads = 1;            // the network's threads within one song (0: all cores); the calling
                              // thread's (SetInferenceThreads), set at each call
  std::size_t picture_columns = 0;  // > 0: also a log-mel picture of the analysed audio at most
                                    // this many columns wide (Classification::picture); <= 4096

  // Throws OptionError naming the field, its value and the allowed range.
  void Validate() const;
};

// A log-mel spectrogram of the analysed audio for people to look at (genre-serve's page):
// the model's own front end, each column the mean of its frames, 8 bits a pixel.
struct Spectrogram {
  std::size_t bands = 0, columns = 0;
  double seconds_per_column = 0;
  float min_db = 0, max_db = 0;      // the dB of pixel 0 (and below) and of pixel 255
  std::vector<std::uint8_t> pixels;  // [bands][columns], band 0 the lowest
};

// The picture of a frame-major log-mel [frames, bands] (dB): at most `max_columns` columns,
// each the mean of its frames; max_db the largest value, min_db 80 dB below it; a flat
// input (silence) all 0.
Spectrogram PictureOf(const Matrix& log_mel_frames, double seconds_per_frame, std::size_t max_columns);

struct WindowProbabilities {
  double start_s = 0;
  std::vector<float> probs;
};

struct Classification {
  std::vector<float> probs;                   // per class, mean over windows; sums to 1
  double duration_s = 0;                      // of the analysed audio
  std::size_t windows = 0;                    // an ensemble: its member with the most
  std::vector<WindowProbabilities> timeline;  // when asked for (an ensemble: that member's)
  // The loudest sample of the analysed audio (|x|, full scale 1; decoded, before
  // resampling); -1 when unknown (MSD features). Below ClassifyOptions::silence_dbfs the
  // song is `silent`: the probabilities say nothing about it and tools name no genre.
  float peak = -1;
  bool silent = false;
  Spectrogram picture;  // when ClassifyOptions::picture_columns > 0 (not for MSD features)
};

class Classifier {
 public:
  explicit Classifier(std::shared_ptr<const Network> network);
  const Network& network() const { return *network_; }

  // An audio file, "-" (standard input) or an MSD .h5 track file (models trained
  // on MSD features only). Errors name the file. Thread-safe (an MSD file is read in
  // a reader process of its own: see ReadMsdSong).
  Classification ClassifyFile(const std::string& path, const ClassifyOptions& options = {}) const;
  Classification ClassifyAudio(const Waveform& audio, const ClassifyOptions& options = {}) const;
  // Audio already in memory (e.g. standard input), `name` for messages.
  Classification ClassifyBytes(std::string bytes, const std::string& name, const ClassifyOptions& options = {}) const;

 private:
  AudioReadOptions ReadOptions(const ClassifyOptions& options) const;
  // An open audio stream: log-mel models stream it, the others read it whole.
  Classification ClassifyOpen(AudioStream& stream, const std::string& name, const ClassifyOptions& options) const;
  // Log-mel models: decode block by block into a streaming log-mel (only mel frames
  // are held), then the windows in batches.
  Classification ClassifyStream(AudioStream& stream, const std::string& name, const ClassifyOptions& options) const;
  // GTZAN-vector models (the vector of each 30-s clip) and waveform models (each window)
  // over the samples `read` delivers (at `sample_rate`), one clip in memory at a time.
  Classification ClassifyClips(const std::function<std::size_t(float*, std::size_t)>& read, int sample_rate,
                               const std::string& name, const ClassifyOptions& options) const;
  Classification FromInput(const Matrix& x, double seconds_per_column, double duration_s,
                           const ClassifyOptions& options) const;
  // Slides the model's window over `columns` input columns (window(start, width) makes
  // one window), a few windows at a time, and averages the probabilities.
  Classification Slide(std::size_t columns, const std::function<Matrix(std::size_t, std::size_t)>& window,
                       double seconds_per_column, double duration_s, const ClassifyOptions& options) const;
  // Song probabilities with the card's temperature applied (see ModelCard::temperature).
  std::vector<float> Calibrated(const std::vector<float>& probs) const;
  // An ensemble: the mean of its members' results (`classify` runs one member).
  Classification Combine(const std::function<Classification(const Classifier&)>& classify) const;
  std::shared_ptr<const Network> network_;
  std::vector<Classifier> members_;  // an ensemble's
};

}  // namespace genre
