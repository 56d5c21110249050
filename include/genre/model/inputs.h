// From a dataset (or one decoded song) to what a model reads, as its InputSpec says:
//   logmel    [n_mels, frames]   the front end's log-mel (cached when a cache is given)
//   segments  [24, segments]     12 timbre + 12 pitch rows: MSD files as they are, audio
//                                through AnalyzeAudio (see genre/data/msd.h)
//   vector    [48, 1]            mean and standard deviation of the 24 segment rows
//   gtzan     [57, 1]            the GTZAN feature vector (genre/features/gtzan_vector.h):
//                                feature-table rows as they are, audio through GtzanExtractor
//   waveform  [1, samples]       the decoded audio itself
//   msd-convnet [160, 1]         the MSD convnet's features: MSD-convnet table rows as they
//                                are, audio through a backbone (ExampleOptions::from_audio)
//   msd-convnet+gtzan [217, 1]   both: joined table rows
//   waveform+gtzan [1, samples]  the audio at 22050 Hz (windows: FusedClipInput)
// No libtorch here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/data/dataset.h"
#include "genre/data/msd.h"
#include "genre/features/matrix.h"
#include "genre/model/card.h"

namespace genre {

// Where streamed examples' inputs are read from when they are needed (the feature cache,
// MSD files): training and evaluation then hold a bounded window of inputs, not the dataset.
class ExampleSource {
 public:
  virtual ~ExampleSource() = default;
  // The inputs named by `keys`, in that order. Throws as its files' readers do.
  virtual std::vector<Matrix> Read(const std::vector<std::size_t>& keys) const = 0;
};

struct Example {
  Matrix x;                                     // [rows, columns]; empty when streamed
  int label = -1;                               // index into the class list
  std::string path;                             // the track's (in messages and data checks)
  std::shared_ptr<const ExampleSource> source;  // set when streamed: reads x when needed
  std::size_t key = 0;                          // the example's name in `source`
  std::size_t cols = 0;                         // x's columns when streamed
  bool streamed() const { return source != nullptr; }
  std::size_t columns() const { return source ? cols : x.cols; }
};

// The inputs of some examples while it lives: streamed ones read (one Read per source,
// in order), the others referenced where they are.
class LoadedInputs {
 public:
  explicit LoadedInputs(const std::vector<const Example*>& examples);
  const Matrix& operator[](std::size_t i) const { return *at_[i]; }
  std::size_t size() const { return at_.size(); }

 private:
  std::vector<Matrix> read_;
  std::vector<const Matrix*> at_;
};

struct ExampleOptions {
  std::string cache;  // feature cache for logmel inputs and from_audio vectors ("" = in memory)
  // The input of one decoded song when the library cannot make it alone (msd-convnet
  // features through a backbone); called from several threads at once.
  std::function<Matrix(const Waveform&)> from_audio;
  std::string from_audio_id;  // what makes from_audio's output; with `cache`, its vectors are cached there
  int threads = 0;            // 0 = all cores
  bool progress = false;
  // Leave MSD songs and cached inputs in their files: examples keep only their label and
  // where to read them (each is read once here, to check it and count its columns).
  bool stream = false;
};

struct ExampleSet {
  std::vector<Example> examples;   // one per usable track, in dataset order
  std::vector<std::size_t> track;  // dataset.tracks index of each example
  std::vector<Skipped> skipped;    // tracks whose input could not be made
};

// Labels are indices into `classes` (tracks with other labels are skipped).
ExampleSet BuildExamples(const Dataset& dataset, const std::vector<std::string>& classes, const InputSpec& input,
                         const ExampleOptions& options = {});

// The model input of one decoded song (at input.DecodeRate()); throws
// InputError when the audio is too short for one frame.
Matrix InputFromAudio(const Waveform& audio, const InputSpec& input);
// One GTZAN clip (samples at 22050 Hz) as a waveform+gtzan window: [1, 57 + m], its
// GTZAN vector, then the clip resampled to input.front_end.sample_rate and zero-padded
// to input.min_window samples. Throws InputError when the clip is too short for the
// GTZAN vector, OptionError for another input kind.
Matrix FusedClipInput(const std::vector<float>& clip, const InputSpec& input);
// The model input of one MSD song.
Matrix InputFromMsd(const MsdTrack& track, const InputSpec& input);

// Rows of each input kind for a front end: n_mels, 24, 48, 57.
int InputRows(const InputSpec& input);
// True for the one-column kinds (a whole song in one vector): vector, gtzan.
bool IsSongVector(const InputSpec& input);

// What fills a window past the end of an input: its quietest value for log-mel
// (silence), 0 otherwise.
float PadValue(const InputSpec& input, const Matrix& x);

}  // namespace genre
