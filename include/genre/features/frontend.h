// The audio front end: STFT, mel spectrogram, log-mel, MFCC and per-frame
// spectral features on one frame grid, numerically equal to librosa 0.10.
//
// A FrontEnd is built once (validated options, FFT plan, window, mel filter bank,
// DCT matrix) and is immutable: Compute() may be called from many threads at once.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "genre/features/fft.h"
#include "genre/features/matrix.h"
#include "genre/features/options.h"

namespace genre {

// What Compute() produces; OR them together.
enum Feature : unsigned {
  kPower = 1u << 0,      // |STFT|^power, [n_fft/2 + 1, T]
  kMel = 1u << 1,        // mel spectrogram, [n_mels, T]
  kLogMel = 1u << 2,     // power_to_db(mel), dB, [n_mels, T]
  kMfcc = 1u << 3,       // DCT-II (ortho) of log-mel, [n_mfcc, T]
  kCentroid = 1u << 4,   // spectral centroid of |STFT|, Hz, [1, T]
  kBandwidth = 1u << 5,  // spectral bandwidth (p = 2) of |STFT|, Hz, [1, T]
  kRolloff = 1u << 6,    // roll-off frequency of |STFT|, Hz, [1, T]
  kRms = 1u << 7,        // RMS of the raw (unwindowed) frames, padded with the STFT pad mode
  kZcr = 1u << 8,        // zero-crossing rate of raw frames, always edge-padded (as librosa)
};

struct FeatureSet {
  Matrix power, mel, logmel, mfcc, centroid, bandwidth, rolloff, rms, zcr;
  Matrix& Get(Feature f);  // the matrix of one feature (f a single bit)
  const Matrix& Get(Feature f) const;
};

// Every Feature in bit order with its name ("power", "mel", "logmel", "mfcc",
// "centroid", "bandwidth", "rolloff", "rms", "zcr").
struct FeatureName {
  Feature feature;
  const char* name;
};
const std::vector<FeatureName>& FeatureNames();
// "logmel,mfcc" -> kLogMel | kMfcc; throws OptionError naming an unknown name.
unsigned ParseFeatureList(const std::string& list);

// librosa.filters.mel as a sparse bank: band m covers bins [first, first + weights.size()).
class MelFilterBank {
 public:
  MelFilterBank(int sample_rate, int n_fft, const MelOptions& options);
  int n_mels() const { return static_cast<int>(bands_.size()); }
  int n_bins() const { return n_bins_; }
  Matrix Dense() const;  // [n_mels, n_fft/2 + 1], float32 as librosa returns it
  // The bands of up to kLanes frames at once, vectorised across frames: spectra[k * kLanes + l]
  // is bin k of frame l, and mel(m, l) = sum_k W[m, k] spectra(k, l) goes to
  // mel[m * mel_stride + l] for l < frames. Each value is summed over its band's bins in
  // order, in float32 as librosa's product is: a frame's bands do not depend on its lane.
  static constexpr std::size_t kLanes = 16;
  void Apply(const float* spectra, std::size_t frames, float* mel, std::size_t mel_stride) const;

 private:
  struct Band {
    int first = 0;
    std::vector<float> weights;
  };
  int n_bins_;
  std::vector<Band> bands_;
};

// Fills a mel spectrogram [n_mels, T] frame by frame: Add the power spectra of frames 0, 1,
// ... in order, then Finish (MelFilterBank::Apply on blocks of kLanes frames).
class MelFrames {
 public:
  MelFrames(const MelFilterBank& bank, Matrix& mel);
  void Add(const float* power);  // the next frame's n_bins() values
  void Finish();                 // the last, partial block

 private:
  const MelFilterBank& bank_;
  Matrix& mel_;
  std::vector<float> frames_;  // [kLanes, n_bins]: the frames of a block as added
  std::vector<float> block_;   // [n_bins, kLanes]: the same, for Apply
  std::size_t done_ = 0, lanes_ = 0;
};

// Slaney (or HTK) mel scale, in float64 exactly as librosa computes it.
double HzToMel(double hz, bool htk);
double MelToHz(double mel, bool htk);
std::vector<double> MelFrequencies(int n, double fmin_hz, double fmax_hz, bool htk);
// Centre frequency of every rfft bin: k * sr / n_fft (numpy.fft.rfftfreq).
std::vector<double> FftFrequencies(int sample_rate, int n_fft);
// Periodic Hann window of length n, float64.
std::vector<double> PeriodicHann(int n);

// librosa.power_to_db. Throws OptionError for invalid options.
Matrix PowerToDb(const Matrix& power, const DbOptions& options);
void PowerToDbInPlace(Matrix& power, const DbOptions& options);  // the same, overwriting its input

class FrontEnd {
 public:
  explicit FrontEnd(const FrontEndOptions& options = {});  // throws OptionError

  const FrontEndOptions& options() const { return options_; }
  const MelFilterBank& mel_filter_bank() const { return mel_; }
  const std::vector<double>& window() const { return window_; }
  const std::vector<double>& frequencies() const { return freqs_; }  // FftFrequencies of the options

  // Frames for a signal of n samples: 1 + n / hop centred, 1 + (n - n_fft) / hop otherwise.
  std::size_t NumFrames(std::size_t n_samples) const;

  // Computes the requested features (a mask of Feature) of a mono signal at
  // options().sample_rate. Throws InputError when the signal is shorter than n_fft.
  FeatureSet Compute(std::span<const float> signal, unsigned features) const;

  Matrix Mel(std::span<const float> y) const { return Compute(y, kMel).mel; }
  Matrix LogMel(std::span<const float> y) const { return Compute(y, kLogMel).logmel; }
  Matrix Mfcc(std::span<const float> y) const { return Compute(y, kMfcc).mfcc; }
  // DCT-II (ortho) of a log-mel matrix, first n_mfcc rows.
  Matrix MfccFromLogMel(const Matrix& logmel) const;

 private:
  FrontEndOptions options_;
  RealFft fft_;
  std::vector<double> window_;
  std::vector<double> freqs_;
  MelFilterBank mel_;
  std::vector<double> dct_;  // [n_mfcc, n_mels]
};

}  // namespace genre
