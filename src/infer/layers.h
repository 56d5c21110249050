// The layers of the inference runtime (private to src/infer/): convolutions, pooling and
// dense layers on oneDNN primitives, activations in plain NCHW / NCW float32 tensors.
// Each layer owns its weights (batch norm already folded in) and is const once built, so
// one network serves many threads; a primitive is made per input shape at each call and
// oneDNN's primitive cache makes the repeat cheap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genre::infer {

// A dense float32 tensor, row-major over `dims` ([N, C, W] or [N, C, H, W] or [N, F]).
struct Tensor {
  std::vector<std::int64_t> dims;
  std::vector<float> data;
  Tensor() = default;
  explicit Tensor(std::vector<std::int64_t> d);  // zero-filled
  std::int64_t size(std::size_t i) const { return dims.at(i); }
  std::size_t numel() const { return data.size(); }
};

enum class Activation { kNone, kRelu, kElu };

// Batch norm in inference form: y = (x - mean) / sqrt(var + eps) * gamma + beta per channel.
struct BatchNorm {
  std::vector<float> gamma, beta, mean, var;
  double eps = 1e-5;
};

// A convolution of stride 1 over the last one (1D) or two (2D) dimensions, zero padding
// `pad` on each side, a bias (zeros when the network has none), batch norm folded into
// weight and bias, then the activation (fused: a oneDNN post-op).
class Conv {
 public:
  // weight [out, in, k] (1D) or [out, in, kh, kw] (2D); bias empty or [out]; bn optional.
  Conv(std::vector<std::int64_t> weight_dims, std::vector<float> weight, std::vector<float> bias, const BatchNorm* bn,
       std::vector<std::int64_t> pad, Activation act);
  Tensor Run(const Tensor& x) const;
  std::int64_t out_channels() const { return dims_[0]; }

 private:
  std::vector<std::int64_t> dims_, pad_;
  std::vector<float> weight_, bias_;
  Activation act_;
};

// Max pooling with kernel = stride over the last one or two dimensions. `ceil`: a last,
// partial window counts (PyTorch's ceil_mode), else it is dropped.
Tensor MaxPool(const Tensor& x, const std::vector<std::int64_t>& kernel, bool ceil);
// PyTorch's adaptive average pool to `out` cells per spatial dimension (cells may overlap).
Tensor AdaptiveAvgPool(const Tensor& x, const std::vector<std::int64_t>& out);
// The mean over all spatial positions: [N, C, ...] -> [N, C].
Tensor SpatialMean(const Tensor& x);
// The maximum over all spatial positions: [N, C, ...] -> [N, C].
Tensor SpatialMax(const Tensor& x);

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
