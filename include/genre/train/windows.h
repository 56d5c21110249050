// Fixed-length windows over a [rows, T] feature matrix: what the models see.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "genre/features/matrix.h"
#include "genre/model/card.h"

namespace genre {

// Start columns of the windows covering T columns with `window` columns every
// `hop`: 0, hop, 2 hop, ... and a last window flush with the end when the grid
// leaves a tail. T <= window gives one window at 0 (padded by Window()).
std::vector<std::size_t> WindowStarts(std::size_t T, std::size_t window, std::size_t hop);

// Columns [start, start + window) of x; columns past the end are `pad`.
Matrix Window(const Matrix& x, std::size_t start, std::size_t window, float pad);

// Clips of a stream of samples, one in memory at a time: `read` fills up to its
// second argument samples and returns how many (0 at the end). Clips of `clip`
// samples start every `hop` samples; a clip goes when at least `min_tail` samples
// follow it, so the last one takes the rest (up to clip + min_tail - 1 samples, or
// less: a song shorter than a clip is one clip). `analyse(start, samples)` gets each
// clip. Returns the samples read. hop and clip must be >= 1.
std::size_t ForEachClip(const std::function<std::size_t(float*, std::size_t)>& read, std::size_t clip, std::size_t hop,
                        std::size_t min_tail,
                        const std::function<void(std::size_t, const std::vector<float>&)>& analyse);

// A `read` function, as ForEachClip takes, over samples in memory (kept by reference).
std::function<std::size_t(float*, std::size_t)> SampleReader(const std::vector<float>& samples);

// The same over samples in memory.
std::size_t ForEachClip(const std::vector<float>& samples, std::size_t clip, std::size_t hop, std::size_t min_tail,
                        const std::function<void(std::size_t, const std::vector<float>&)>& analyse);

// Samples as a [1, n] waveform window, zero-padded to at least `at_least` columns.
Matrix PaddedWaveform(const std::vector<float>& samples, std::size_t at_least);

// A window of a song and what a network made of it (features, or tags), from sample `start`.
struct WindowFeatures {
  std::size_t start = 0;
  std::vector<float> features;
};
// The windows an msd-convnet card cuts a song into (samples at its rate), each through
// `run`: input.window samples every `hop` (0: input.hop), a last part shorter than the
// network's shortest window (MinWindowSamples; `tags`: that of the tag output) joined to
// the window before it, a song shorter than that zero-padded to it. Throws OptionError for
// a hop over the window (or a card that is not an msd-convnet tagger when `tags`),
// InputError for no samples.
std::vector<WindowFeatures> SongWindows(const ModelCard& card, const std::vector<float>& samples, std::size_t hop,
                                        bool tags, const std::function<std::vector<float>(const Matrix&)>& run);
// The mean of window features (or tags) as a [values, 1] column; throws InputError when empty.
Matrix MeanOfWindows(const std::vector<WindowFeatures>& windows);

// The smallest value of x (the padding that reads as silence for log-mel).
float MinValue(const Matrix& x);

}  // namespace genre
