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

Tensor Conv::Run(const Tensor& x) const { return Run(x, pad_, pad_); }

Tensor Conv::Run(const Tensor& x, const Dims& pad_l, const Dims& pad_r) const {
  const std::size_t spatial = dims_.size() - 2;
  Dims out_dims{x.size(0), dims_[0]};
  for (std::size_t s = 0; s < spatial; ++s) out_dims.push_back(x.size(2 + s) + pad_l[s] + pad_r[s] - dims_[2 + s] + 1);
  const Dims stride(spatial, 1);
  // Weights and output in the layouts the fastest kernel for this input wants.
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             LayoutOf(x), Any(dims_), Desc({dims_[0]}), Any(out_dims), stride, pad_l,
                                             pad_r);
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
// A layout that is row-major, or row-major with the channels (dimension 1) in blocks of
// `block` innermost (nCw8c, nChw16c ...: what the convolutions write): where element
// (n, c, ..., w) lies. Other layouts are not one.
struct ChannelBlocks {
  std::int64_t block = 1, offset0 = 0;
  std::vector<std::int64_t> strides;
  static bool Of(const memory::desc& layout, ChannelBlocks& out) {
    const dnnl_memory_desc_t& d = layout.data;
    const auto& b = d.format_desc.blocking;
    if (d.format_kind != dnnl_blocked || b.inner_nblks > 1 || (b.inner_nblks == 1 && b.inner_idxs[0] != 1))
      return false;
    out.block = b.inner_nblks == 1 ? b.inner_blks[0] : 1;
    out.offset0 = d.offset0;
    out.strides.assign(b.strides, b.strides + d.ndims);
    return true;
  }
  // The first of sample n's channel block holding channel c, at row r (0 for 1D), column w.
  std::int64_t At(std::int64_t n, std::int64_t c, std::int64_t r, std::int64_t w) const {
    const std::size_t rank = strides.size();
    return offset0 + n * strides[0] + (c / block) * strides[1] + (rank == 4 ? r * strides[2] : 0) +
           w * strides[rank - 1];
  }
};

// Per sample and channel, `reduce` over all spatial positions, in double, read in place:
// N x C results, row-major. oneDNN's own reduction has no fast kernel for the blocked
// layouts (a reference loop: 60 ms on the MSD convnet's first map).
template <class Reduce>
std::vector<double> OverSpatial(const Tensor& x, Reduce reduce) {
  ChannelBlocks l;
  if (!ChannelBlocks::Of(LayoutOf(x), l)) return OverSpatial(Plain(x), reduce);
  const std::int64_t n = x.size(0), channels = x.size(1);
  const std::int64_t h = x.dims.size() == 4 ? x.size(2) : 1, w = x.dims.back();
  std::vector<double> out(static_cast<std::size_t>(n * channels));
  std::vector<double> acc(static_cast<std::size_t>(l.block));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c0 = 0; c0 < channels; c0 += l.block) {
      const std::int64_t in_block = std::min(l.block, channels - c0);
      reduce.Start(acc);
      for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c = 0; c < w; ++c) {
          const float* v = x.data.data() + l.At(i, c0, r, c);
          for (std::int64_t k = 0; k < in_block; ++k) reduce.Add(acc[static_cast<std::size_t>(k)], v[k]);
        }
      for (std::int64_t k = 0; k < in_block; ++k)
        out[static_cast<std::size_t>(i * channels + c0 + k)] = acc[static_cast<std::size_t>(k)];
    }
  return out;
}

struct Sum {
  void Start(std::vector<double>& acc) const { std::fill(acc.begin(), acc.end(), 0.0); }
  void Add(double& acc, float v) const { acc += v; }
};

struct Max {
  void Start(std::vector<double>& acc) const {
    std::fill(acc.begin(), acc.end(), -std::numeric_limits<double>::infinity());
  }
  void Add(double& acc, float v) const { acc = std::max(acc, static_cast<double>(v)); }
};

Tensor PerChannel(const Tensor& x, const std::vector<double>& values, double scale) {
  Tensor y({x.size(0), x.size(1)});
  for (std::size_t i = 0; i < values.size(); ++i) y.data[i] = static_cast<float>(values[i] * scale);
  return y;
}
}  // namespace

std::vector<double> SpatialSums(const Tensor& x) { return OverSpatial(x, Sum{}); }

Tensor SpatialMean(const Tensor& x) {
  return PerChannel(x, SpatialSums(x),
                    1.0 / static_cast<double>(x.size(x.dims.size() - 1) * (x.dims.size() == 4 ? x.size(2) : 1)));
}

Tensor SpatialMax(const Tensor& x) { return PerChannel(x, OverSpatial(x, Max{}), 1.0); }

memory::desc LayoutLike(const memory::desc& like, const Dims& dims) {
  ChannelBlocks l;
  if (!ChannelBlocks::Of(like, l) || dims.size() < 3 || dims.size() > 4) return {};
  using tag = memory::format_tag;
  const bool four = dims.size() == 4;
  tag t = four ? tag::abcd : tag::abc;
  if (l.block == 8) t = four ? tag::aBcd8b : tag::aBc8b;
  if (l.block == 16) t = four ? tag::aBcd16b : tag::aBc16b;
  if (l.block != 1 && l.block != 8 && l.block != 16) return {};
  const memory::desc out(dims, memory::data_type::f32, t);
  ChannelBlocks check;
  if (!ChannelBlocks::Of(out, check) || check.block != l.block) return {};
  return out;
}

void CopyColumns(const Tensor& from, Tensor& to, std::int64_t at) {
  ChannelBlocks f, t;
  if (!ChannelBlocks::Of(LayoutOf(from), f) || !ChannelBlocks::Of(LayoutOf(to), t) || f.block != t.block ||
      f.strides.back() != f.block || t.strides.back() != t.block)
    throw ModelError("inference: tensors of other layouts cannot be joined");
  const std::int64_t rows = from.dims.size() == 4 ? from.size(2) : 1, cols = from.dims.back();
  const std::int64_t channel_blocks = (from.size(1) + f.block - 1) / f.block;
  // Per sample, channel block and row, the columns' values lie end to end in both.
  for (std::int64_t n = 0; n < from.size(0); ++n)
    for (std::int64_t cb = 0; cb < channel_blocks; ++cb)
      for (std::int64_t r = 0; r < rows; ++r)
        std::copy_n(from.data.data() + f.At(n, cb * f.block, r, 0), cols * f.block,
                    to.data.data() + t.At(n, cb * t.block, r, at));
}

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
