// Real-to-complex FFT on FFTW3 (double precision, as numpy's rfft).
// A plan is made once per size and process (FFTW's planner is not thread-safe,
// so planning is serialised); Forward() only executes it and is safe to call
// from many threads at once on distinct buffers.
#pragma once

#include <complex>
#include <cstddef>
#include <memory>

namespace genre {

// fftw_malloc'd storage, aligned as FFTW's SIMD code wants; owning, move-only.
template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

class RealFft {
 public:
  explicit RealFft(int n);  // n >= 1; throws OptionError otherwise
  int size() const { return n_; }
  int bins() const { return n_ / 2 + 1; }
  // in: size() samples, out: bins() values; both from AlignedBuffer.
  void Forward(const double* in, std::complex<double>* out) const;
  // Inverse of Forward, unnormalised (out = n * x); `in` is clobbered.
  void Inverse(std::complex<double>* in, double* out) const;

 private:
  struct Plans;
  int n_;
  std::shared_ptr<const Plans> plans_;
};

}  // namespace genre
