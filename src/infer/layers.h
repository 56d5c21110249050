// The layers of the inference runtime (private to src/infer/): convolutions, pooling and
// dense layers on oneDNN primitives over float32 tensors (row-major, or oneDNN's blocked
// layouts between convolutions and pools).
// Each layer owns its weights (batch norm already folded in) and is const once built, so
// one network serves many threads; a primitive is made per input shape at each call and
// oneDNN's primitive cache makes the repeat cheap.
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace genre::infer {

// Storage of `bytes` for tensor values; from 1 MB on, in 2-MB transparent huge pages where
// the kernel offers them (madvise): the MSD convnet's first map is 17 MB, and touching
// it page by page cost 4,000 page faults, 40 ms of a cold 30-s classification.
void* AllocateValues(std::size_t bytes);
void FreeValues(void* p, std::size_t bytes);

// An allocator for tensor values: AllocateValues, and value-initialisation that leaves
// floats unset (a tensor a kernel is about to write in full is not zero-filled first).
template <class T>
struct Uninitialised : std::allocator<T> {
  T* allocate(std::size_t n) { return static_cast<T*>(AllocateValues(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { FreeValues(p, n * sizeof(T)); }
  template <class U>
  struct rebind {
    using other = Uninitialised<U>;
  };
  Uninitialised() = default;
  template <class U>
  Uninitialised(const Uninitialised<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Values = std::vector<float, Uninitialised<float>>;

// A float32 tensor of logical shape `dims` ([N, C, W], [N, C, H, W] or [N, F]). Its values
// are row-major over `dims` unless `layout` says otherwise: convolutions and pools hand
// each other oneDNN's blocked layouts (channels in groups of 8 or 16), which its fast
// kernels read and write; Plain() turns a tensor back into row-major values.
struct Tensor {
  std::vector<std::int64_t> dims;
  Values data;
  dnnl::memory::desc layout;  // empty: row-major over dims
  Tensor() = default;
  explicit Tensor(std::vector<std::int64_t> d);                      // row-major, values unset
  Tensor(std::vector<std::int64_t> d, const dnnl::memory::desc& l);  // room for layout l, unset
  std::int64_t size(std::size_t i) const { return dims.at(i); }
  std::size_t numel() const { return data.size(); }  // row-major tensors: the product of dims
};
// `x` with row-major values (itself when it has them).
Tensor Plain(Tensor x);

enum class Activation { kNone, kRelu, kElu };

// Batch norm in inference form: y = (x - mean) / sqrt(var + eps) * gamma + beta per channel.
struct BatchNorm {
  std::vector<float> gamma, beta, mean, var;
  double eps = 1e-5;
};

// A convolution of stride 1 over the last one (1D) or two (2D) dimensions, zero padding
// `pad` on each side, a bias (zeros when the network has none), batch norm folded into
// weight and bias, then the activation (fused: a oneDNN post-op). Its output has the
// layout oneDNN's kernel prefers.
class Conv {
 public:
  // weight [out, in, k] (1D) or [out, in, kh, kw] (2D); bias empty or [out]; bn optional.
  Conv(std::vector<std::int64_t> weight_dims, std::vector<float> weight, std::vector<float> bias, const BatchNorm* bn,
       std::vector<std::int64_t> pad, Activation act);
  Tensor Run(const Tensor& x) const;
  // With other padding before and after (per spatial dimension): a tile of a larger input.
  Tensor Run(const Tensor& x, const std::vector<std::int64_t>& pad_l, const std::vector<std::int64_t>& pad_r) const;

 private:
  std::vector<std::int64_t> dims_, pad_;
  std::vector<float> weight_, bias_;
  Activation act_;
};

// Max pooling with kernel = stride over the last one or two dimensions, in x's layout.
// `ceil`: a last, partial window counts (PyTorch's ceil_mode), else it is dropped.
Tensor MaxPool(const Tensor& x, const std::vector<std::int64_t>& kernel, bool ceil);
// PyTorch's adaptive average pool to `out` cells per spatial dimension (cells may overlap);
// row-major out.
Tensor AdaptiveAvgPool(const Tensor& x, const std::vector<std::int64_t>& out);
// The mean (max) over all spatial positions: [N, C, ...] -> row-major [N, C].
Tensor SpatialMean(const Tensor& x);
Tensor SpatialMax(const Tensor& x);
// The sums over all spatial positions in double, N x C (row-major).
std::vector<double> SpatialSums(const Tensor& x);

// A layout for `dims` in the format of `like` (row-major, or channels in blocks of 8 or 16:
// what the convolutions and pools write); empty for another format.
dnnl::memory::desc LayoutLike(const dnnl::memory::desc& like, const std::vector<std::int64_t>& dims);
// Writes `from` into `to` from column `at` on (the last dimension; the others equal), both
// in one such format. Throws ModelError for other layouts.
void CopyColumns(const Tensor& from, Tensor& to, std::int64_t at);

// A dense layer y = x W^T + b ([N, in] -> [N, out]), the activation fused.
class Dense {
 public:
  Dense(std::int64_t out, std::int64_t in, std::vector<float> weight, std::vector<float> bias, Activation act);
  Tensor Run(const Tensor& x) const;
  std::int64_t in() const { return in_; }

 private:
  std::int64_t out_, in_;
  std::vector<float> weight_, bias_;
  Activation act_;
};

// [rows, inner] x [inner, cols] on oneDNN's matmul.
void MatMul(const float* a, const float* b, float* c, std::int64_t rows, std::int64_t inner, std::int64_t cols);

// In place over each row of [N, K]: softmax (max subtracted, sum in double) or sigmoid.
void Softmax(Tensor& x);
void Sigmoid(Tensor& x);

// oneDNN's threads (OpenMP) for the calling thread's next primitives: n >= 1.
void SetThreads(int n);

}  // namespace genre::infer
