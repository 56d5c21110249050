#include "genre/train/windows.h"

#include <algorithm>
#include <limits>
#include <string>

#include "genre/error.h"

namespace genre {

std::vector<std::size_t> WindowStarts(std::size_t T, std::size_t window, std::size_t hop) {
  if (window == 0 || hop == 0)
    throw OptionError("windows need window >= 1 and hop >= 1, got " + std::to_string(window) + ", " + std::to_string(hop));
  if (T <= window) return {0};
  std::vector<std::size_t> starts;
  for (std::size_t s = 0; s + window <= T; s += hop) starts.push_back(s);
  if (starts.back() + window < T) starts.push_back(T - window);
  return starts;
}

Matrix Window(const Matrix& x, std::size_t start, std::size_t window, float pad) {
  Matrix w(x.rows, window, pad);
  if (start >= x.cols) return w;
  const std::size_t n = std::min(window, x.cols - start);
  for (std::size_t r = 0; r < x.rows; ++r) std::copy_n(x.row(r) + start, n, w.row(r));
  return w;
}

float MinValue(const Matrix& x) {
  if (x.data.empty()) return 0.0f;
  return *std::min_element(x.data.begin(), x.data.end());
}

}  // namespace genre
