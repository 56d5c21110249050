// The GTZAN feature vector: the 57 features (plus `length`) of the widely used
// GTZAN feature table `features_30_sec.csv`, computed exactly as that table was
// (librosa <= 0.8 defaults; the verified recipe is ../shared/reference/KAGGLE_FEATURES.md):
//
//   length                           samples in the file
//   chroma_stft  mean, var           12-bin chroma of the power STFT, tuning estimated per clip
//   rms          mean, var           RMS of raw (unwindowed) reflect-padded frames
//   spectral_centroid / _bandwidth / rolloff  mean, var   of the magnitude STFT
//   zero_crossing_rate  mean, var    edge-padded frames
//   harmony / perceptr  mean, var    HPSS waveforms (31-tap median filters, soft masks, ISTFT)
//   tempo                            beat_track's estimate (median onset envelope, tempogram)
//   mfcc1..mfcc20  mean, var         20 MFCCs of 128 Slaney mels, dB (top_db 80)
//
// Every frame quantity uses one grid: n_fft 2048, hop 512, centred, reflect padding
// (ZCR: edge padding), at 22050 Hz. `mean` is the arithmetic mean, `var` the population
// variance over all values of the frame matrix (chroma: all 12 x T values).
//
// A GtzanExtractor is built once (FFT plans, filter banks) and is immutable:
// Compute() may be called from many threads at once.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "genre/features/frontend.h"
#include "genre/features/matrix.h"

namespace genre {

inline constexpr int kGtzanSampleRate = 22050;            // Hz; the table's (and every GTZAN file's) rate
inline constexpr int kGtzanFeatureCount = 57;             // the table's features: every column but length
inline constexpr std::size_t kGtzanClipSamples = 661794;  // the table's usual length: a 30.01-s clip

// The table's columns between `filename` and `label`, in order: "length", then the 57
// feature columns ("chroma_stft_mean", ..., "mfcc20_var").
const std::vector<std::string>& GtzanColumns();
// Index of a column name in GtzanColumns(), or -1.
int GtzanColumnIndex(const std::string& name);

// Seconds spent in each stage of one Compute() (for the benchmark).
struct GtzanTimings {
  double stft = 0, chroma = 0, mel = 0, frames = 0, hpss = 0, tempo = 0, total = 0;
};

class GtzanExtractor {
 public:
  GtzanExtractor();

  // The vector of a mono signal at 22050 Hz: GtzanColumns().size() values, `length` first.
  // Throws InputError when the signal is shorter than one 2048-sample frame.
  std::vector<double> Compute(std::span<const float> y, GtzanTimings* timings = nullptr) const;

  // Stages, public for tests. `power` is [frames, 1025] (one row per frame).
  // librosa.estimate_tuning(S=power) with piptrack's defaults (150-4000 Hz, threshold 0.1),
  // in fractions of a chroma bin: a multiple of 0.01 in [-0.5, 0.5).
  static double EstimateTuning(const Matrix& power, int sample_rate, int n_fft);
  // beat_track's tempo (BPM) from a dB mel spectrogram [n_mels, frames]: median onset
  // envelope, 8-s tempogram, log-normal prior around 120 BPM; 0 for a flat envelope.
  static double Tempo(const Matrix& logmel, int sample_rate, int hop_length);

 private:
  FrontEnd front_end_;  // reflect-padded 2048 / 512 STFT, 128 Slaney mels, dB, 20 MFCCs
  RealFft fft_;
};

}  // namespace genre
