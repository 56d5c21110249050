#include "genre/features/frontend.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <sstream>

#include "genre/error.h"
#include "kernels.h"

namespace genre {
namespace {

constexpr double kPi = std::numbers::pi;

}  // namespace

using kernels::Axpy;
using kernels::Dot;
using kernels::MagnitudeSpectrum;
using kernels::PowerSpectrum;
using kernels::WindowFrame;

double HzToMel(double hz, bool htk) {
  if (htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
  const double f_sp = 200.0 / 3;
  const double min_log_hz = 1000.0;
  const double min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  if (hz >= min_log_hz) return min_log_mel + std::log(hz / min_log_hz) / logstep;
  return hz / f_sp;
}

double MelToHz(double mel, bool htk) {
  if (htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
  const double f_sp = 200.0 / 3;
  const double min_log_hz = 1000.0;
  const double min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  if (mel >= min_log_mel) return min_log_hz * std::exp(logstep * (mel - min_log_mel));
  return f_sp * mel;
}

std::vector<double> MelFrequencies(int n, double fmin_hz, double fmax_hz, bool htk) {
  // numpy.linspace(min_mel, max_mel, n): i * step + start, the last value exactly stop.
  const double lo = HzToMel(fmin_hz, htk);
  const double hi = HzToMel(fmax_hz, htk);
  std::vector<double> hz(static_cast<std::size_t>(n));
  const double step = n > 1 ? (hi - lo) / (n - 1) : 0.0;
  for (int i = 0; i < n; ++i) {
    double mel = (n > 1 && i == n - 1) ? hi : i * step + lo;
    hz[static_cast<std::size_t>(i)] = MelToHz(mel, htk);
  }
  return hz;
}

std::vector<double> FftFrequencies(int sample_rate, int n_fft) {
  const double val = 1.0 / (n_fft * (1.0 / sample_rate));  // numpy.fft.rfftfreq
  std::vector<double> f(static_cast<std::size_t>(n_fft / 2 + 1));
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = static_cast<double>(k) * val;
  return f;
}

std::vector<double> PeriodicHann(int n) {
  std::vector<double> w(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) w[static_cast<std::size_t>(i)] = 0.5 - 0.5 * std::cos(2.0 * kPi * i / n);
  return w;
}

MelFilterBank::MelFilterBank(int sample_rate, int n_fft, const MelOptions& options) : n_bins_(n_fft / 2 + 1) {
  options.Validate(sample_rate);
  const int n_mels = options.n_mels;
  const std::vector<double> fft_f = FftFrequencies(sample_rate, n_fft);
  const std::vector<double> mel_f =
      MelFrequencies(n_mels + 2, options.fmin_hz, options.FmaxHz(sample_rate), options.htk);
  bands_.resize(static_cast<std::size_t>(n_mels));
  std::vector<float> row(static_cast<std::size_t>(n_bins_));
  for (int m = 0; m < n_mels; ++m) {
    const double lower_edge = mel_f[m], centre = mel_f[m + 1], upper_edge = mel_f[m + 2];
    const double fdiff_lo = centre - lower_edge, fdiff_hi = upper_edge - centre;
    const double enorm = options.slaney_norm ? 2.0 / (upper_edge - lower_edge) : 1.0;
    int first = -1, last = -1;
    for (int k = 0; k < n_bins_; ++k) {
      // librosa: max(0, min(-ramp[m] / fdiff[m], ramp[m+2] / fdiff[m+1])) stored as float32,
      // then multiplied by enorm in float64 and stored as float32 again.
      const double lower = -(lower_edge - fft_f[k]) / fdiff_lo;
      const double upper = (upper_edge - fft_f[k]) / fdiff_hi;
      const float w = static_cast<float>(std::max(0.0, std::min(lower, upper)));
      row[k] = static_cast<float>(static_cast<double>(w) * enorm);
      if (row[k] != 0.0f) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) {
      std::ostringstream msg;
      msg << "n_mels = " << n_mels << " is too many for n_fft = " << n_fft << " at " << sample_rate << " Hz: mel band "
          << m << " (" << lower_edge << "-" << upper_edge << " Hz) covers no FFT bin";
      throw OptionError(msg.str());
    }
    Band& b = bands_[static_cast<std::size_t>(m)];
    b.first = first;
    b.weights.assign(row.begin() + first, row.begin() + last + 1);
  }
}

Matrix MelFilterBank::Dense() const {
  Matrix d(bands_.size(), static_cast<std::size_t>(n_bins_));
  for (std::size_t m = 0; m < bands_.size(); ++m)
    std::copy(bands_[m].weights.begin(), bands_[m].weights.end(), d.row(m) + bands_[m].first);
  return d;
}

void MelFilterBank::Apply(const float* spectra, std::size_t frames, float* mel, std::size_t mel_stride) const {
  static_assert(kLanes == 16, "kernels::DotLanes16");
  float acc[kLanes];
  for (std::size_t m = 0; m < bands_.size(); ++m) {
    const Band& b = bands_[m];
    kernels::DotLanes16(b.weights.data(), b.weights.size(), spectra + static_cast<std::size_t>(b.first) * kLanes, acc);
    std::copy_n(acc, std::min(frames, kLanes), mel + m * mel_stride);
  }
}

MelFrames::MelFrames(const MelFilterBank& bank, Matrix& mel)
    : bank_(bank),
      mel_(mel),
      frames_(static_cast<std::size_t>(bank.n_bins()) * MelFilterBank::kLanes, 0.0f),
      block_(frames_.size(), 0.0f) {}

void MelFrames::Add(const float* power) {
  const auto bins = static_cast<std::size_t>(bank_.n_bins());
  std::copy_n(power, bins, frames_.data() + lanes_ * bins);
  if (++lanes_ == MelFilterBank::kLanes) Finish();
}

void MelFrames::Finish() {
  if (lanes_ == 0) return;
  if (done_ + lanes_ > mel_.cols) throw OptionError("MelFrames: more frames than the mel spectrogram has");
  // [kLanes, bins] -> [bins, kLanes] (a frame written straight into its lane touches a
  // cache line per bin; lanes past lanes_ hold older frames, never written out).
  kernels::Transpose16(frames_.data(), static_cast<std::size_t>(bank_.n_bins()), block_.data());
  bank_.Apply(block_.data(), lanes_, mel_.data.data() + done_, mel_.cols);
  done_ += lanes_;
  lanes_ = 0;
}

Matrix PowerToDb(const Matrix& power, const DbOptions& options) {
  Matrix out = power;
  PowerToDbInPlace(out, options);
  return out;
}

void PowerToDbInPlace(Matrix& m, const DbOptions& options) {
  options.Validate();
  const Matrix& power = m;
  Matrix& out = m;
  double ref = options.ref;
  if (options.ref_max) {
    ref = power.empty() ? 0.0 : *std::max_element(power.data.begin(), power.data.end());
  }
  const float offset = static_cast<float>(10.0 * std::log10(std::max(options.amin, std::abs(ref))));
  // librosa works in float32 here too; 10 log10(x) = (10 / ln 10) ln(x), and glibc's
  // logf is several times faster than log10 (error ~1e-5 dB at 100 dB).
  const float amin = static_cast<float>(options.amin);
  const float scale = static_cast<float>(10.0 / std::numbers::ln10);
  float peak = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < power.data.size(); ++i) {
    out.data[i] = scale * std::log(std::max(amin, power.data[i])) - offset;
    peak = std::max(peak, out.data[i]);
  }
  if (options.top_db > 0) {
    const float floor = static_cast<float>(peak - options.top_db);
    for (float& v : out.data) v = std::max(v, floor);
  }
}

FrontEnd::FrontEnd(const FrontEndOptions& options)
    : options_((options.Validate(), options)),
      fft_(options.stft.n_fft),
      window_(PeriodicHann(options.stft.n_fft)),
      freqs_(FftFrequencies(options.sample_rate, options.stft.n_fft)),
      mel_(options.sample_rate, options.stft.n_fft, options.mel) {
  const int n_mels = options_.mel.n_mels, n_mfcc = options_.mfcc.n_mfcc;
  dct_.resize(static_cast<std::size_t>(n_mfcc) * n_mels);
  for (int k = 0; k < n_mfcc; ++k) {
    const double scale = k == 0 ? std::sqrt(1.0 / n_mels) : std::sqrt(2.0 / n_mels);
    for (int m = 0; m < n_mels; ++m)
      dct_[static_cast<std::size_t>(k) * n_mels + m] = scale * std::cos(kPi * k * (2.0 * m + 1.0) / (2.0 * n_mels));
  }
}

std::size_t FrontEnd::NumFrames(std::size_t n) const {
  const auto n_fft = static_cast<std::size_t>(options_.stft.n_fft);
  const auto hop = static_cast<std::size_t>(options_.stft.hop_length);
  if (options_.stft.center) return 1 + n / hop;
  return n < n_fft ? 0 : 1 + (n - n_fft) / hop;
}

Matrix FrontEnd::MfccFromLogMel(const Matrix& logmel) const {
  const std::size_t n_mels = static_cast<std::size_t>(options_.mel.n_mels);
  if (logmel.rows != n_mels)
    throw OptionError("MFCC input must have n_mels = " + std::to_string(n_mels) + " rows, got " +
                      std::to_string(logmel.rows));
  const std::size_t n_mfcc = static_cast<std::size_t>(options_.mfcc.n_mfcc), T = logmel.cols;
  Matrix out(n_mfcc, T);
  std::vector<double> acc(T);
  for (std::size_t k = 0; k < n_mfcc; ++k) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (std::size_t m = 0; m < n_mels; ++m) {
      Axpy(dct_[k * n_mels + m], logmel.row(m), acc.data(), T);
    }
    float* o = out.row(k);
    for (std::size_t t = 0; t < T; ++t) o[t] = static_cast<float>(acc[t]);
  }
  return out;
}

FeatureSet FrontEnd::Compute(std::span<const float> y, unsigned features) const {
  const StftOptions& so = options_.stft;
  const int n_fft = so.n_fft, hop = so.hop_length;
  if (y.size() < static_cast<std::size_t>(n_fft)) {
    std::ostringstream msg;
    msg << "signal of " << y.size() << " samples (" << static_cast<double>(y.size()) / options_.sample_rate << " s at "
        << options_.sample_rate << " Hz) is shorter than one FFT frame (n_fft = " << n_fft << ")";
    throw InputError(msg.str());
  }
  const std::size_t T = NumFrames(y.size());
  const std::size_t bins = static_cast<std::size_t>(fft_.bins());
  const std::size_t n_mels = static_cast<std::size_t>(options_.mel.n_mels);
  const std::ptrdiff_t offset = so.center ? n_fft / 2 : 0;
  FeatureSet out;

  const bool want_mel = features & (kMel | kLogMel | kMfcc);
  const bool want_spectral = features & (kCentroid | kBandwidth | kRolloff);
  if (features & kPower) out.power = Matrix(bins, T);
  Matrix mel;
  if (want_mel) mel = Matrix(n_mels, T);
  if (features & kCentroid) out.centroid = Matrix(1, T);
  if (features & kBandwidth) out.bandwidth = Matrix(1, T);
  if (features & kRolloff) out.rolloff = Matrix(1, T);

  if ((features & kPower) || want_mel || want_spectral) {
    AlignedBuffer<double> frame(static_cast<std::size_t>(n_fft));
    AlignedBuffer<std::complex<double>> spec(bins);
    std::vector<float> raw(static_cast<std::size_t>(n_fft)), mag(bins), pw(bins), scratch(bins);
    const double power = options_.power;
    const float rolloff_share = static_cast<float>(options_.spectral.rolloff_percent);
    const double* spec_d = reinterpret_cast<const double*>(spec.data());
    MelFrames mel_frames(mel_, mel);
    for (std::size_t t = 0; t < T; ++t) {
      const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t) * hop - offset;
      const float* x = kernels::FrameAt(y, start, n_fft, so.pad_mode, raw.data());
      WindowFrame(x, window_.data(), frame.data(), n_fft);
      fft_.Forward(frame.data(), spec.data());
      if (want_spectral || power != 2.0) MagnitudeSpectrum(spec_d, mag.data(), bins);
      if ((features & kPower) || want_mel) {
        if (power == 2.0) {
          PowerSpectrum(spec_d, pw.data(), bins);
        } else if (power == 1.0) {
          std::copy(mag.begin(), mag.end(), pw.begin());
        } else {
          for (std::size_t k = 0; k < bins; ++k) pw[k] = std::pow(mag[k], static_cast<float>(power));
        }
        if (features & kPower)
          for (std::size_t k = 0; k < bins; ++k) out.power(k, t) = pw[k];
        if (want_mel) mel_frames.Add(pw.data());
      }
      if (want_spectral)
        kernels::SpectralShape(mag.data(), bins, freqs_.data(), rolloff_share,
                               (features & kCentroid) ? &out.centroid(0, t) : nullptr,
                               (features & kBandwidth) ? &out.bandwidth(0, t) : nullptr,
                               (features & kRolloff) ? &out.rolloff(0, t) : nullptr, scratch.data());
    }
    if (want_mel) mel_frames.Finish();
  }

  if (features & kRms) {
    out.rms = Matrix(1, T);
    std::vector<float> raw(static_cast<std::size_t>(n_fft));
    for (std::size_t t = 0; t < T; ++t) {
      const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(t) * hop - offset;
      const float* x = kernels::FrameAt(y, start, n_fft, so.pad_mode, raw.data());
      const double acc = Dot(x, x, static_cast<std::size_t>(n_fft));
      out.rms(0, t) = static_cast<float>(std::sqrt(acc / n_fft));
    }
  }
  if (features & kZcr) {
    out.zcr = Matrix(1, T);
    // librosa.feature.zero_crossing_rate pads with 'edge' whatever the STFT does, zeroes
    // |x| <= 1e-10, and counts signbit changes between neighbours in the frame. Signs are
    // taken once over the padded signal (one byte a sample), changes counted per frame.
    const std::size_t len = (T - 1) * static_cast<std::size_t>(hop) + static_cast<std::size_t>(n_fft);
    const auto n = static_cast<std::ptrdiff_t>(y.size());
    std::vector<std::uint8_t> sign(len);
    for (std::size_t q = 0; q < len; ++q) {
      const std::ptrdiff_t i = std::clamp<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(q) - offset, 0, n - 1);
      const float v = y[static_cast<std::size_t>(i)];
      sign[q] = std::abs(v) <= 1e-10f ? 0 : std::signbit(v);
    }
    for (std::size_t t = 0; t < T; ++t) {
      const std::size_t c =
          kernels::CountChanges(sign.data() + t * static_cast<std::size_t>(hop), static_cast<std::size_t>(n_fft));
      out.zcr(0, t) = static_cast<float>(static_cast<double>(c) / n_fft);
    }
  }

  if (want_mel) {
    if (features & (kLogMel | kMfcc)) {
      Matrix logmel = (features & kMel) ? mel : std::move(mel);  // a copy only when mel is kept
      PowerToDbInPlace(logmel, options_.db);
      if (features & kMfcc) out.mfcc = MfccFromLogMel(logmel);
      if (features & kLogMel) out.logmel = std::move(logmel);
    }
    if (features & kMel) out.mel = std::move(mel);
  }
  return out;
}

}  // namespace genre

namespace genre {

Matrix& FeatureSet::Get(Feature f) {
  switch (f) {
    case kPower:
      return power;
    case kMel:
      return mel;
    case kLogMel:
      return logmel;
    case kMfcc:
      return mfcc;
    case kCentroid:
      return centroid;
    case kBandwidth:
      return bandwidth;
    case kRolloff:
      return rolloff;
    case kRms:
      return rms;
    case kZcr:
      return zcr;
  }
  throw OptionError("FeatureSet::Get: not a single feature: " + std::to_string(static_cast<unsigned>(f)));
}

const Matrix& FeatureSet::Get(Feature f) const { return const_cast<FeatureSet*>(this)->Get(f); }

const std::vector<FeatureName>& FeatureNames() {
  static const std::vector<FeatureName> names = {
      {kPower, "power"},         {kMel, "mel"},         {kLogMel, "logmel"}, {kMfcc, "mfcc"}, {kCentroid, "centroid"},
      {kBandwidth, "bandwidth"}, {kRolloff, "rolloff"}, {kRms, "rms"},       {kZcr, "zcr"}};
  return names;
}

unsigned ParseFeatureList(const std::string& list) {
  unsigned mask = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = list.find(',', start);
    const std::string name = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
    bool found = false;
    for (const FeatureName& f : FeatureNames())
      if (name == f.name) {
        mask |= f.feature;
        found = true;
      }
    if (!found) {
      std::string all;
      for (const FeatureName& f : FeatureNames()) all += std::string(all.empty() ? "" : ", ") + f.name;
      throw OptionError("unknown feature '" + name + "' (one of " + all + ")");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return mask;
}

}  // namespace genre
