#include "genre/train/windows.h"

#include <algorithm>
#include <limits>
#include <string>

#include "genre/error.h"

namespace genre {

std::vector<std::size_t> WindowStarts(std::size_t T, std::size_t window, std::size_t hop) {
  if (window == 0 || hop == 0)
    throw OptionError("windows need window >= 1 and hop >= 1, got " + std::to_string(window) + ", " +
                      std::to_string(hop));
  if (T <= window) return {0};
  std::vector<std::size_t> starts;
  for (std::size_t s = 0; s + window <= T; s += hop) starts.push_back(s);
  if (starts.back() + window < T) starts.push_back(T - window);
  return starts;
}

Matrix Window(const Matrix& x, std::size_t start, std::size_t window, float pad) {
  Matrix w(x.rows, window, pad);
  if (start >= x.cols) return w;
  const std::size_t n = std::min(window, x.cols - start);
  for (std::size_t r = 0; r < x.rows; ++r) std::copy_n(x.row(r) + start, n, w.row(r));
  return w;
}

float MinValue(const Matrix& x) {
  if (x.data.empty()) return 0.0f;
  return *std::min_element(x.data.begin(), x.data.end());
}

std::size_t ForEachClip(const std::function<std::size_t(float*, std::size_t)>& read, std::size_t clip, std::size_t hop,
                        std::size_t min_tail,
                        const std::function<void(std::size_t, const std::vector<float>&)>& analyse) {
  std::vector<float> buffer, block(1 << 16), part;
  std::size_t start = 0, total = 0;  // sample index of buffer[0]; samples read
  auto emit = [&](std::size_t n) {
    part.assign(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
    analyse(start, part);
    const std::size_t drop = std::min(hop, buffer.size());
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(drop));
    start += drop;
  };
  for (std::size_t n; (n = read(block.data(), block.size())) > 0;) {
    buffer.insert(buffer.end(), block.begin(), block.begin() + static_cast<std::ptrdiff_t>(n));
    total += n;
    while (buffer.size() >= clip + min_tail) emit(clip);
  }
  // The rest; with overlapping clips it may lie inside the last clip already.
  if (total > 0 && (start == 0 || buffer.size() + hop > clip)) emit(buffer.size());
  return total;
}

std::function<std::size_t(float*, std::size_t)> SampleReader(const std::vector<float>& samples) {
  return [&samples, at = std::size_t{0}](float* to, std::size_t max) mutable {
    const std::size_t n = std::min(max, samples.size() - at);
    std::copy_n(samples.data() + at, n, to);
    at += n;
    return n;
  };
}

std::size_t ForEachClip(const std::vector<float>& samples, std::size_t clip, std::size_t hop, std::size_t min_tail,
                        const std::function<void(std::size_t, const std::vector<float>&)>& analyse) {
  return ForEachClip(SampleReader(samples), clip, hop, min_tail, analyse);
}

Matrix PaddedWaveform(const std::vector<float>& samples, std::size_t at_least) {
  Matrix x(1, std::max(samples.size(), at_least), 0.0f);
  std::copy(samples.begin(), samples.end(), x.data.begin());
  return x;
}

std::vector<WindowFeatures> SongWindows(const ModelCard& card, const std::vector<float>& samples, std::size_t hop,
                                        bool tags, const std::function<std::vector<float>(const Matrix&)>& run) {
  if (tags && !card.arch.MultiLabel())
    throw OptionError("'" + card.name + "' has no tag output (the imported convnet has)");
  const InputSpec& in = card.input;
  const auto window = static_cast<std::size_t>(in.window);
  const auto shortest = static_cast<std::size_t>(MinWindowSamples(card, tags));
  if (hop == 0) hop = static_cast<std::size_t>(in.hop);
  if (hop > window)
    throw OptionError("hop must be at most the window (" + std::to_string(window) + " samples), got " +
                      std::to_string(hop));
  std::vector<WindowFeatures> out;
  ForEachClip(samples, window, hop, shortest, [&](std::size_t start, const std::vector<float>& clip) {
    out.push_back({start, run(PaddedWaveform(clip, shortest))});
  });
  if (out.empty()) throw InputError("no audio samples to analyse");
  return out;
}

Matrix MeanOfWindows(const std::vector<WindowFeatures>& windows) {
  if (windows.empty()) throw InputError("no windows to average");
  Matrix x(windows.front().features.size(), 1, 0.0f);
  for (const auto& w : windows)
    for (std::size_t i = 0; i < x.rows; ++i) x.data[i] += w.features[i] / static_cast<float>(windows.size());
  return x;
}

}  // namespace genre
