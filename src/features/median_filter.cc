#include "genre/features/median_filter.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "genre/error.h"
#include "kernels.h"

namespace genre {
namespace {

// 16 lanes: one AVX-512 register, two AVX2 ones, four SSE ones.
constexpr std::size_t kLanes = 16;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define FILTER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FILTER_CLONES
#endif
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// scipy.ndimage 'reflect' (half-sample symmetric), periodic beyond one mirror.
std::size_t Mirror(std::ptrdiff_t i, std::ptrdiff_t n) {
  const std::ptrdiff_t period = 2 * n;
  std::ptrdiff_t m = i % period;
  if (m < 0) m += period;
  return static_cast<std::size_t>(m < n ? m : period - 1 - m);
}

// Filters kLanes independent sequences at once: in[i] holds sample i of every lane.
// `sorted` keeps each lane's window in order; one step removes the sample that
// leaves and inserts the one that enters with compare / select / min / max only:
//   kept[j] = a[j] < old ? a[j] : a[j + 1]           (drop one copy of `old`)
//   a'[j]   = min(max(kept[j - 1], new), kept[j])    (insert `new` in order)
FILTER_CLONES void FilterLanes(const Lanes* in, Lanes* out, std::size_t n, int size, Lanes* sorted) {
  const int half = size / 2;
  const auto sn = static_cast<std::ptrdiff_t>(n);
  for (std::size_t l = 0; l < kLanes; ++l) {
    float window[1024];
    for (int j = 0; j < size; ++j) window[j] = in[Mirror(j - half, sn)][l];
    std::sort(window, window + size);
    for (int j = 0; j < size; ++j) sorted[j][l] = window[j];
  }
  const float inf = std::numeric_limits<float>::infinity();
  const Lanes neg_inf = Lanes{} - inf;
  for (std::size_t i = 0;; ++i) {
    out[i] = sorted[half];
    if (i + 1 == n) break;
    const Lanes old = in[Mirror(static_cast<std::ptrdiff_t>(i) - half, sn)];
    const Lanes add = in[Mirror(static_cast<std::ptrdiff_t>(i) + half + 1, sn)];
    Lanes prev = neg_inf;
    for (int j = 0; j + 1 < size; ++j) {
      const Lanes a = sorted[j], b = sorted[j + 1];
      const Lanes kept = a < old ? a : b;
      const Lanes hi = prev > add ? prev : add;
      sorted[j] = hi < kept ? hi : kept;
      prev = kept;
    }
    sorted[size - 1] = prev > add ? prev : add;
  }
}

}  // namespace

Matrix MedianFilter(const Matrix& x, int size, int axis) {
  if (size < 1 || size % 2 == 0 || size > 1023)
    throw OptionError("median filter size must be odd and in [1, 1023], got " + std::to_string(size));
  if (axis != 0 && axis != 1) throw OptionError("median filter axis must be 0 or 1, got " + std::to_string(axis));
  Matrix out(x.rows, x.cols);
  if (x.empty()) return out;
  // Sequences run along `axis`; `count` of them sit side by side.
  const std::size_t n = axis == 0 ? x.rows : x.cols;
  const std::size_t count = axis == 0 ? x.cols : x.rows;
  // new[] (not std::vector, whose template argument drops the vector type's 32-byte
  // alignment) keeps the AVX loads aligned.
  const std::unique_ptr<Lanes[]> in(new Lanes[n]), res(new Lanes[n]), sorted(new Lanes[static_cast<std::size_t>(size)]);
  std::vector<float> zeros(axis == 1 ? n : 0, 0.0f), sink(axis == 1 ? n : 0);
  for (std::size_t first = 0; first < count; first += kLanes) {
    const std::size_t lanes = std::min(kLanes, count - first);
    float* buf = reinterpret_cast<float*>(in.get());
    if (axis == 0) {  // 8 neighbouring columns: 8 contiguous floats per row
      for (std::size_t i = 0; i < n; ++i) {
        const float* src = x.row(i) + first;
        for (std::size_t l = 0; l < kLanes; ++l) buf[i * kLanes + l] = l < lanes ? src[l] : 0.0f;
      }
    } else {  // 8 rows read side by side (missing rows read a row of zeros)
      const float* src[kLanes];
      for (std::size_t l = 0; l < kLanes; ++l) src[l] = l < lanes ? x.row(first + l) : zeros.data();
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t l = 0; l < kLanes; ++l) buf[i * kLanes + l] = src[l][i];
    }
    FilterLanes(in.get(), res.get(), n, size, sorted.get());
    const float* got = reinterpret_cast<const float*>(res.get());
    if (axis == 0) {
      for (std::size_t i = 0; i < n; ++i) std::copy_n(got + i * kLanes, lanes, out.row(i) + first);
    } else {
      float* dst[kLanes];
      for (std::size_t l = 0; l < kLanes; ++l) dst[l] = l < lanes ? out.row(first + l) : sink.data();
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t l = 0; l < kLanes; ++l) dst[l][i] = got[i * kLanes + l];
    }
  }
  return out;
}

}  // namespace genre
