#include "kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace genre::kernels {

GENRE_SIMD_CLONES void WindowFrame(const float* x, const double* w, double* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<double>(x[i]) * w[i];
}

GENRE_SIMD_CLONES void PowerSpectrum(const double* spec, float* out, std::size_t bins) {
  for (std::size_t k = 0; k < bins; ++k) {
    const double re = spec[2 * k], im = spec[2 * k + 1];
    out[k] = static_cast<float>(re * re + im * im);
  }
}

GENRE_SIMD_CLONES void MagnitudeSpectrum(const double* spec, float* out, std::size_t bins) {
  for (std::size_t k = 0; k < bins; ++k) {
    const double re = static_cast<float>(spec[2 * k]);
    const double im = static_cast<float>(spec[2 * k + 1]);
    out[k] = static_cast<float>(std::sqrt(re * re + im * im));
  }
}

GENRE_SIMD_CLONES double Dot(const float* w, const float* s, std::size_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int i = 0; i < 8; ++i) a[i] += static_cast<double>(w[j + i]) * static_cast<double>(s[j + i]);
  double tail = 0;
  for (; j < n; ++j) tail += static_cast<double>(w[j]) * static_cast<double>(s[j]);
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])) + tail;
}

GENRE_SIMD_CLONES void DotLanes16(const float* w, std::size_t n, const float* s, float* acc) {
  // Vectors across the lanes (GCC / Clang vector extensions): left to itself the
  // vectoriser runs along j and shuffles.
  using F8 = float __attribute__((vector_size(32)));
  F8 a0 = {}, a1 = {};
  for (std::size_t j = 0; j < n; ++j) {
    F8 s0, s1;
    std::memcpy(&s0, s + j * 16, sizeof s0);
    std::memcpy(&s1, s + j * 16 + 8, sizeof s1);
    const F8 wj = F8{} + w[j];
    a0 += wj * s0;
    a1 += wj * s1;
  }
  std::memcpy(acc, &a0, sizeof a0);
  std::memcpy(acc + 8, &a1, sizeof a1);
}

GENRE_SIMD_CLONES void Transpose16(const float* src, std::size_t n, float* dst) {
  const std::size_t body = n - n % 16;
  for (std::size_t k0 = 0; k0 < body; k0 += 16) {
    float tile[16][16];
    for (std::size_t r = 0; r < 16; ++r) std::memcpy(tile[r], src + r * n + k0, sizeof tile[r]);
    for (std::size_t k = 0; k < 16; ++k)
      for (std::size_t r = 0; r < 16; ++r) dst[(k0 + k) * 16 + r] = tile[r][k];
  }
  for (std::size_t k = body; k < n; ++k)
    for (std::size_t r = 0; r < 16; ++r) dst[k * 16 + r] = src[r * n + k];
}

GENRE_SIMD_CLONES void Axpy(double d, const float* x, double* acc, std::size_t n) {
  for (std::size_t t = 0; t < n; ++t) acc[t] += d * static_cast<double>(x[t]);
}

std::ptrdiff_t ReflectIndex(std::ptrdiff_t i, std::ptrdiff_t n) {
  if (n == 1) return 0;
  const std::ptrdiff_t period = 2 * (n - 1);
  std::ptrdiff_t m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

namespace {

// Raw sample at padded position i under a pad mode (zero for kConstant outside).
float PaddedSample(std::span<const float> y, std::ptrdiff_t i, PadMode mode) {
  const auto n = static_cast<std::ptrdiff_t>(y.size());
  if (i >= 0 && i < n) return y[static_cast<std::size_t>(i)];
  switch (mode) {
    case PadMode::kConstant:
      return 0.0f;
    case PadMode::kEdge:
      return y[i < 0 ? 0 : static_cast<std::size_t>(n - 1)];
    case PadMode::kReflect:
      return y[static_cast<std::size_t>(ReflectIndex(i, n))];
  }
  return 0.0f;
}

}  // namespace

void CopyFrame(std::span<const float> y, std::ptrdiff_t start, int len, PadMode mode, float* out) {
  const auto n = static_cast<std::ptrdiff_t>(y.size());
  if (start >= 0 && start + len <= n) {
    std::copy_n(y.data() + start, len, out);
    return;
  }
  for (int i = 0; i < len; ++i) out[i] = PaddedSample(y, start + i, mode);
}

const float* FrameAt(std::span<const float> y, std::ptrdiff_t start, int len, PadMode mode, float* scratch) {
  if (start >= 0 && start + len <= static_cast<std::ptrdiff_t>(y.size())) return y.data() + start;
  CopyFrame(y, start, len, mode, scratch);
  return scratch;
}

GENRE_SIMD_CLONES void SpectralShape(const float* mag, std::size_t bins, const double* freqs, float rolloff_share,
                                     float* centroid_out, float* bandwidth_out, float* rolloff_out, float* scratch) {
  // librosa.util.normalize(S, norm=1): the frame's sum (numpy sums float32 pairwise; we use
  // float64 in 8 interleaved partial sums, which vectorises), float32 result; silent frames give 0.
  const float tiny = std::numeric_limits<float>::min();
  double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  auto reduce = [&part] {
    const double s = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
    std::fill(part, part + 8, 0.0);
    return s;
  };
  const std::size_t body = bins - bins % 8;
  for (std::size_t k = 0; k < body; k += 8)
    for (int i = 0; i < 8; ++i) part[i] += mag[k + i];
  double total = reduce();
  for (std::size_t k = body; k < bins; ++k) total += mag[k];
  const double length = total < tiny ? 1.0 : total;
  // The normalised frame (float32, as librosa stores it), divided once for both sums.
  for (std::size_t k = 0; k < bins; ++k) scratch[k] = static_cast<float>(mag[k] / length);
  for (std::size_t k = 0; k < body; k += 8)
    for (int i = 0; i < 8; ++i) part[i] += freqs[k + i] * scratch[k + i];
  double centroid = reduce();
  for (std::size_t k = body; k < bins; ++k) centroid += freqs[k] * scratch[k];
  if (centroid_out) *centroid_out = static_cast<float>(centroid);
  if (bandwidth_out) {
    for (std::size_t k = 0; k < body; k += 8)
      for (int i = 0; i < 8; ++i) {
        const double dev = freqs[k + i] - centroid;
        part[i] += scratch[k + i] * dev * dev;
      }
    double acc = reduce();
    for (std::size_t k = body; k < bins; ++k) {
      const double dev = freqs[k] - centroid;
      acc += scratch[k] * dev * dev;
    }
    *bandwidth_out = static_cast<float>(std::sqrt(acc));
  }
  if (rolloff_out) {
    // numpy's cumsum on float32 is a sequential float32 sum: kept as it is (the
    // threshold decides a bin, and a bin is 10.8 Hz). The running sums are stored
    // (over the normalised copy, no longer needed) and the first bin reaching the
    // threshold is found by bisection: the sums never decrease.
    float cum = 0.0f;
    for (std::size_t k = 0; k < bins; ++k) scratch[k] = cum += mag[k];
    const float threshold = rolloff_share * cum;
    const std::size_t k = static_cast<std::size_t>(std::lower_bound(scratch, scratch + bins, threshold) - scratch);
    *rolloff_out = static_cast<float>(freqs[std::min(k, bins - 1)]);
  }
}

}  // namespace genre::kernels

namespace genre::kernels {

GENRE_SIMD_CLONES std::size_t CountChanges(const std::uint8_t* s, std::size_t n) {
  std::uint32_t count = 0;
  for (std::size_t i = 1; i < n; ++i) count += s[i] != s[i - 1];
  return count;
}

}  // namespace genre::kernels
