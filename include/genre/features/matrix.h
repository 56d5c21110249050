// A dense row-major float32 matrix, [rows, cols]. Features are [bands, frames],
// the layout of librosa and of the HDF5 files genre writes.
#pragma once

#include <cstddef>
#include <vector>

namespace genre {

struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> data;

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c, float fill = 0.0f) : rows(r), cols(c), data(r * c, fill) {}

  float& operator()(std::size_t r, std::size_t c) { return data[r * cols + c]; }
  float operator()(std::size_t r, std::size_t c) const { return data[r * cols + c]; }
  float* row(std::size_t r) { return data.data() + r * cols; }
  const float* row(std::size_t r) const { return data.data() + r * cols; }
  bool empty() const { return data.empty(); }
};

}  // namespace genre
