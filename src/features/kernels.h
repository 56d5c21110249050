// Per-frame kernels shared by the front end and the GTZAN feature vector (private).
// Hot loops get an AVX2 clone picked at load time, so a generic x86-64 build
// still vectorises them on machines that have AVX2. (No FMA: ISO C++ mode keeps
// -ffp-contract=off, so results do not depend on the clone taken.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "genre/features/options.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GENRE_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GENRE_SIMD_CLONES
#endif

namespace genre::kernels {

// numpy: float32 frame times float64 window, in float64.
void WindowFrame(const float* x, const double* w, double* out, int n);
// |X|^2 from the float64 spectrum (interleaved re, im), stored as float32.
void PowerSpectrum(const double* spec, float* out, std::size_t bins);
// |X| as librosa has it: the spectrum rounded to complex64, |.| rounded to float32.
void MagnitudeSpectrum(const double* spec, float* out, std::size_t bins);
// sum_j w[j] * s[j] in float64 with eight partial sums (vectorises without -ffast-math).
double Dot(const float* w, const float* s, std::size_t n);
// acc[l] = sum_j w[j] * s[j * 16 + l] for the 16 lanes l, each summed in order in float32.
void DotLanes16(const float* w, std::size_t n, const float* s, float* acc);
// dst[k * 16 + r] = src[r * n + k] for 16 rows r of n values, in 16 x 16 tiles.
void Transpose16(const float* src, std::size_t n, float* dst);
// acc[t] += d * x[t]
void Axpy(double d, const float* x, double* acc, std::size_t n);

// Index into a signal of n samples for a padded position i under numpy 'reflect'.
std::ptrdiff_t ReflectIndex(std::ptrdiff_t i, std::ptrdiff_t n);
// Copies the frame starting at padded position `start` into `out` (length len).
void CopyFrame(std::span<const float> y, std::ptrdiff_t start, int len, PadMode mode, float* out);
// The frame starting at padded position `start`: a pointer into y when it lies inside,
// else `scratch` (len floats) filled by CopyFrame.
const float* FrameAt(std::span<const float> y, std::ptrdiff_t start, int len, PadMode mode, float* scratch);

// Neighbours that differ in s[0..n): the zero crossings of a frame of sign bytes.
std::size_t CountChanges(const std::uint8_t* s, std::size_t n);

// Spectral shape of one magnitude frame, as librosa.feature.spectral_centroid /
// spectral_bandwidth (p = 2) / spectral_rolloff; a null output is not computed.
// `scratch` holds `bins` floats.
void SpectralShape(const float* mag, std::size_t bins, const double* freqs, float rolloff_share, float* centroid,
                   float* bandwidth, float* rolloff, float* scratch);

}  // namespace genre::kernels
