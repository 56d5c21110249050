// Front-end speed on one thread:
//   build/bench/bench_frontend            (all)
//   build/bench/bench_frontend --benchmark_filter=Pipeline
//   bench/compare_bench.sh OLD/bench_frontend build/bench/bench_frontend   (two builds, one run)
// Inputs: tests/data/inputs/blues.00000.flac (30 s, 22050 Hz mono, a real GTZAN clip)
// and a 30-s 44.1-kHz stereo 16-bit FLAC written at start-up (resampling path).
#include <benchmark/benchmark.h>
#include <dnnl.h>
#include <fftw3.h>
#include <omp.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "genre/audio/audio_reader.h"
#include "genre/features/fft.h"
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

// The same decode with the encoded file already in memory (libsndfile's virtual I/O): what
// the file reads themselves cost (libsndfile reads 8 KB at a time and seeks between).
void BM_DecodeFromMemory_22k_mono_30s(benchmark::State& state) {
  std::ifstream in(kClip, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto _ : state) {
    genre::AudioStream s = genre::AudioStream::FromMemory(bytes, kClip);
    benchmark::DoNotOptimize(genre::ReadAll(s));
  }
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_DecodeFromMemory_22k_mono_30s)->Unit(benchmark::kMillisecond);

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

// The mel product on its own: genre's sparse bands (MelFrames, 16 frames a vector) against
// the dense product through oneDNN's sgemm, the library's GEMM ("batched mel GEMM"):
// [n_mels, bins] x [bins, T], most of it multiplying zeros.
const genre::Matrix& Power() {
  static const genre::Matrix p = genre::FrontEnd().Compute(Samples(), genre::kPower).power;  // [bins, T]
  return p;
}

void BM_MelBands_30s(benchmark::State& state) {
  const genre::FrontEnd fe;
  const genre::Matrix& p = Power();
  std::vector<float> frames(p.data.size());  // [T, bins], as the STFT produces them
  for (std::size_t k = 0; k < p.rows; ++k)
    for (std::size_t t = 0; t < p.cols; ++t) frames[t * p.rows + k] = p(k, t);
  for (auto _ : state) {
    genre::Matrix mel(static_cast<std::size_t>(fe.mel_filter_bank().n_mels()), p.cols);
    genre::MelFrames mf(fe.mel_filter_bank(), mel);
    for (std::size_t t = 0; t < p.cols; ++t) mf.Add(frames.data() + t * p.rows);
    mf.Finish();
    benchmark::DoNotOptimize(mel.data.data());
  }
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_MelBands_30s)->Unit(benchmark::kMillisecond);

void BM_MelDenseSgemm_30s(benchmark::State& state) {
  omp_set_num_threads(1);
  const genre::FrontEnd fe;
  const genre::Matrix& p = Power();
  const genre::Matrix basis = fe.mel_filter_bank().Dense();
  genre::Matrix mel(basis.rows, p.cols);
  const auto M = static_cast<dnnl_dim_t>(basis.rows), N = static_cast<dnnl_dim_t>(p.cols),
             K = static_cast<dnnl_dim_t>(p.rows);
  for (auto _ : state) {
    if (dnnl_sgemm('N', 'N', M, N, K, 1.0f, basis.data.data(), K, p.data.data(), N, 0.0f, mel.data.data(), N) !=
        dnnl_success)
      state.SkipWithError("dnnl_sgemm failed");
    benchmark::DoNotOptimize(mel.data.data());
  }
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_MelDenseSgemm_30s)->Unit(benchmark::kMillisecond);

// The STFT's transforms alone, a clip's worth (1,293 of 2048 points): FFTW in float64, as
// the front end runs them (librosa's numpy FFT is float64), against FFTW's single precision.
void BM_Fft2048Double_30s(benchmark::State& state) {
  const genre::RealFft fft(2048);
  genre::AlignedBuffer<double> in(2048);
  genre::AlignedBuffer<std::complex<double>> out(1025);
  for (std::size_t i = 0; i < 2048; ++i) in[i] = Samples()[i];
  for (auto _ : state) {
    for (int t = 0; t < 1293; ++t) fft.Forward(in.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_Fft2048Double_30s)->Unit(benchmark::kMillisecond);

void BM_Fft2048Float_30s(benchmark::State& state) {
  float* in = fftwf_alloc_real(2048);
  fftwf_complex* out = fftwf_alloc_complex(1025);
  const fftwf_plan plan = fftwf_plan_dft_r2c_1d(2048, in, out, FFTW_ESTIMATE);
  for (std::size_t i = 0; i < 2048; ++i) in[i] = Samples()[i];
  for (auto _ : state) {
    for (int t = 0; t < 1293; ++t) fftwf_execute(plan);
    benchmark::DoNotOptimize(out);
  }
  fftwf_destroy_plan(plan);
  fftwf_free(out);
  fftwf_free(in);
  SetAudioSeconds(state, 30);
}
BENCHMARK(BM_Fft2048Float_30s)->Unit(benchmark::kMillisecond);

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
