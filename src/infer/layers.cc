#include "layers.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <dnnl.hpp>
#include <limits>
#include <new>
#include <unordered_map>

#include "genre/error.h"

// libgomp's, the OpenMP runtime oneDNN is built on (Debian's libdnnl2); declared here so
// that a compiler without OpenMP headers (clang for the fuzz build) builds this file too.
extern "C" void omp_set_num_threads(int n);

namespace genre::infer {

namespace {

using dnnl::memory;
using Dims = std::vector<std::int64_t>;

dnnl::engine& Cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Plain row-major layouts by rank: activations NC / NCW / NCHW, weights OI / OIW / OIHW.
memory::format_tag Plain(std::size_t rank) {
  switch (rank) {
    case 1:
      return memory::format_tag::a;
    case 2:
      return memory::format_tag::ab;
    case 3:
      return memory::format_tag::abc;
    case 4:
      return memory::format_tag::abcd;
    default:
      throw ModelError("inference: a tensor of rank " + std::to_string(rank) + " is not supported");
  }
}

memory::desc Desc(const Dims& dims) { return {dims, memory::data_type::f32, Plain(dims.size())}; }

memory Wrap(const Dims& dims, const float* data) {
  return {Desc(dims), Cpu(), const_cast<float*>(data)};  // oneDNN reads inputs through non-const pointers
}

memory::desc LayoutOf(const Tensor& x) { return x.layout ? x.layout : Desc(x.dims); }

memory Wrap(const Tensor& x) { return {LayoutOf(x), Cpu(), const_cast<float*>(x.data.data())}; }

memory::desc Any(const Dims& dims) { return {dims, memory::data_type::f32, memory::format_tag::any}; }

dnnl::primitive_attr WithActivation(Activation act) {
  dnnl::primitive_attr attr;
  if (act == Activation::kNone) return attr;
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, act == Activation::kRelu ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_elu,
                     act == Activation::kRelu ? 0.0f : 1.0f, 0.0f);
  attr.set_post_ops(ops);
  return attr;
}

void Execute(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  dnnl::stream stream(Cpu());
  p.execute(stream, args);
  stream.wait();
}

std::int64_t Product(const Dims& d, std::size_t from) {
  std::int64_t n = 1;
  for (std::size_t i = from; i < d.size(); ++i) n *= d[i];
  return n;
}

// `from` in the layout `to` (a copy when they differ).
memory InLayout(const memory& from, const memory::desc& to) {
  if (from.get_desc() == to) return from;
  memory out(to, Cpu());
  Execute(dnnl::reorder(from, out), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, out}});
  return out;
}

}  // namespace

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20, kLarge = std::size_t{1} << 20;
}  // namespace

void* AllocateValues(std::size_t bytes) {
  if (bytes < kLarge) return ::operator new(bytes);
  const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, size);
  if (!p) throw std::bad_alloc();
  madvise(p, size, MADV_HUGEPAGE);  // advice: without huge pages the memory works the same
  return p;
}

void FreeValues(void* p, std::size_t bytes) {
  if (bytes < kLarge)
    ::operator delete(p);
  else
    std::free(p);
}

Tensor::Tensor(std::vector<std::int64_t> d) : dims(std::move(d)), data(static_cast<std::size_t>(Product(dims, 0))) {}

Tensor::Tensor(std::vector<std::int64_t> d, const memory::desc& l)
    : dims(std::move(d)), data(l.get_size() / sizeof(float)), layout(l) {}

Tensor Plain(Tensor x) {
  if (!x.layout || x.layout == Desc(x.dims)) {
    x.layout = {};
    return x;
  }
  Tensor y(x.dims);
  const memory from = Wrap(x), to = Wrap(y.dims, y.data.data());
  Execute(dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
  return y;
}

Conv::Conv(Dims weight_dims, std::vector<float> weight, std::vector<float> bias, const BatchNorm* bn, Dims pad,
           Activation act)
    : dims_(std::move(weight_dims)),
      pad_(std::move(pad)),
      weight_(std::move(weight)),
      bias_(std::move(bias)),
      act_(act) {
  const std::int64_t out = dims_.at(0), per_out = Product(dims_, 1);
  if (bias_.empty()) bias_.assign(static_cast<std::size_t>(out), 0.0f);
  if (!bn) return;
  // (w x + b - mean) s + beta with s = gamma / sqrt(var + eps): weights w s, bias (b - mean) s + beta.
  for (std::int64_t o = 0; o < out; ++o) {
    const auto k = static_cast<std::size_t>(o);
    const double s = bn->gamma[k] / std::sqrt(static_cast<double>(bn->var[k]) + bn->eps);
    for (std::int64_t i = 0; i < per_out; ++i) {
      float& w = weight_[static_cast<std::size_t>(o * per_out + i)];
      w = static_cast<float>(w * s);
    }
    bias_[k] = static_cast<float>((static_cast<double>(bias_[k]) - bn->mean[k]) * s + bn->beta[k]);
  }
}

Tensor Conv::Run(const Tensor& x) const {
  const std::size_t spatial = dims_.size() - 2;
  Dims out_dims{x.size(0), dims_[0]};
  for (std::size_t s = 0; s < spatial; ++s) out_dims.push_back(x.size(2 + s) + 2 * pad_[s] - dims_[2 + s] + 1);
  const Dims stride(spatial, 1);
  // Weights and output in the layouts the fastest kernel for this input wants.
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             LayoutOf(x), Any(dims_), Desc({dims_[0]}), Any(out_dims), stride, pad_,
                                             pad_);
  const dnnl::convolution_forward::primitive_desc pd(desc, WithActivation(act_), Cpu());
  Tensor y(out_dims, pd.dst_desc());
  const memory weights = InLayout(Wrap(dims_, weight_.data()), pd.weights_desc());  // kilobytes
  Execute(dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, Wrap(x)},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_BIAS, Wrap({dims_[0]}, bias_.data())},
                                          {DNNL_ARG_DST, Wrap(y)}});
  return y;
}

Tensor MaxPool(const Tensor& x, const Dims& kernel, bool ceil) {
  const std::size_t spatial = kernel.size();
  Dims out_dims{x.size(0), x.size(1)}, pad_r(spatial, 0);
  for (std::size_t s = 0; s < spatial; ++s) {
    const std::int64_t in = x.size(2 + s), k = kernel[s];
    const std::int64_t out = ceil ? (in + k - 1) / k : in / k;
    if (out < 1)
      throw InputError("inference: " + std::to_string(in) + " positions cannot be pooled by " + std::to_string(k));
    out_dims.push_back(out);
    pad_r[s] = (out - 1) * k + k - in;  // > 0 only for ceil: the padded positions never win a max
  }
  const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, LayoutOf(x),
                                         Any(out_dims), kernel, kernel, Dims(spatial, 0), pad_r);
  const dnnl::pooling_forward::primitive_desc pd(desc, Cpu());
  Tensor y(out_dims, pd.dst_desc());
  Execute(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, Wrap(x)}, {DNNL_ARG_DST, Wrap(y)}});
  return y;
}

Tensor AdaptiveAvgPool(const Tensor& in_layout, const Dims& out) {
  const Tensor x = Plain(in_layout);
  const std::size_t spatial = out.size();
  const std::int64_t h = spatial == 2 ? x.size(2) : 1, w = x.size(2 + spatial - 1);
  const std::int64_t oh = spatial == 2 ? out[0] : 1, ow = out.back();
  Dims out_dims{x.size(0), x.size(1)};
  out_dims.insert(out_dims.end(), out.begin(), out.end());
  Tensor y(out_dims);
  const std::int64_t planes = x.size(0) * x.size(1);
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* in = x.data.data() + p * h * w;
    for (std::int64_t i = 0; i < oh; ++i) {
      const std::int64_t r0 = i * h / oh, r1 = ((i + 1) * h + oh - 1) / oh;
      for (std::int64_t j = 0; j < ow; ++j) {
        const std::int64_t c0 = j * w / ow, c1 = ((j + 1) * w + ow - 1) / ow;
        double sum = 0;
        for (std::int64_t r = r0; r < r1; ++r)
          for (std::int64_t c = c0; c < c1; ++c) sum += in[r * w + c];
        y.data[static_cast<std::size_t>((p * oh + i) * ow + j)] = static_cast<float>(sum / ((r1 - r0) * (c1 - c0)));
      }
    }
  }
  return y;
}

namespace {
// Per sample and channel, `reduce` over all spatial positions ([N, C, ...] -> row-major
// [N, C]), read in place in the tensor's layout: row-major or channels in blocks (nCw8c,
// nChw16c ...: what the convolutions write). oneDNN's own reduction has no fast kernel
// for these here (a reference loop, 60 ms on the MSD convnet's first map). Values in
// double: `reduce` gets each channel's values in order and returns its result.
template <class Reduce>
Tensor OverSpatial(const Tensor& x, Reduce reduce) {
  const memory::desc layout = LayoutOf(x);
  const dnnl_memory_desc_t& d = layout.data;
  const auto& blocking = d.format_desc.blocking;
  if (d.format_kind != dnnl_blocked || blocking.inner_nblks > 1 ||
      (blocking.inner_nblks == 1 && blocking.inner_idxs[0] != 1))
    return OverSpatial(Plain(x), reduce);
  const std::int64_t block = blocking.inner_nblks == 1 ? blocking.inner_blks[0] : 1;
  const std::int64_t n = x.size(0), channels = x.size(1);
  const std::int64_t h = x.dims.size() == 4 ? x.size(2) : 1, w = x.dims.back();
  const std::int64_t sh = x.dims.size() == 4 ? blocking.strides[2] : 0, sw = blocking.strides[x.dims.size() - 1];
  Tensor y({n, channels});
  std::vector<double> acc(static_cast<std::size_t>(block));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c0 = 0; c0 < channels; c0 += block) {
      const float* base = x.data.data() + d.offset0 + i * blocking.strides[0] + (c0 / block) * blocking.strides[1];
      const std::int64_t in_block = std::min(block, channels - c0);
      reduce.Start(acc);
      for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < w; ++c) {
          const float* v = base + r * sh + c * sw;
          for (std::int64_t k = 0; k < in_block; ++k) reduce.Add(acc[static_cast<std::size_t>(k)], v[k]);
        }
      for (std::int64_t k = 0; k < in_block; ++k)
        y.data[static_cast<std::size_t>(i * channels + c0 + k)] =
            static_cast<float>(reduce.Result(acc[static_cast<std::size_t>(k)], h * w));
    }
  return y;
}

struct Mean {
  void Start(std::vector<double>& acc) const { std::fill(acc.begin(), acc.end(), 0.0); }
  void Add(double& acc, float v) const { acc += v; }
  double Result(double acc, std::int64_t count) const { return acc / static_cast<double>(count); }
};

struct Max {
  void Start(std::vector<double>& acc) const {
    std::fill(acc.begin(), acc.end(), -std::numeric_limits<double>::infinity());
  }
  void Add(double& acc, float v) const { acc = std::max(acc, static_cast<double>(v)); }
  double Result(double acc, std::int64_t) const { return acc; }
};
}  // namespace

Tensor SpatialMean(const Tensor& x) { return OverSpatial(x, Mean{}); }

Tensor SpatialMax(const Tensor& x) { return OverSpatial(x, Max{}); }

Dense::Dense(std::int64_t out, std::int64_t in, std::vector<float> weight, std::vector<float> bias, Activation act)
    : out_(out), in_(in), weight_(std::move(weight)), bias_(std::move(bias)), act_(act) {}

Tensor Dense::Run(const Tensor& in_layout) const {
  const Tensor x = Plain(in_layout);
  const Dims in_dims{x.size(0), in_}, out_dims{x.size(0), out_};
  if (static_cast<std::int64_t>(x.numel()) != x.size(0) * in_)
    throw InputError("inference: a dense layer of " + std::to_string(in_) + " inputs got " +
                     std::to_string(x.numel() / static_cast<std::size_t>(x.size(0))));
  Tensor y(out_dims);
  const dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, Desc(in_dims), Desc({out_, in_}),
                                               Desc({out_}), Desc(out_dims));
  const dnnl::inner_product_forward::primitive_desc pd(desc, WithActivation(act_), Cpu());
  Execute(dnnl::inner_product_forward(pd), {{DNNL_ARG_SRC, Wrap(in_dims, x.data.data())},
                                            {DNNL_ARG_WEIGHTS, Wrap({out_, in_}, weight_.data())},
                                            {DNNL_ARG_BIAS, Wrap({out_}, bias_.data())},
                                            {DNNL_ARG_DST, Wrap(out_dims, y.data.data())}});
  return y;
}

void MatMul(const float* a, const float* b, float* c, std::int64_t rows, std::int64_t inner, std::int64_t cols) {
  const dnnl::matmul::primitive_desc pd(
      dnnl::matmul::desc(Desc({rows, inner}), Desc({inner, cols}), Desc({rows, cols})), Cpu());
  Execute(dnnl::matmul(pd), {{DNNL_ARG_SRC, Wrap({rows, inner}, a)},
                             {DNNL_ARG_WEIGHTS, Wrap({inner, cols}, b)},
                             {DNNL_ARG_DST, Wrap({rows, cols}, c)}});
}

void Softmax(Tensor& x) {
  const std::int64_t n = x.size(0), k = x.size(1);
  for (std::int64_t r = 0; r < n; ++r) {
    float* row = x.data.data() + r * k;
    const float top = *std::max_element(row, row + k);
    double sum = 0;
    for (std::int64_t i = 0; i < k; ++i) sum += std::exp(static_cast<double>(row[i]) - top);
    for (std::int64_t i = 0; i < k; ++i) row[i] = static_cast<float>(std::exp(static_cast<double>(row[i]) - top) / sum);
  }
}

void Sigmoid(Tensor& x) {
  for (float& v : x.data) v = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
}

void SetThreads(int n) { omp_set_num_threads(std::max(1, n)); }

}  // namespace genre::infer
