#include "genre/features/gtzan_vector.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>

#include "genre/error.h"
#include "genre/features/chroma.h"
#include "genre/features/median_filter.h"
#include "kernels.h"

namespace genre {
namespace {

constexpr int kNfft = 2048, kHop = 512, kMels = 128, kMfccs = 20;
constexpr int kHpssKernel = 31;                        // librosa.decompose.hpss kernel_size
constexpr double kPipFmin = 150.0, kPipFmax = 4000.0;  // piptrack defaults
constexpr float kPipThreshold = 0.1f;                  // piptrack: peaks above 0.1 x the frame's maximum
constexpr double kTempogramSeconds = 8.0;              // tempo(ac_size=8)
constexpr double kStartBpm = 120.0, kMaxTempo = 320.0;
const float kTinyF = std::numeric_limits<float>::min();

FrontEndOptions GtzanFrontEndOptions() {
  FrontEndOptions o;
  o.sample_rate = kGtzanSampleRate;
  o.stft.n_fft = kNfft;
  o.stft.hop_length = kHop;
  o.stft.center = true;
  o.stft.pad_mode = PadMode::kReflect;
  o.power = 2.0;
  o.mel.n_mels = kMels;
  o.db = DbOptions{};  // ref 1, amin 1e-10, top_db 80
  o.mfcc.n_mfcc = kMfccs;
  o.spectral.rolloff_percent = 0.85;
  return o;
}

// Mean and population variance of x[0..n) followed by (total - n) zeros, accumulated in
// float64 (two passes).
struct MeanVar {
  double mean = 0, var = 0;
};
MeanVar Moments(const float* x, std::size_t n, std::size_t total) {
  MeanVar m;
  if (total == 0) return m;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  m.mean = sum / static_cast<double>(total);
  double sq = static_cast<double>(total - n) * m.mean * m.mean;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = x[i] - m.mean;
    sq += d * d;
  }
  m.var = sq / static_cast<double>(total);
  return m;
}
MeanVar Moments(const float* x, std::size_t n) { return Moments(x, n, n); }

// librosa returns these statistics in the array's dtype: float32 for chroma, rms,
// the HPSS waveforms and MFCCs (float64 for the spectral shape and ZCR).
MeanVar AsFloat32(MeanVar m) { return {static_cast<float>(m.mean), static_cast<float>(m.var)}; }

// piptrack(S=power) peaks of one frame, in float32 as librosa computes them:
// parabolic interpolation around local maxima above 0.1 x the frame maximum.
struct Peaks {
  std::vector<float> pitch, mag;
};
void CollectPeaks(const float* s, std::size_t bins, int sample_rate, int n_fft, Peaks& out) {
  const double bin_hz = static_cast<double>(sample_rate) / n_fft;
  const float ref = kPipThreshold * *std::max_element(s, s + bins);
  auto z = [&](std::size_t k) { return s[k] > ref ? s[k] : 0.0f; };
  const double fmax = std::min(kPipFmax, sample_rate / 2.0);
  for (std::size_t k = 1; k + 1 < bins; ++k) {
    const double f = static_cast<double>(k) * bin_hz;
    if (f < kPipFmin) continue;
    if (f >= fmax) break;
    const float zk = z(k);
    if (!(zk > z(k - 1) && zk >= z(k + 1))) continue;
    const float avg = 0.5f * (s[k + 1] - s[k - 1]);
    const float curve = (2.0f * s[k] - s[k + 1]) - s[k - 1];
    const float shift = avg / (curve + (std::fabs(curve) < kTinyF ? 1.0f : 0.0f));
    const float dskew = (0.5f * avg) * shift;
    const auto pitch = static_cast<float>((static_cast<double>(k) + shift) * sample_rate / n_fft);
    if (pitch > 0) {
      out.pitch.push_back(pitch);
      out.mag.push_back(s[k] + dskew);
    }
  }
}

// estimate_tuning's last steps: keep peaks at or above the median magnitude,
// histogram of their deviation from the 12-tone grid, left edge of the fullest bin.
double TuningFromPeaks(const Peaks& peaks) {
  if (peaks.pitch.empty()) return 0.0;
  std::vector<float> m = peaks.mag;
  const std::size_t n = m.size(), mid = n / 2;
  std::nth_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(mid), m.end());
  float threshold = m[mid];
  if (n % 2 == 0) {
    const float below = *std::max_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(mid));
    threshold = (below + threshold) / 2.0f;  // np.median: float32 mean of the middle two
  }
  constexpr int kBins = 100;  // resolution 0.01
  std::vector<double> edges(kBins + 1);
  for (int i = 0; i < kBins; ++i) edges[static_cast<std::size_t>(i)] = i * (1.0 / kBins) + -0.5;  // np.linspace
  edges[kBins] = 0.5;
  // r is in [-0.5, 0.5) by construction, and at least the median peak is counted.
  std::vector<int> counts(kBins, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!(peaks.mag[i] >= threshold)) continue;
    // hz_to_octs in float32: log2(f / (440 / 16)), times 12, mod 1, folded to [-0.5, 0.5).
    float r = std::fmod(12.0f * std::log2(peaks.pitch[i] / 27.5f), 1.0f);
    if (r < 0) r += 1.0f;
    if (r >= 0.5f) r -= 1.0f;
    const double v = r;
    int b = std::clamp(static_cast<int>(std::floor((v + 0.5) * kBins)), 0, kBins - 1);
    while (b > 0 && v < edges[static_cast<std::size_t>(b)]) --b;
    while (b < kBins - 1 && v >= edges[static_cast<std::size_t>(b) + 1]) ++b;
    ++counts[static_cast<std::size_t>(b)];
  }
  const auto best = std::max_element(counts.begin(), counts.end()) - counts.begin();  // first maximum
  return edges[static_cast<std::size_t>(best)];
}

// Soft masks of one frame (power 2; both 0.5 where both medians are below float32 tiny),
// applied to its complex64 spectrum `spec` (re, im interleaved): X_H = X mask_H, X_P = X mask_P,
// written as float64 for the inverse FFT. Branch-free so that it vectorises.
GENRE_SIMD_CLONES void MaskFrame(const float* spec, const float* h, const float* p, double* xh, double* xp,
                                 std::size_t bins, float* mask_h, float* mask_p) {
  const float tiny = std::numeric_limits<float>::min();
  for (std::size_t k = 0; k < bins; ++k) {
    // One of (h / z, p / z) is exactly 1: only the smaller ratio needs dividing.
    const float hk = h[k], pk = p[k];
    const float z = std::max(hk, pk), lo = std::min(hk, pk);
    const float r = lo / std::max(z, tiny);  // (where z < tiny the masks are 0.5 anyway)
    const float r2 = r * r, sum = 1.0f + r2;
    const float big = 1.0f / sum, small = r2 / sum;
    const float mh = hk >= pk ? big : small, mp = hk >= pk ? small : big;
    mask_h[k] = z < tiny ? 0.5f : mh;
    mask_p[k] = z < tiny ? 0.5f : mp;
  }
  for (std::size_t k = 0; k < bins; ++k) {
    xh[2 * k] = spec[2 * k] * mask_h[k];
    xh[2 * k + 1] = spec[2 * k + 1] * mask_h[k];
    xp[2 * k] = spec[2 * k] * mask_p[k];
    xp[2 * k + 1] = spec[2 * k + 1] * mask_p[k];
  }
}

// One frame of each inverse STFT overlap-added into float32 buffers, each addition
// rounded (librosa's y[...] += ytmp), and the squared window into its sum.
GENRE_SIMD_CLONES void OverlapAdd(const double* yh, const double* yp, const double* window, double scale, int n,
                                  float* out_h, float* out_p, float* wss) {
  for (int i = 0; i < n; ++i) {
    const double w = window[i];
    out_h[i] = static_cast<float>(out_h[i] + w * (yh[i] * scale));
    out_p[i] = static_cast<float>(out_p[i] + w * (yp[i] * scale));
    wss[i] = static_cast<float>(wss[i] + w * w);
  }
}

double Seconds(std::chrono::steady_clock::time_point& since) {
  const auto now = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(now - since).count();
  since = now;
  return s;
}

}  // namespace

const std::vector<std::string>& GtzanColumns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c = {"length"};
    for (const char* name : {"chroma_stft", "rms", "spectral_centroid", "spectral_bandwidth", "rolloff",
                             "zero_crossing_rate", "harmony", "perceptr"}) {
      c.push_back(std::string(name) + "_mean");
      c.push_back(std::string(name) + "_var");
    }
    c.push_back("tempo");
    for (int i = 1; i <= kMfccs; ++i) {
      c.push_back("mfcc" + std::to_string(i) + "_mean");
      c.push_back("mfcc" + std::to_string(i) + "_var");
    }
    return c;
  }();
  return columns;
}

int GtzanColumnIndex(const std::string& name) {
  const auto& c = GtzanColumns();
  const auto it = std::find(c.begin(), c.end(), name);
  return it == c.end() ? -1 : static_cast<int>(it - c.begin());
}

GtzanExtractor::GtzanExtractor() : front_end_(GtzanFrontEndOptions()), fft_(kNfft) {}

double GtzanExtractor::EstimateTuning(const Matrix& power, int sample_rate, int n_fft) {
  if (power.cols != static_cast<std::size_t>(n_fft / 2 + 1))
    throw InputError("tuning: power spectrogram has " + std::to_string(power.cols) + " bins, n_fft " +
                     std::to_string(n_fft) + " gives " + std::to_string(n_fft / 2 + 1));
  Peaks peaks;
  for (std::size_t t = 0; t < power.rows; ++t) CollectPeaks(power.row(t), power.cols, sample_rate, n_fft, peaks);
  return TuningFromPeaks(peaks);
}

double GtzanExtractor::Tempo(const Matrix& logmel, int sample_rate, int hop_length) {
  const std::size_t T = logmel.cols, bands = logmel.rows;
  if (T < 2 || bands == 0) return 0.0;
  // Onset envelope: positive first difference of every band, median over bands
  // (np.median: float32 mean of the middle two), delayed by lag 1 + n_fft / (2 hop) = 3.
  constexpr std::size_t kDelay = 3;
  std::vector<float> onset(T, 0.0f), diff(bands);
  bool any = false;
  for (std::size_t t = kDelay; t < T; ++t) {
    const std::size_t j = t - kDelay;  // j + 1 <= T - 3: always a frame
    for (std::size_t b = 0; b < bands; ++b) diff[b] = std::max(0.0f, logmel(b, j + 1) - logmel(b, j));
    const std::size_t mid = bands / 2;
    std::nth_element(diff.begin(), diff.begin() + static_cast<std::ptrdiff_t>(mid), diff.end());
    float med = diff[mid];
    if (bands % 2 == 0)
      med = (*std::max_element(diff.begin(), diff.begin() + static_cast<std::ptrdiff_t>(mid)) + med) / 2.0f;
    onset[t] = med;
    any = any || med != 0.0f;
  }
  if (!any) return 0.0;  // beat_track returns tempo 0 for an empty envelope

  // Tempogram: 8-s Hann-windowed autocorrelation at every frame, each normalised
  // by its maximum, then averaged over frames.
  const auto samples = static_cast<long long>(kTempogramSeconds * sample_rate);
  const std::size_t win = static_cast<std::size_t>(samples / hop_length);
  if (win < 2) return 0.0;
  const std::size_t pad = win / 2;
  // np.pad(mode='linear_ramp', end_values=0) in float32: ramps from 0 up to the edge value.
  std::vector<float> padded(T + 2 * pad);
  {
    const float step_l = onset.front() / static_cast<float>(pad), step_r = onset.back() / static_cast<float>(pad);
    for (std::size_t i = 0; i < pad; ++i) {
      padded[i] = static_cast<float>(i) * step_l;
      padded[pad + T + i] = static_cast<float>(pad - 1 - i) * step_r;
    }
    std::copy(onset.begin(), onset.end(), padded.begin() + static_cast<std::ptrdiff_t>(pad));
  }
  const std::vector<double> window = PeriodicHann(static_cast<int>(win));
  std::size_t n_fft = 1;
  while (n_fft < 2 * win) n_fft *= 2;  // linear (not circular) autocorrelation
  const RealFft fft(static_cast<int>(n_fft));
  AlignedBuffer<double> frame(n_fft);
  AlignedBuffer<std::complex<double>> spec(n_fft / 2 + 1);
  std::vector<double> mean_ac(win, 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    std::fill(frame.data(), frame.data() + n_fft, 0.0);
    for (std::size_t n = 0; n < win; ++n) frame[n] = static_cast<double>(padded[t + n]) * window[n];
    fft.Forward(frame.data(), spec.data());
    for (std::size_t k = 0; k < spec.size(); ++k) spec[k] = std::norm(spec[k]);
    fft.Inverse(spec.data(), frame.data());
    double peak = 0;
    for (std::size_t k = 0; k < win; ++k) peak = std::max(peak, std::fabs(frame[k] / static_cast<double>(n_fft)));
    const double scale = peak < std::numeric_limits<double>::min() ? 1.0 : peak;
    for (std::size_t k = 0; k < win; ++k) mean_ac[k] += frame[k] / static_cast<double>(n_fft) / scale;
  }
  for (double& v : mean_ac) v /= static_cast<double>(T);

  // Log-normal prior around 120 BPM (std 1 octave), nothing at or above 320 BPM.
  double best_score = -std::numeric_limits<double>::infinity(), best_bpm = 0;
  for (std::size_t k = 1; k < win; ++k) {
    const double bpm = 60.0 * sample_rate / (static_cast<double>(hop_length) * static_cast<double>(k));
    if (!(bpm < kMaxTempo)) continue;
    const double octaves = std::log2(bpm) - std::log2(kStartBpm);
    const double score = std::log1p(1e6 * mean_ac[k]) + std::log(std::exp(-0.5 * octaves * octaves));
    if (score > best_score) {
      best_score = score;
      best_bpm = bpm;
    }
  }
  return best_bpm;
}

std::vector<double> GtzanExtractor::Compute(std::span<const float> y, GtzanTimings* timings) const {
  if (y.size() < static_cast<std::size_t>(kNfft)) {
    std::ostringstream msg;
    msg << "signal of " << y.size() << " samples is shorter than one " << kNfft
        << "-sample frame (the GTZAN vector needs at least " << kNfft << " samples at " << kGtzanSampleRate << " Hz)";
    throw InputError(msg.str());
  }
  auto clock = std::chrono::steady_clock::now();
  const auto start_time = clock;
  GtzanTimings tm;
  const std::size_t N = y.size(), T = front_end_.NumFrames(N), bins = kNfft / 2 + 1;
  const std::vector<double>& window = front_end_.window();
  const std::vector<double>& freqs = front_end_.frequencies();

  // One reflect-padded STFT feeds everything: the complex spectrum (complex64, for
  // HPSS), |X| (float32), power |X|^2 (float32, as librosa squares the magnitude),
  // the mel spectrogram, the spectral shape and the tuning peaks.
  std::vector<std::complex<float>> spec(T * bins);
  Matrix mag(T, bins), mel(kMels, T);
  std::vector<float> centroid(T), bandwidth(T), rolloff(T);
  Peaks peaks;
  {
    AlignedBuffer<double> frame(kNfft);
    AlignedBuffer<std::complex<double>> x(bins);
    std::vector<float> raw(kNfft), power(bins), scratch(bins);
    const double* xd = reinterpret_cast<const double*>(x.data());
    MelFrames mel_frames(front_end_.mel_filter_bank(), mel);
    for (std::size_t t = 0; t < T; ++t) {
      const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t) * kHop - kNfft / 2;
      const float* src = kernels::FrameAt(y, start, kNfft, PadMode::kReflect, raw.data());
      kernels::WindowFrame(src, window.data(), frame.data(), kNfft);
      fft_.Forward(frame.data(), x.data());
      std::complex<float>* s = spec.data() + t * bins;
      for (std::size_t k = 0; k < bins; ++k) s[k] = {static_cast<float>(xd[2 * k]), static_cast<float>(xd[2 * k + 1])};
      float* m = mag.row(t);
      kernels::MagnitudeSpectrum(xd, m, bins);
      for (std::size_t k = 0; k < bins; ++k) power[k] = m[k] * m[k];
      mel_frames.Add(power.data());
      kernels::SpectralShape(m, bins, freqs.data(), 0.85f, &centroid[t], &bandwidth[t], &rolloff[t], scratch.data());
      CollectPeaks(power.data(), bins, kGtzanSampleRate, kNfft, peaks);
    }
    mel_frames.Finish();
  }
  tm.stft = Seconds(clock);

  // Chroma with the clip's estimated tuning.
  Matrix chroma(12, T);
  {
    ChromaOptions co;
    co.tuning = TuningFromPeaks(peaks);
    const Matrix fb = ChromaFilterBank(kGtzanSampleRate, kNfft, co);
    std::vector<float> power(bins);
    for (std::size_t t = 0; t < T; ++t) {
      const float* m = mag.row(t);
      for (std::size_t k = 0; k < bins; ++k) power[k] = m[k] * m[k];
      float peak = 0;
      for (std::size_t c = 0; c < 12; ++c) {
        chroma(c, t) = static_cast<float>(kernels::Dot(fb.row(c), power.data(), bins));
        peak = std::max(peak, std::fabs(chroma(c, t)));
      }
      if (peak >= kTinyF)
        for (std::size_t c = 0; c < 12; ++c) chroma(c, t) /= peak;
    }
  }
  tm.chroma = Seconds(clock);

  PowerToDbInPlace(mel, front_end_.options().db);
  const Matrix mfcc = front_end_.MfccFromLogMel(mel);
  tm.mel = Seconds(clock);

  const FeatureSet framewise = front_end_.Compute(y, kRms | kZcr);
  tm.frames = Seconds(clock);

  // HPSS (librosa <= 0.8 effects.hpss): median filters across time and frequency,
  // soft masks (power 2; both 0.5 where both medians vanish), masked spectra
  // inverted with the ISTFT, the centre padding cut, zeros appended up to N.
  // The frequency filter needs one frame only, so it runs on 16 frames at a time.
  MeanVar harmonic, percussive;
  {
    const Matrix h = MedianFilter(mag, kHpssKernel, 0);
    Matrix p;
    const std::size_t len = kNfft + kHop * (T - 1);
    std::vector<float> out_h(len, 0.0f), out_p(len, 0.0f), wss(len, 0.0f);
    AlignedBuffer<std::complex<double>> xh(bins), xp(bins);
    AlignedBuffer<double> yh(kNfft), yp(kNfft);
    std::vector<float> mask_h(bins), mask_p(bins);
    const double scale = 1.0 / kNfft;   // numpy irfft normalisation
    constexpr std::size_t kBlock = 16;  // the median filter's lanes
    for (std::size_t t = 0; t < T; ++t) {
      if (t % kBlock == 0) {
        Matrix frames(std::min(kBlock, T - t), bins);
        std::copy_n(mag.row(t), frames.data.size(), frames.data.begin());
        p = MedianFilter(frames, kHpssKernel, 1);
      }
      MaskFrame(reinterpret_cast<const float*>(spec.data() + t * bins), h.row(t), p.row(t % kBlock),
                reinterpret_cast<double*>(xh.data()), reinterpret_cast<double*>(xp.data()), bins, mask_h.data(),
                mask_p.data());
      fft_.Inverse(xh.data(), yh.data());
      fft_.Inverse(xp.data(), yp.data());
      const std::size_t at = t * kHop;
      OverlapAdd(yh.data(), yp.data(), window.data(), scale, kNfft, out_h.data() + at, out_p.data() + at,
                 wss.data() + at);
    }
    // y[n_fft/2 : -n_fft/2] (at most N samples) divided by the window power, then zeros.
    const std::size_t kept = kHop * (T - 1);
    float* yh_kept = out_h.data() + kNfft / 2;
    float* yp_kept = out_p.data() + kNfft / 2;
    const float* w_kept = wss.data() + kNfft / 2;
    for (std::size_t i = 0; i < kept; ++i) {
      if (w_kept[i] > kTinyF) {
        yh_kept[i] /= w_kept[i];
        yp_kept[i] /= w_kept[i];
      }
    }
    harmonic = Moments(yh_kept, kept, N);
    percussive = Moments(yp_kept, kept, N);
  }
  tm.hpss = Seconds(clock);

  const double tempo = Tempo(mel, kGtzanSampleRate, kHop);
  tm.tempo = Seconds(clock);

  std::vector<double> v;
  v.reserve(GtzanColumns().size());
  auto add = [&v](MeanVar m) {
    v.push_back(m.mean);
    v.push_back(m.var);
  };
  v.push_back(static_cast<double>(N));
  add(AsFloat32(Moments(chroma.data.data(), chroma.data.size())));
  add(AsFloat32(Moments(framewise.rms.data.data(), T)));
  add(Moments(centroid.data(), T));
  add(Moments(bandwidth.data(), T));
  add(Moments(rolloff.data(), T));
  add(Moments(framewise.zcr.data.data(), T));
  add(AsFloat32(harmonic));
  add(AsFloat32(percussive));
  v.push_back(tempo);
  for (std::size_t i = 0; i < static_cast<std::size_t>(kMfccs); ++i) add(AsFloat32(Moments(mfcc.row(i), T)));
  tm.total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  if (timings) *timings = tm;
  return v;
}

}  // namespace genre
