#include "genre/features/fft.h"

#include <fftw3.h>

#include <map>
#include <mutex>
#include <string>

#include "genre/error.h"

namespace genre {

template <class T>
AlignedBuffer<T>::AlignedBuffer(std::size_t n)
    : data_(static_cast<T*>(fftw_malloc(sizeof(T) * (n ? n : 1)))), size_(n) {
  if (!data_) throw std::bad_alloc();
  for (std::size_t i = 0; i < n; ++i) new (data_ + i) T();
}

template <class T>
AlignedBuffer<T>::~AlignedBuffer() {
  fftw_free(data_);
}

template <class T>
AlignedBuffer<T>& AlignedBuffer<T>::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    fftw_free(data_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

template class AlignedBuffer<double>;
template class AlignedBuffer<float>;
template class AlignedBuffer<std::complex<double>>;

struct RealFft::Plans {
  fftw_plan forward = nullptr;
  fftw_plan inverse = nullptr;
  ~Plans();
};

namespace {
// FFTW's planner (and plan destruction) must not run concurrently.
std::mutex& PlannerMutex() {
  static std::mutex m;
  return m;
}
}  // namespace

RealFft::Plans::~Plans() {
  std::lock_guard<std::mutex> lock(PlannerMutex());
  if (forward) fftw_destroy_plan(forward);
  if (inverse) fftw_destroy_plan(inverse);
}

RealFft::RealFft(int n) : n_(n) {
  if (n < 1) throw OptionError("FFT size must be >= 1, got " + std::to_string(n));
  // One plan per size for the whole process, shared by every RealFft of that size.
  static std::mutex cache_mutex;
  static std::map<int, std::weak_ptr<const Plans>> cache;
  std::lock_guard<std::mutex> cache_lock(cache_mutex);
  if (auto hit = cache[n].lock()) {
    plans_ = hit;
    return;
  }
  auto plans = std::make_shared<Plans>();
  AlignedBuffer<double> real(static_cast<std::size_t>(n));
  AlignedBuffer<std::complex<double>> spec(static_cast<std::size_t>(n / 2 + 1));
  auto* c = reinterpret_cast<fftw_complex*>(spec.data());
  {
    std::lock_guard<std::mutex> lock(PlannerMutex());
    // FFTW_ESTIMATE: no timing runs at start-up, and the same algorithm (so the
    // same rounding) on every run.
    plans->forward = fftw_plan_dft_r2c_1d(n, real.data(), c, FFTW_ESTIMATE);
    plans->inverse = fftw_plan_dft_c2r_1d(n, c, real.data(), FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
  }
  if (!plans->forward || !plans->inverse) throw OptionError("FFTW could not plan an FFT of size " + std::to_string(n));
  cache[n] = plans;
  plans_ = std::move(plans);
}

void RealFft::Forward(const double* in, std::complex<double>* out) const {
  fftw_execute_dft_r2c(plans_->forward, const_cast<double*>(in), reinterpret_cast<fftw_complex*>(out));
}

void RealFft::Inverse(std::complex<double>* in, double* out) const {
  fftw_execute_dft_c2r(plans_->inverse, reinterpret_cast<fftw_complex*>(in), out);
}

}  // namespace genre
