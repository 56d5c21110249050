// Speed of the GTZAN feature vector on ONE thread, with a baseline in the same run.
//
//   build/bench/bench_gtzan_vector                      (the 3 committed 30-s clips)
//   build/bench/bench_gtzan_vector ../shared/data/gtzan  (every clip below a folder)
//   build/bench/bench_gtzan_vector --repeat 5 a.flac b.flac
//
// Prints the median time per clip of the whole vector and of each stage (decoding
// is not counted: the clips are decoded first), and the HPSS median filters of one
// clip done the plain way (nth_element on every 31-sample window) against the
// running median actually used. Target (issue 6): <= 60 ms per 30-s clip.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/data/dataset.h"
#include "genre/error.h"
#include "genre/features/frontend.h"
#include "genre/features/gtzan_vector.h"
#include "genre/features/median_filter.h"

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double Now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// scipy-style median filter by selection on every window (the baseline).
genre::Matrix PlainMedian(const genre::Matrix& x, int size, int axis) {
  genre::Matrix out(x.rows, x.cols);
  const auto n = static_cast<std::ptrdiff_t>(axis == 0 ? x.rows : x.cols);
  std::vector<float> w(static_cast<std::size_t>(size));
  for (std::size_t r = 0; r < x.rows; ++r)
    for (std::size_t c = 0; c < x.cols; ++c) {
      const auto i = static_cast<std::ptrdiff_t>(axis == 0 ? r : c);
      for (int d = 0; d < size; ++d) {
        std::ptrdiff_t j = i + d - size / 2;
        j = j < 0 ? -j - 1 : j >= n ? 2 * n - j - 1 : j;
        w[static_cast<std::size_t>(d)] =
            axis == 0 ? x(static_cast<std::size_t>(j), c) : x(r, static_cast<std::size_t>(j));
      }
      std::nth_element(w.begin(), w.begin() + size / 2, w.end());
      out(r, c) = w[static_cast<std::size_t>(size / 2)];
    }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else
      inputs.push_back(a);
  }
  if (inputs.empty())
    for (const char* stem : {"blues.00000", "classical.00001", "metal.00002"})
      inputs.push_back(std::string(GENRE_TEST_DATA_DIR) + "/inputs/" + stem + ".flac");
  std::vector<std::string> files;
  for (const std::string& in : inputs) {
    if (std::filesystem::is_directory(in)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(in))
        if (e.is_regular_file() && genre::IsAudioPath(e.path().string())) files.push_back(e.path().string());
    } else {
      files.push_back(in);
    }
  }
  std::sort(files.begin(), files.end());
  genre::AudioReadOptions read;
  read.sample_rate = genre::kGtzanSampleRate;
  std::vector<std::vector<float>> clips;
  double audio_s = 0;
  for (const std::string& f : files) {
    try {
      clips.push_back(genre::LoadAudio(f, read).samples);
      audio_s += static_cast<double>(clips.back().size()) / genre::kGtzanSampleRate;
    } catch (const genre::Error& e) {
      std::fprintf(stderr, "bench_gtzan_vector: %s\n", e.what());
    }
  }
  if (clips.empty()) {
    std::fprintf(stderr, "bench_gtzan_vector: no clips\n");
    return 1;
  }
  const genre::GtzanExtractor extractor;
  extractor.Compute(clips.front());  // warm-up: FFT plans, page faults
  std::vector<double> total, stft, chroma, mel, frames, hpss, tempo;
  for (int r = 0; r < repeat; ++r)
    for (const auto& y : clips) {
      genre::GtzanTimings t;
      extractor.Compute(y, &t);
      const double scale = 30.0 * genre::kGtzanSampleRate / static_cast<double>(y.size());  // per 30 s
      total.push_back(t.total * scale);
      stft.push_back(t.stft * scale);
      chroma.push_back(t.chroma * scale);
      mel.push_back(t.mel * scale);
      frames.push_back(t.frames * scale);
      hpss.push_back(t.hpss * scale);
      tempo.push_back(t.tempo * scale);
    }
  std::printf("GTZAN vector, 1 thread: %zu clips (%.1f min of audio) x %d\n", clips.size(), audio_s / 60, repeat);
  std::printf("  per 30 s of audio, median: %.1f ms  (target <= 60 ms; librosa 1430 ms per KAGGLE_FEATURES.md)\n",
              1e3 * Median(total));
  std::printf(
      "  stages: STFT+mel+shape+peaks %.1f | chroma %.1f | dB+MFCC %.1f | rms+zcr %.1f | HPSS %.1f | tempo %.1f ms\n",
      1e3 * Median(stft), 1e3 * Median(chroma), 1e3 * Median(mel), 1e3 * Median(frames), 1e3 * Median(hpss),
      1e3 * Median(tempo));

  // Baseline in the same run: the two HPSS median filters of the first clip.
  genre::FrontEndOptions fo;
  fo.stft.pad_mode = genre::PadMode::kReflect;
  fo.power = 1.0;
  const genre::Matrix mag = genre::FrontEnd(fo).Compute(clips.front(), genre::kPower).power;
  double t0 = Now();
  const genre::Matrix a0 = genre::MedianFilter(mag, 31, 0), a1 = genre::MedianFilter(mag, 31, 1);
  const double running = Now() - t0;
  t0 = Now();
  const genre::Matrix b0 = PlainMedian(mag, 31, 0), b1 = PlainMedian(mag, 31, 1);
  const double plain = Now() - t0;
  std::printf(
      "  HPSS median filters of one clip (%zux%zu, 31 taps, both axes): running %.1f ms, "
      "nth_element per window %.1f ms (%.0fx), results %s\n",
      mag.rows, mag.cols, 1e3 * running, 1e3 * plain, plain / running,
      a0.data == b0.data && a1.data == b1.data ? "identical" : "DIFFERENT");
  return 0;
}
