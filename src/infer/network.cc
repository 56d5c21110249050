#include "genre/infer/network.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "genre/error.h"
#include "genre/features/fft.h"
#include "genre/features/gtzan_vector.h"
#include "genre/model/keras.h"
#include "genre/model/tensors.h"
#include "genre/util/parallel.h"
#include "layers.h"

namespace genre {

namespace {

using infer::Activation;
using infer::Tensor;
using Dims = std::vector<std::int64_t>;

// The tensors of a table (TensorSet), and the layer groups genre's networks are made of.
class Weights {
 public:
  Weights(std::vector<NamedTensor> tensors, std::string where) : set_(std::move(tensors), std::move(where)) {}
  std::vector<float> Take(const std::string& name, const Dims& shape) { return set_.Take(name, shape); }
  infer::BatchNorm TakeBatchNorm(const std::string& prefix, std::int64_t channels, double eps) {
    infer::BatchNorm bn;
    bn.gamma = Take(prefix + ".weight", {channels});
    bn.beta = Take(prefix + ".bias", {channels});
    bn.mean = Take(prefix + ".running_mean", {channels});
    bn.var = Take(prefix + ".running_var", {channels});
    bn.eps = eps;
    return bn;
  }
  // The dense layers of genre's heads: per hidden layer Linear, ReLU, Dropout (indices
  // 3i .. 3i + 2), then the output Linear.
  std::vector<infer::Dense> TakeHead(const std::string& prefix, std::int64_t in, const std::vector<int>& hidden,
                                     std::int64_t classes) {
    std::vector<infer::Dense> head;
    for (std::size_t i = 0; i <= hidden.size(); ++i) {
      const bool last = i == hidden.size();
      const std::int64_t out = last ? classes : hidden[i];
      const std::string layer = prefix + "." + std::to_string(3 * i);
      auto weight = Take(layer + ".weight", {out, in});
      head.emplace_back(out, in, std::move(weight), Take(layer + ".bias", {out}),
                        last ? Activation::kNone : Activation::kRelu);
      in = out;
    }
    return head;
  }
  void RequireAllTaken() const { set_.RequireAllTaken(); }

 private:
  TensorSet set_;
};

Tensor RunHead(const std::vector<infer::Dense>& head, Tensor x) {
  for (const infer::Dense& d : head) x = d.Run(x);
  return x;
}

// What all architectures share: a forward pass from raw windows to logits.
class Body {
 public:
  virtual ~Body() = default;
  // x: [N, rows, cols] windows of one shape; returns logits [N, classes].
  virtual Tensor Forward(const Tensor& x) const = 0;
  virtual bool OneWindowAtATime() const { return false; }
};

// (x - mean) / std per row of [N, rows, cols].
Tensor Standardised(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& stdev) {
  Tensor y = x;
  const std::int64_t n = x.size(0), rows = x.size(1), cols = x.size(2);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t r = 0; r < rows; ++r) {
      float* v = y.data.data() + (i * rows + r) * cols;
      const float m = mean[static_cast<std::size_t>(r)], s = stdev[static_cast<std::size_t>(r)];
      for (std::int64_t c = 0; c < cols; ++c) v[c] = (v[c] - m) / s;
    }
  return y;
}

// cnn2d / cnn1d: blocks of conv (no bias), batch norm, ReLU, max pool 2 (ceil mode), then
// an adaptive average pool (4 x 4 / global) and the dense head. See src/model/model.cc.
class ConvNet : public Body {
 public:
  ConvNet(const ModelCard& card, Weights& w, bool two_d) : card_(card), two_d_(two_d) {
    const std::int64_t k = card.arch.kernel;
    std::int64_t in = two_d ? 1 : card.input.rows;
    for (std::size_t b = 0; b < card.arch.channels.size(); ++b) {
      const std::int64_t c = card.arch.channels[b];
      const std::string conv = "features." + std::to_string(4 * b), bn = "features." + std::to_string(4 * b + 1);
      const Dims dims = two_d ? Dims{c, in, k, k} : Dims{c, in, k};
      const infer::BatchNorm norm = w.TakeBatchNorm(bn, c, 1e-5);
      convs_.emplace_back(dims, w.Take(conv + ".weight", dims), std::vector<float>{}, &norm, Dims(two_d ? 2 : 1, k / 2),
                          Activation::kRelu);
      in = c;
    }
    head_ = w.TakeHead("head", in * (two_d ? 16 : 1), card.arch.hidden, static_cast<std::int64_t>(card.classes.size()));
  }
  Tensor Forward(const Tensor& raw) const override {
    Tensor x = Standardised(raw, card_.mean, card_.stdev);
    if (two_d_) x.dims.insert(x.dims.begin() + 1, 1);  // [N, 1, rows, cols]
    const Dims pool = two_d_ ? Dims{2, 2} : Dims{2};
    for (const infer::Conv& c : convs_) x = infer::MaxPool(c.Run(x), pool, /*ceil=*/true);
    x = two_d_ ? infer::AdaptiveAvgPool(x, {4, 4}) : infer::SpatialMean(x);
    x.dims = {x.size(0), static_cast<std::int64_t>(x.numel()) / x.size(0)};
    return RunHead(head_, std::move(x));
  }

 private:
  const ModelCard& card_;
  bool two_d_;
  std::vector<infer::Conv> convs_;
  std::vector<infer::Dense> head_;
};

class Mlp : public Body {
 public:
  Mlp(const ModelCard& card, Weights& w) : card_(card) {
    head_ = w.TakeHead("head", card.input.rows, card.arch.hidden, static_cast<std::int64_t>(card.classes.size()));
  }
  Tensor Forward(const Tensor& raw) const override {
    Tensor x = Standardised(raw, card_.mean, card_.stdev);
    x.dims = {x.size(0), x.size(1) * x.size(2)};
    return RunHead(head_, std::move(x));
  }

 private:
  const ModelCard& card_;
  std::vector<infer::Dense> head_;
};

// Choi et al.'s convnet on raw audio (see MsdConvnetImpl in src/model/networks.h): STFT
// power, mel, dB from the clip's maximum floored at -top_db, normalised over the clip, then
// blocks of conv 3x3 + bias, batch norm (eps 1e-3), ELU, max pool; the tags head (global
// max, dense, sigmoid) or the features head (each block's mean before its pool, dense).
class MsdConvnet : public Body {
 public:
  MsdConvnet(const ModelCard& card, Weights& w) : card_(card) {
    const FrontEndOptions& fe = card.input.front_end;
    n_fft_ = fe.stft.n_fft;
    hop_ = fe.stft.hop_length;
    top_db_ = fe.db.top_db;
    amin_ = fe.db.amin;
    mels_ = fe.mel.n_mels;
    const std::int64_t bins = n_fft_ / 2 + 1;
    const std::vector<float> real = w.Take("stft_real", {bins, 1, n_fft_});
    const std::vector<float> imag = w.Take("stft_imag", {bins, 1, n_fft_});
    mel_ = w.Take("mel", {bins, mels_});
    dft_ = KernelsAreHannDft(real, imag, static_cast<int>(n_fft_));
    if (dft_) {
      fft_ = std::make_unique<RealFft>(static_cast<int>(n_fft_));
      window_.resize(static_cast<std::size_t>(n_fft_));
      for (std::int64_t i = 0; i < n_fft_; ++i)
        window_[static_cast<std::size_t>(i)] =
            static_cast<float>(0.5 - 0.5 * std::cos(2 * M_PI * static_cast<double>(i) / static_cast<double>(n_fft_)));
    } else {  // the kernels as [n_fft, bins] matrices, for frames [T, n_fft] x kernels
      kernels_re_.resize(real.size());
      kernels_im_.resize(imag.size());
      for (std::int64_t k = 0; k < bins; ++k)
        for (std::int64_t i = 0; i < n_fft_; ++i) {
          kernels_re_[static_cast<std::size_t>(i * bins + k)] = real[static_cast<std::size_t>(k * n_fft_ + i)];
          kernels_im_[static_cast<std::size_t>(i * bins + k)] = imag[static_cast<std::size_t>(k * n_fft_ + i)];
        }
    }
    std::int64_t in = 1, features = 0;
    for (std::size_t b = 0; b < card.arch.channels.size(); ++b) {
      const std::int64_t c = card.arch.channels[b];
      const std::string block = "blocks." + std::to_string(b);
      const infer::BatchNorm norm = w.TakeBatchNorm(block + ".bn", c, 1e-3);
      auto weight = w.Take(block + ".conv.weight", {c, in, 3, 3});
      blocks_.emplace_back(Dims{c, in, 3, 3}, std::move(weight), w.Take(block + ".conv.bias", {c}), &norm, Dims{1, 1},
                           Activation::kElu);
      in = c;
      features += c;
    }
    const auto classes = static_cast<std::int64_t>(card.classes.size());
    tags_ = card.arch.head == "tags";
    fused_ = card.arch.head == "features+gtzan";
    if (tags_) {
      auto weight = w.Take("tags.weight", {classes, in});
      head_.emplace_back(classes, in, std::move(weight), w.Take("tags.bias", {classes}), Activation::kNone);
    } else {
      head_ = w.TakeHead("head", features + (fused_ ? kGtzanFeatureCount : 0), card.arch.hidden, classes);
    }
  }
  bool OneWindowAtATime() const override { return true; }

  Tensor Forward(const Tensor& x) const override {
    Tensor out;
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      const float* w = x.data.data() + i * x.size(1) * x.size(2);
      const std::int64_t n = x.size(1) * x.size(2);
      Tensor logits = Window(w, n);
      if (out.dims.empty()) out = Tensor({x.size(0), logits.size(1)});
      std::copy(logits.data.begin(), logits.data.end(), out.data.begin() + i * logits.size(1));
    }
    return out;
  }

  // One window's features [1, sum(channels)].
  Tensor Features(const float* audio, std::int64_t n) const {
    Tensor f;
    Blocks(Normalised(audio, n), &f);
    return f;
  }

 private:
  Tensor Window(const float* w, std::int64_t n) const {
    if (tags_) return head_[0].Run(infer::SpatialMax(Blocks(Normalised(w, n), nullptr)));
    if (!fused_) return RunHead(head_, Features(w, n));
    // [GTZAN vector (57), audio]: the features, then the vector.
    const Tensor f = Features(w + kGtzanFeatureCount, n - kGtzanFeatureCount);
    Tensor joined({1, f.size(1) + kGtzanFeatureCount});
    std::copy(f.data.begin(), f.data.end(), joined.data.begin());
    std::copy(w, w + kGtzanFeatureCount, joined.data.begin() + f.size(1));
    return RunHead(head_, std::move(joined));
  }

  // The normalised log-mel [1, 1, mels, frames] of n samples.
  Tensor Normalised(const float* audio, std::int64_t n) const {
    const std::int64_t frames = (n + hop_ - 1) / hop_, bins = n_fft_ / 2 + 1;
    std::vector<float> power(static_cast<std::size_t>(frames * bins));
    auto sample = [&](std::int64_t i) { return i >= 0 && i < n ? audio[i] : 0.0f; };
    if (dft_) {
      // Frame t: samples [t hop - n_fft/2 - 1, t hop + n_fft/2 - 1), periodic-Hann windowed.
      AlignedBuffer<double> in(static_cast<std::size_t>(n_fft_));
      AlignedBuffer<std::complex<double>> spec(static_cast<std::size_t>(bins));
      for (std::int64_t t = 0; t < frames; ++t) {
        const std::int64_t start = t * hop_ - n_fft_ / 2 - 1;
        for (std::int64_t i = 0; i < n_fft_; ++i)
          in[static_cast<std::size_t>(i)] = sample(start + i) * window_[static_cast<std::size_t>(i)];
        fft_->Forward(in.data(), spec.data());
        for (std::int64_t k = 0; k < bins; ++k)
          power[static_cast<std::size_t>(t * bins + k)] =
              static_cast<float>(std::norm(spec[static_cast<std::size_t>(k)]));
      }
    } else {
      // Frame t covers [t hop - n_fft/2, t hop + n_fft/2): frames [T, n_fft] x kernels^T.
      std::vector<float> framed(static_cast<std::size_t>(frames * n_fft_)), re(power.size()), im(power.size());
      for (std::int64_t t = 0; t < frames; ++t)
        for (std::int64_t i = 0; i < n_fft_; ++i)
          framed[static_cast<std::size_t>(t * n_fft_ + i)] = sample(t * hop_ - n_fft_ / 2 + i);
      infer::MatMul(framed.data(), kernels_re_.data(), re.data(), frames, n_fft_, bins);
      infer::MatMul(framed.data(), kernels_im_.data(), im.data(), frames, n_fft_, bins);
      for (std::size_t i = 0; i < power.size(); ++i) power[i] = re[i] * re[i] + im[i] * im[i];
    }
    std::vector<float> mel(static_cast<std::size_t>(frames * mels_));  // [T, mels]
    infer::MatMul(power.data(), mel_.data(), mel.data(), frames, bins, mels_);
    Tensor x({1, 1, mels_, frames});
    float top = -std::numeric_limits<float>::infinity();
    for (std::int64_t t = 0; t < frames; ++t)
      for (std::int64_t m = 0; m < mels_; ++m) {
        const float db =
            10.0f * std::log10(std::max(mel[static_cast<std::size_t>(t * mels_ + m)], static_cast<float>(amin_)));
        x.data[static_cast<std::size_t>(m * frames + t)] = db;
        top = std::max(top, db);
      }
    double sum = 0, sum2 = 0;
    for (float& v : x.data) {
      v = std::max(v - top, static_cast<float>(-top_db_));
      sum += v;
    }
    const double mean = sum / static_cast<double>(x.numel());
    for (float v : x.data) sum2 += (v - mean) * (v - mean);
    const double sd = std::sqrt(sum2 / static_cast<double>(x.numel()));
    for (float& v : x.data) v = static_cast<float>((v - mean) / (sd + kNormEps));
    return x;
  }

  // The blocks on the normalised log-mel. With `features`: each block's mean before its
  // pool, joined into [1, sum(channels)], and the last pool skipped (it feeds only the tags).
  Tensor Blocks(Tensor x, Tensor* features) const {
    std::vector<Tensor> means;
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      const bool pool = !features || b + 1 < blocks_.size();
      const Dims kernel{card_.arch.pool[2 * b], card_.arch.pool[2 * b + 1]};
      if (b == 0 && x.size(1) == 1 && x.size(3) > kTile * kernel[1]) {
        x = FirstBlock(x, kernel, pool, features ? &means : nullptr);
        continue;
      }
      x = blocks_[b].Run(x);
      if (features) means.push_back(infer::SpatialMean(x));
      if (pool) x = infer::MaxPool(x, kernel, /*ceil=*/false);
    }
    if (features) {
      std::int64_t total = 0;
      for (const Tensor& m : means) total += m.size(1);
      *features = Tensor({1, total});
      auto at = features->data.begin();
      for (const Tensor& m : means) at = std::copy(m.data.begin(), m.data.end(), at);
    }
    return x;
  }

  // The first block (one input channel, the largest map: 32 x 96 x 1360 floats, 17 MB for
  // 29 s) in tiles of kTile pooled columns, each with the column before and after it, so
  // the conv's output never exists whole: only its pooled map and its per-channel sums
  // (`means` gets the block's mean when given). The same numbers as untiled.
  Tensor FirstBlock(const Tensor& x, const Dims& kernel, bool pool, std::vector<Tensor>* means) const {
    const std::int64_t rows = x.size(2), cols = x.size(3), step = kTile * kernel[1];
    std::vector<double> sums;
    Tensor pooled;
    for (std::int64_t t0 = 0; t0 < cols; t0 += step) {
      const std::int64_t w = std::min(step, cols - t0);
      Tensor tile({1, 1, rows, w + 2});  // columns t0 - 1 .. t0 + w, zeros outside the map
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < w + 2; ++c) {
          const std::int64_t at = t0 - 1 + c;
          tile.data[static_cast<std::size_t>(r * (w + 2) + c)] =
              at >= 0 && at < cols ? x.data[static_cast<std::size_t>(r * cols + at)] : 0.0f;
        }
      const Tensor y = blocks_[0].Run(tile, {1, 0}, {1, 0});
      if (means) {
        const std::vector<double> s = infer::SpatialSums(y);
        if (sums.empty()) sums.assign(s.size(), 0.0);
        for (std::size_t c = 0; c < s.size(); ++c) sums[c] += s[c];
      }
      if (!pool || w < kernel[1]) continue;
      const Tensor p = infer::MaxPool(y, kernel, /*ceil=*/false);
      if (pooled.dims.empty()) {
        const Dims dims{1, p.size(1), p.size(2), cols / kernel[1]};
        const dnnl::memory::desc layout = infer::LayoutLike(p.layout, dims);
        if (!layout) throw ModelError("inference: the first block's pooled map has a layout it cannot join");
        pooled = Tensor(dims, layout);
      }
      infer::CopyColumns(p, pooled, t0 / kernel[1]);
    }
    if (means) {
      Tensor m({1, static_cast<std::int64_t>(sums.size())});
      for (std::size_t c = 0; c < sums.size(); ++c)
        m.data[c] = static_cast<float>(sums[c] / static_cast<double>(rows * cols));
      means->push_back(std::move(m));
    }
    return pooled;
  }

  static constexpr std::int64_t kTile = 64;
  static constexpr double kNormEps = 1e-10;
  const ModelCard& card_;
  std::int64_t n_fft_ = 512, hop_ = 256, mels_ = 96;
  double top_db_ = 80, amin_ = 1e-10;
  bool dft_ = false, tags_ = false, fused_ = false;
  std::unique_ptr<RealFft> fft_;
  std::vector<float> window_;                   // the periodic Hann window (FFT path)
  std::vector<float> kernels_re_, kernels_im_;  // [n_fft, bins] (convolution path)
  std::vector<float> mel_;
  std::vector<infer::Conv> blocks_;
  std::vector<infer::Dense> head_;
};

}  // namespace

struct Network::Impl {
  ModelCard card;
  std::vector<std::shared_ptr<const Network>> members;
  std::unique_ptr<Body> body;  // null for an ensemble
};

Network::Network(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Network::~Network() = default;

const ModelCard& Network::card() const { return impl_->card; }
const std::vector<std::shared_ptr<const Network>>& Network::members() const { return impl_->members; }

std::shared_ptr<const Network> Network::Load(const std::string& path) {
  return FromContents(ReadModelFile(path), path);
}

std::shared_ptr<const Network> Network::FromContents(const ModelFileContents& contents, const std::string& where) {
  contents.card.Validate(where);
  auto impl = std::make_unique<Impl>();
  impl->card = contents.card;
  if (impl->card.IsEnsemble()) {
    for (const EnsembleMember& m : EnsembleMembers(contents, where))
      impl->members.push_back(FromContents(m.contents, m.where));
    return std::shared_ptr<const Network>(new Network(std::move(impl)));
  }
  if (impl->card.format_version < 2)
    throw ModelError(where + ": model format_version " + std::to_string(impl->card.format_version) +
                     " holds libtorch weights, which inference does not read; convert the file with "
                     "'genre-train convert OLD.gmdl NEW.gmdl'");
  Weights w(ReadTensorTable(contents.weights, where), where);
  const ModelCard& card = impl->card;  // the body keeps a reference: impl owns both
  const std::string& kind = card.arch.kind;
  if (kind == "cnn2d" || kind == "cnn1d")
    impl->body = std::make_unique<ConvNet>(card, w, kind == "cnn2d");
  else if (kind == "mlp")
    impl->body = std::make_unique<Mlp>(card, w);
  else if (kind == "msd-convnet")
    impl->body = std::make_unique<MsdConvnet>(card, w);
  else
    throw ModelError(where + ": unknown architecture '" + kind + "'");
  w.RequireAllTaken();
  return std::shared_ptr<const Network>(new Network(std::move(impl)));
}

namespace {
// Windows [start, end) of `windows` as one [N, rows, cols] tensor.
Tensor Stack(const std::vector<Matrix>& windows, std::size_t start, std::size_t end) {
  const Matrix& first = windows[start];
  Tensor x({static_cast<std::int64_t>(end - start), static_cast<std::int64_t>(first.rows),
            static_cast<std::int64_t>(first.cols)});
  auto at = x.data.begin();
  for (std::size_t i = start; i < end; ++i) at = std::copy(windows[i].data.begin(), windows[i].data.end(), at);
  return x;
}
}  // namespace

std::vector<std::vector<float>> Network::Predict(const std::vector<Matrix>& windows, int batch) const {
  if (!impl_->body) throw OptionError("an ensemble classifies songs (Classifier), not windows");
  const ModelCard& card = impl_->card;
  const auto rows = static_cast<std::size_t>(card.input.rows);
  const std::size_t most = impl_->body->OneWindowAtATime() ? 1 : static_cast<std::size_t>(std::max(1, batch));
  std::vector<std::vector<float>> out;
  out.reserve(windows.size());
  for (std::size_t start = 0; start < windows.size();) {
    const Matrix& first = windows[start];
    if (first.rows != rows || first.cols == 0)
      throw InputError("a window of " + std::to_string(first.rows) + " x " + std::to_string(first.cols) +
                       " values; the model reads " + std::to_string(rows) + " rows");
    std::size_t end = start + 1;
    while (end < windows.size() && end - start < most && windows[end].rows == first.rows &&
           windows[end].cols == first.cols)
      ++end;
    Tensor p = impl_->body->Forward(Stack(windows, start, end));
    if (card.arch.MultiLabel())
      infer::Sigmoid(p);
    else
      infer::Softmax(p);
    const auto k = static_cast<std::size_t>(p.size(1));
    for (std::size_t i = 0; i < end - start; ++i)
      out.emplace_back(p.data.begin() + i * k, p.data.begin() + (i + 1) * k);
    start = end;
  }
  return out;
}

std::vector<std::vector<float>> Network::Features(const std::vector<Matrix>& windows) const {
  const auto* net = dynamic_cast<const MsdConvnet*>(impl_->body.get());
  if (!net)
    throw OptionError("features need an msd-convnet model, '" + impl_->card.name + "' is " + impl_->card.arch.kind);
  std::vector<std::vector<float>> out;
  for (const Matrix& w : windows) {
    const Tensor f = net->Features(w.data.data(), static_cast<std::int64_t>(w.data.size()));
    out.emplace_back(f.data.begin(), f.data.end());
  }
  return out;
}

std::vector<WindowFeatures> Network::SongFeatures(const std::vector<float>& samples, std::size_t hop, bool tags) const {
  Features({});  // refuses other architectures
  return SongWindows(impl_->card, samples, hop, tags,
                     [&](const Matrix& x) { return std::move((tags ? Predict({x}) : Features({x}))[0]); });
}

int SetInferenceThreads(int n) {
  const int threads = ResolveThreads(n);
  infer::SetThreads(threads);
  return threads;
}

}  // namespace genre
