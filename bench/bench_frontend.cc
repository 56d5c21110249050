// Front-end speed on one thread:
//   build/bench/bench_frontend            (all)
//   build/bench/bench_frontend --benchmark_filter=Pipeline
// Inputs: tests/data/inputs/blues.00000.flac (30 s, 22050 Hz mono, a real GTZAN clip)
// and a 30-s 44.1-kHz stereo 16-bit FLAC written at start-up (resampling path).
#include <benchmark/benchmark.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/features/frontend.h"

namespace {

const std::string kClip = std::string(GENRE_TEST_DATA_DIR) + "/inputs/blues.00000.flac";

const std::string& StereoClip() {
  static const std::string path = [] {
    auto p = std::filesystem::temp_directory_path() / "genre-bench-44k-stereo.flac";
    SF_INFO info{};
    info.samplerate = 44100;
    info.channels = 2;
    info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(0.0f, 0.05f);
    std::vector<float> buf(2 * 44100);
    for (int s = 0; s < 30; ++s) {
      for (int i = 0; i < 44100; ++i) {
        const double t = (s * 44100.0 + i) / 44100.0;
        buf[2 * i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t)) + noise(rng);
        buf[2 * i + 1] = static_cast<float>(0.3 * std::sin(2 * M_PI * 330 * t)) + noise(rng);
      }
      sf_writef_float(f, buf.data(), 44100);
    }
    sf_close(f);
    return p.string();
  }();
  return path;
}

const std::vector<float>& Samples() {
  static const std::vector<float> y = genre::LoadAudio(kClip).samples;
  return y;
}

void SetAudioSeconds(benchmark::State& state, double seconds) {
  state.counters["x_realtime"] =
      benchmark::Counter(seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Decode_22k_mono_30s(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(genre::LoadAudio(kClip));
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_Decode_22k_mono_30s)->Unit(benchmark::kMillisecond);

void BM_DecodeResample_44k_stereo_30s(benchmark::State& state) {
  const std::string& path = StereoClip();
  for (auto _ : state) benchmark::DoNotOptimize(genre::LoadAudio(path));
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_DecodeResample_44k_stereo_30s)->Unit(benchmark::kMillisecond);

void BM_StftMelDb_30s(benchmark::State& state) {
  const genre::FrontEnd fe;
  for (auto _ : state) benchmark::DoNotOptimize(fe.LogMel(Samples()));
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_StftMelDb_30s)->Unit(benchmark::kMillisecond);

void BM_MfccFromLogMel_30s(benchmark::State& state) {
  const genre::FrontEnd fe;
  const genre::Matrix logmel = fe.LogMel(Samples());
  for (auto _ : state) benchmark::DoNotOptimize(fe.MfccFromLogMel(logmel));
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_MfccFromLogMel_30s)->Unit(benchmark::kMillisecond);

void BM_SpectralFrameFeatures_30s(benchmark::State& state) {
  const genre::FrontEnd fe;
  using namespace genre;
  for (auto _ : state) benchmark::DoNotOptimize(fe.Compute(Samples(), kCentroid | kBandwidth | kRolloff | kRms | kZcr));
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_SpectralFrameFeatures_30s)->Unit(benchmark::kMillisecond);

// The target: decode + log-mel + MFCC of a 30-s clip, one thread, <= 8 ms.
void BM_Pipeline_DecodeLogMelMfcc_30s(benchmark::State& state) {
  const genre::FrontEnd fe;
  for (auto _ : state) {
    genre::Waveform w = genre::LoadAudio(kClip);
    benchmark::DoNotOptimize(fe.Compute(w.samples, genre::kLogMel | genre::kMfcc));
  }
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_Pipeline_DecodeLogMelMfcc_30s)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
