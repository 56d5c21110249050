// Fixed-length windows over a [rows, T] feature matrix: what the models see.
#pragma once

#include <cstddef>
#include <vector>

#include "genre/features/matrix.h"

namespace genre {

// Start columns of the windows covering T columns with `window` columns every
// `hop`: 0, hop, 2 hop, ... and a last window flush with the end when the grid
// leaves a tail. T <= window gives one window at 0 (padded by Window()).
std::vector<std::size_t> WindowStarts(std::size_t T, std::size_t window, std::size_t hop);

// Columns [start, start + window) of x; columns past the end are `pad`.
Matrix Window(const Matrix& x, std::size_t start, std::size_t window, float pad);

// The smallest value of x (the padding that reads as silence for log-mel).
float MinValue(const Matrix& x);

}  // namespace genre
