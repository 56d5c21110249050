// Running median filter along one axis of a matrix, equal to
// scipy.ndimage.median_filter(x, size=(size, 1) or (1, size), mode='reflect'):
// the window is centred, and positions past an end are mirrored with the edge
// sample repeated (... x1 x0 | x0 x1 ...), as librosa's HPSS uses it.
//
// Cost: O(size) vector operations per 16 outputs (a sorted window per lane,
// updated without branches; AVX-512 / AVX2 clones picked at load time): about
// 100x faster than selecting the median of every window (bench_gtzan_vector).
#pragma once

#include "genre/features/matrix.h"

namespace genre {

// axis 0: every column filtered over its rows (a time filter on [frames, bins]);
// axis 1: every row filtered over its columns. size must be odd and >= 1;
// throws OptionError otherwise, or for another axis.
Matrix MedianFilter(const Matrix& x, int size, int axis);

}  // namespace genre
