#include "genre/features/chroma.h"

#include <cmath>
#include <limits>
#include <vector>

#include "genre/error.h"

namespace genre {

void ChromaOptions::Validate() const {
  if (n_chroma < 1) throw OptionError("chroma.n_chroma must be >= 1, got " + std::to_string(n_chroma));
  if (!(tuning >= -0.5 && tuning < 0.5))
    throw OptionError("chroma.tuning must be in [-0.5, 0.5), got " + std::to_string(tuning));
}

Matrix ChromaFilterBank(int sample_rate, int n_fft, const ChromaOptions& o) {
  o.Validate();
  if (sample_rate <= 0 || n_fft < 2)
    throw OptionError("chroma filter bank needs sample_rate > 0 and n_fft >= 2, got " + std::to_string(sample_rate) +
                      ", " + std::to_string(n_fft));
  const int n = o.n_chroma;
  const double a440 = 440.0 * std::pow(2.0, o.tuning / n);
  // Chroma bin position of every FFT bin 1..n_fft-1 (float64 as librosa).
  std::vector<double> frqbins(static_cast<std::size_t>(n_fft));
  for (int k = 1; k < n_fft; ++k) {
    const double hz = static_cast<double>(k) * sample_rate / n_fft;
    frqbins[static_cast<std::size_t>(k)] = n * std::log2(hz / (a440 / 16.0));
  }
  frqbins[0] = frqbins[1] - 1.5 * n;  // 0 Hz: 1.5 octaves below bin 1
  std::vector<double> width(static_cast<std::size_t>(n_fft), 1.0);
  for (int k = 0; k + 1 < n_fft; ++k)
    width[static_cast<std::size_t>(k)] =
        std::max(frqbins[static_cast<std::size_t>(k) + 1] - frqbins[static_cast<std::size_t>(k)], 1.0);

  const double half = std::nearbyint(n / 2.0);
  std::vector<double> w(static_cast<std::size_t>(n) * n_fft);
  for (int k = 0; k < n_fft; ++k) {
    double norm = 0;
    for (int c = 0; c < n; ++c) {
      double d = frqbins[static_cast<std::size_t>(k)] - c;
      d = std::fmod(d + half + 10.0 * n, static_cast<double>(n));
      if (d < 0) d += n;  // numpy remainder has the divisor's sign
      d -= half;
      const double g = std::exp(-0.5 * std::pow(2.0 * d / width[static_cast<std::size_t>(k)], 2.0));
      w[static_cast<std::size_t>(c) * n_fft + k] = g;
      norm += g * g;
    }
    norm = std::sqrt(norm);
    if (norm > std::numeric_limits<double>::min())
      for (int c = 0; c < n; ++c) w[static_cast<std::size_t>(c) * n_fft + k] /= norm;
    if (o.octwidth > 0) {
      const double oct =
          std::exp(-0.5 * std::pow((frqbins[static_cast<std::size_t>(k)] / n - o.ctroct) / o.octwidth, 2.0));
      for (int c = 0; c < n; ++c) w[static_cast<std::size_t>(c) * n_fft + k] *= oct;
    }
  }
  const int bins = n_fft / 2 + 1;
  const int roll = o.base_c ? 3 * (n / 12) : 0;  // np.roll(wts, -roll, axis=0)
  Matrix out(static_cast<std::size_t>(n), static_cast<std::size_t>(bins));
  for (int c = 0; c < n; ++c) {
    const int src = (c + roll) % n;
    for (int k = 0; k < bins; ++k)
      out(static_cast<std::size_t>(c), static_cast<std::size_t>(k)) =
          static_cast<float>(w[static_cast<std::size_t>(src) * n_fft + k]);
  }
  return out;
}

Matrix ChromaFromPower(const Matrix& power, const Matrix& fb) {
  if (power.rows != fb.cols)
    throw InputError("chroma: spectrogram has " + std::to_string(power.rows) + " bins, the filter bank " +
                     std::to_string(fb.cols));
  Matrix out(fb.rows, power.cols);
  for (std::size_t c = 0; c < fb.rows; ++c) {
    float* dst = out.row(c);
    for (std::size_t k = 0; k < fb.cols; ++k) {
      const float wk = fb(c, k);
      if (wk == 0.0f) continue;
      const float* src = power.row(k);
      for (std::size_t t = 0; t < power.cols; ++t) dst[t] += wk * src[t];
    }
  }
  const float tiny = std::numeric_limits<float>::min();
  for (std::size_t t = 0; t < out.cols; ++t) {
    float peak = 0;
    for (std::size_t c = 0; c < out.rows; ++c) peak = std::max(peak, std::fabs(out(c, t)));
    if (peak < tiny) continue;
    for (std::size_t c = 0; c < out.rows; ++c) out(c, t) /= peak;
  }
  return out;
}

}  // namespace genre
