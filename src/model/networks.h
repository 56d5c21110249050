// The networks (libtorch). Private to genre_torch: only model.cc and trainer.cc
// include it, so only they pay for <torch/torch.h>.
#pragma once

#include <torch/torch.h>

#include <mutex>

#include "genre/model/card.h"
#include "genre/model/model.h"

namespace genre {

// Common interface: forward() takes raw inputs [B, rows, window] and returns
// logits [B, classes]; standardisation (from the card, not trained) happens inside.
struct NetImpl : torch::nn::Module {
  NetImpl(const ModelCard& card);
  torch::Tensor Standardise(const torch::Tensor& x) const;  // (x - mean) / std per row
  void SetStandardisation(const ModelCard& card);           // mean / std from the card
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  torch::Tensor mean, stdev;  // [rows, 1], not parameters
};

struct Cnn2dImpl : NetImpl {
  explicit Cnn2dImpl(const ModelCard& card);
  torch::Tensor forward(torch::Tensor x) override;
  torch::nn::Sequential features{nullptr}, head{nullptr};
};

struct Cnn1dImpl : NetImpl {
  explicit Cnn1dImpl(const ModelCard& card);
  torch::Tensor forward(torch::Tensor x) override;
  torch::nn::Sequential features{nullptr}, head{nullptr};
};

struct MlpImpl : NetImpl {
  explicit MlpImpl(const ModelCard& card);
  torch::Tensor forward(torch::Tensor x) override;
  torch::nn::Sequential head{nullptr};
};

// The music-tagging convnet of Choi et al. (2017) on raw audio [B, 1, samples]:
// STFT as a convolution with stored kernels, mel, dB (max over each clip, floor
// -80), normalisation over each clip, blocks of conv 3x3 / batch norm / ELU /
// max pool. Features: the average of each block's ELU output before its pool.
// Output: tags (global max of the last pooled map -> dense, sigmoid applied by
// Predict) or genres (a dense head on the features, standardisation folded in).
struct MsdConvnetImpl : NetImpl {
  explicit MsdConvnetImpl(const ModelCard& card);
  torch::Tensor forward(torch::Tensor x) override;
  torch::Tensor Features(const torch::Tensor& x);    // [B, sum(channels)]
  torch::Tensor Normalised(const torch::Tensor& x);  // the normalised log-mel [B, 1, mels, frames]
  // Blocks [from, to) on x (the normalised log-mel for from = 0, else block from - 1's
  // pooled map). With `features`: appends each block's average before its pool and
  // skips the network's last pool (it feeds only the tags). Returns the last map.
  torch::Tensor Blocks(torch::Tensor x, std::vector<torch::Tensor>* features, std::size_t from, std::size_t to);
  std::vector<long> pool;
  int n_fft = 512, hop = 256;
  double top_db = 80, amin = 1e-10, norm_eps = 1e-10, elu_alpha = 1.0;
  bool tags_head = false;
  bool fused = false;                       // head features+gtzan: input [B, 1, 57 + samples], the GTZAN vector first
  torch::Tensor stft_real, stft_imag, mel;  // buffers
  // The stored STFT kernels are a periodic-Hann DFT (checked once, at the first forward
  // pass): then the STFT runs as an FFT, the same power to float precision, ~60 % of
  // the multiply-adds saved. Otherwise the convolution itself.
  std::once_flag checked;
  bool dft = false;
  bool KernelsAreHannDft() const;
  torch::nn::ModuleList blocks{nullptr};  // each: conv, bn
  torch::nn::Linear tags{nullptr};
  torch::nn::Sequential head{nullptr};
};

std::shared_ptr<NetImpl> MakeNet(const ModelCard& card);

struct Model::Impl {
  ModelCard card;
  std::shared_ptr<NetImpl> net;                       // null for an ensemble
  std::vector<std::shared_ptr<const Model>> members;  // an ensemble's
};

// [B, rows, window] float tensor from windows (copied).
torch::Tensor Batch(const std::vector<const Matrix*>& windows);

// The network's parameters and floating-point buffers as a tensor table (genre/model/
// tensors.h) and back. LoadWeights also reads a libtorch archive (the weights of a
// format_version 1 model file); it throws ModelError naming `where` when the bytes are
// not weights, do not fit the network (a tensor missing, of another shape, left over)
// or hold values that are not finite.
std::string SaveWeights(NetImpl& net);
void LoadWeights(NetImpl& net, const std::string& bytes, const std::string& where);

}  // namespace genre
