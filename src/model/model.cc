#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

#include "genre/data/dataset.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/infer/network.h"
#include "genre/model/keras.h"
#include "genre/model/tensors.h"
#include "genre/train/windows.h"
#include "genre/util/hash.h"
#include "genre/util/parallel.h"
#include "le.h"
#include "networks.h"

namespace genre {

namespace nn = torch::nn;

int SetTorchThreads(int n) {
  const int threads = ResolveThreads(n);
  torch::set_num_threads(threads);
  return threads;
}

NetImpl::NetImpl(const ModelCard& card) { SetStandardisation(card); }

void NetImpl::SetStandardisation(const ModelCard& card) {
  const auto rows = static_cast<long>(card.mean.size());
  mean = torch::from_blob(const_cast<float*>(card.mean.data()), {rows, 1}, torch::kFloat32).clone();
  stdev = torch::from_blob(const_cast<float*>(card.stdev.data()), {rows, 1}, torch::kFloat32).clone();
}

torch::Tensor NetImpl::Standardise(const torch::Tensor& x) const { return (x - mean) / stdev; }

namespace {
nn::Sequential DenseHead(long in, const std::vector<int>& hidden, double dropout, long classes) {
  nn::Sequential head;
  for (int h : hidden) {
    head->push_back(nn::Linear(in, h));
    head->push_back(nn::ReLU());
    head->push_back(nn::Dropout(dropout));
    in = h;
  }
  head->push_back(nn::Linear(in, classes));
  return head;
}
}  // namespace

// AlexNet-derived: conv blocks (conv, batch norm, ReLU, 2x2 max pool), a 4x4
// adaptive average pool, dense layers with dropout.
Cnn2dImpl::Cnn2dImpl(const ModelCard& card) : NetImpl(card) {
  features = nn::Sequential();
  long in = 1;
  const int k = card.arch.kernel;
  for (int c : card.arch.channels) {
    features->push_back(nn::Conv2d(nn::Conv2dOptions(in, c, k).padding(k / 2).bias(false)));
    features->push_back(nn::BatchNorm2d(c));
    features->push_back(nn::ReLU());
    features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).ceil_mode(true)));
    in = c;
  }
  features->push_back(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({4, 4})));
  register_module("features", features);
  head = DenseHead(in * 16, card.arch.hidden, card.arch.dropout, static_cast<long>(card.classes.size()));
  register_module("head", head);
}

torch::Tensor Cnn2dImpl::forward(torch::Tensor x) {
  x = features->forward(Standardise(x).unsqueeze(1));
  return head->forward(x.flatten(1));
}

// Three temporal conv layers (conv, batch norm, ReLU, max pool 2), global average
// pool over time, a dense layer.
Cnn1dImpl::Cnn1dImpl(const ModelCard& card) : NetImpl(card) {
  features = nn::Sequential();
  long in = card.input.rows;
  const int k = card.arch.kernel;
  for (int c : card.arch.channels) {
    features->push_back(nn::Conv1d(nn::Conv1dOptions(in, c, k).padding(k / 2).bias(false)));
    features->push_back(nn::BatchNorm1d(c));
    features->push_back(nn::ReLU());
    features->push_back(nn::MaxPool1d(nn::MaxPool1dOptions(2).ceil_mode(true)));
    in = c;
  }
  features->push_back(nn::AdaptiveAvgPool1d(1));
  register_module("features", features);
  head = DenseHead(in, card.arch.hidden, card.arch.dropout, static_cast<long>(card.classes.size()));
  register_module("head", head);
}

torch::Tensor Cnn1dImpl::forward(torch::Tensor x) {
  return head->forward(features->forward(Standardise(x)).flatten(1));
}

MlpImpl::MlpImpl(const ModelCard& card) : NetImpl(card) {
  head = DenseHead(card.input.rows, card.arch.hidden, card.arch.dropout, static_cast<long>(card.classes.size()));
  register_module("head", head);
}

torch::Tensor MlpImpl::forward(torch::Tensor x) { return head->forward(Standardise(x).flatten(1)); }

// Choi et al.'s convnet; see networks.h. Buffers hold the front end the file came
// with (import-keras fills them); a fresh one gets a periodic-Hann STFT and no mel
// bank worth using, so it is only ever loaded, never trained from scratch here.
MsdConvnetImpl::MsdConvnetImpl(const ModelCard& card) : NetImpl(card) {
  const FrontEndOptions& fe = card.input.front_end;
  n_fft = fe.stft.n_fft;
  hop = fe.stft.hop_length;
  top_db = fe.db.top_db;
  amin = fe.db.amin;
  tags_head = card.arch.head == "tags";
  pool.assign(card.arch.pool.begin(), card.arch.pool.end());
  const long bins = n_fft / 2 + 1;
  stft_real = register_buffer("stft_real", torch::zeros({bins, 1, n_fft}));
  stft_imag = register_buffer("stft_imag", torch::zeros({bins, 1, n_fft}));
  mel = register_buffer("mel", torch::zeros({bins, static_cast<long>(fe.mel.n_mels)}));
  blocks = nn::ModuleList();
  long in = 1;
  for (std::size_t b = 0; b < card.arch.channels.size(); ++b) {
    const long c = card.arch.channels[b];
    nn::Sequential block;
    block->push_back("conv", nn::Conv2d(nn::Conv2dOptions(in, c, 3).padding(1).bias(true)));
    block->push_back("bn", nn::BatchNorm2d(nn::BatchNormOptions(c).eps(1e-3)));
    blocks->push_back(block);
    in = c;
  }
  register_module("blocks", blocks);
  long features = 0;
  for (int c : card.arch.channels) features += c;
  fused = card.arch.head == "features+gtzan";
  if (fused) features += kGtzanFeatureCount;
  const auto classes = static_cast<long>(card.classes.size());
  if (tags_head) {
    tags = register_module("tags", nn::Linear(in, classes));
  } else {
    head = register_module("head", DenseHead(features, card.arch.hidden, card.arch.dropout, classes));
  }
}

bool MsdConvnetImpl::KernelsAreHannDft() const {
  auto values = [](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  return genre::KernelsAreHannDft(values(stft_real), values(stft_imag), n_fft);
}

torch::Tensor MsdConvnetImpl::Normalised(const torch::Tensor& audio) {
  std::call_once(checked, [this] { dft = KernelsAreHannDft(); });
  torch::Tensor x = audio.reshape({audio.size(0), 1, -1});
  const long n = x.size(2), frames = (n + hop - 1) / hop;
  torch::Tensor power;  // [B, T, bins]
  if (dft) {
    // Frame t: samples [t hop - n_fft/2 - 1, t hop + n_fft/2 - 1), Hann-windowed, real FFT.
    const long left = n_fft / 2 + 1;
    x = torch::constant_pad_nd(x, {left, std::max(0L, (frames - 1) * hop + n_fft - left - n)});
    const torch::Tensor window =
        0.5 - 0.5 * torch::cos(2 * M_PI * torch::arange(n_fft, torch::kFloat32) / static_cast<double>(n_fft));
    const torch::Tensor spec = torch::fft::rfft(x.squeeze(1).unfold(1, n_fft, hop).narrow(1, 0, frames) * window);
    power = torch::real(spec).square() + torch::imag(spec).square();
  } else {
    // Frame t covers samples [t hop - n_fft/2, t hop + n_fft/2), zeros outside the signal.
    x = torch::constant_pad_nd(x, {n_fft / 2, (frames - 1) * hop + n_fft / 2 - n});
    const torch::Tensor re = torch::conv1d(x, stft_real, {}, hop), im = torch::conv1d(x, stft_imag, {}, hop);
    power = (re * re + im * im).transpose(1, 2);
  }
  torch::Tensor db = 10.0 * torch::log10(torch::clamp_min(torch::matmul(power, mel), amin));
  db = db.transpose(1, 2);  // [B, mels, T]
  db = db - std::get<0>(db.flatten(1).max(1)).view({-1, 1, 1});
  db = torch::clamp_min(db, -top_db);
  const torch::Tensor mean = db.flatten(1).mean(1).view({-1, 1, 1});
  const torch::Tensor sd = db.flatten(1).std(1, /*unbiased=*/false).view({-1, 1, 1});
  return ((db - mean) / (sd + norm_eps)).unsqueeze(1);
}

namespace {
// The first block (one input channel, the largest map: 32 x 96 x 1360 floats, 17 MB)
// in tiles of `kTile` frames, so its conv (as one small matrix product of 3x3
// patches), batch norm, ELU, average and max pool stay in cache: streaming the whole
// map through memory once per operation cost 10x more. Returns the pooled map; adds
// the block's average to `features` when given.
torch::Tensor FirstBlock(MsdConvnetImpl& net, const torch::Tensor& x, std::vector<torch::Tensor>* features, bool pool) {
  constexpr long kTile = 64;
  nn::SequentialImpl* block = net.blocks[0]->as<nn::Sequential>();
  auto* conv = block->ptr(0)->as<nn::Conv2dImpl>();
  auto* bn = block->ptr(1)->as<nn::BatchNorm2dImpl>();
  const long B = x.size(0), H = x.size(2), W = x.size(3), out = conv->weight.size(0);
  const long pool_t = net.pool[1];
  const torch::Tensor padded = torch::constant_pad_nd(x, {1, 1, 1, 1});
  const torch::Tensor weight = conv->weight.reshape({out, 9});
  torch::Tensor sum = torch::zeros({B, out});
  std::vector<torch::Tensor> pooled;
  for (long t0 = 0; t0 < W; t0 += kTile * pool_t) {
    const long w = std::min(kTile * pool_t, W - t0);
    std::vector<torch::Tensor> taps;
    for (long dy = 0; dy < 3; ++dy)
      for (long dx = 0; dx < 3; ++dx)
        taps.push_back(padded.narrow(2, dy, H).narrow(3, t0 + dx, w).reshape({B, 1, H * w}));
    torch::Tensor y = torch::matmul(weight, torch::cat(taps, 1)) + conv->bias.view({1, out, 1});
    y = torch::elu(bn->forward(y.view({B, out, H, w})), net.elu_alpha);
    if (features) sum += y.sum({2, 3});
    if (pool && w >= pool_t) pooled.push_back(torch::max_pool2d(y, {net.pool[0], pool_t}));
  }
  if (features) features->push_back(sum / static_cast<double>(H * W));
  return pool ? torch::cat(pooled, 3) : torch::Tensor();
}

}  // namespace

torch::Tensor MsdConvnetImpl::Blocks(torch::Tensor x, std::vector<torch::Tensor>* features, std::size_t from,
                                     std::size_t to) {
  for (std::size_t b = from; b < to; ++b) {
    const bool pool = !features || b + 1 < blocks->size();
    if (b == 0 && x.size(1) == 1 && x.size(3) >= this->pool[1]) {
      x = FirstBlock(*this, x, features, pool);
      continue;
    }
    x = blocks[b]->as<nn::Sequential>()->forward(x);
    x = torch::elu(x, elu_alpha);
    if (features) features->push_back(x.mean({2, 3}));
    if (pool) x = torch::max_pool2d(x, {this->pool[2 * b], this->pool[2 * b + 1]});
  }
  return x;
}

torch::Tensor MsdConvnetImpl::Features(const torch::Tensor& x) {
  std::vector<torch::Tensor> f;
  Blocks(Normalised(x), &f, 0, blocks->size());
  return torch::cat(f, 1);
}

torch::Tensor MsdConvnetImpl::forward(torch::Tensor x) {
  if (tags_head) return tags->forward(std::get<0>(Blocks(Normalised(x), nullptr, 0, blocks->size()).flatten(2).max(2)));
  if (fused) {  // [B, 1, 57 + samples]: the GTZAN vector, then the audio
    const long n = x.size(-1) - kGtzanFeatureCount;
    return head->forward(torch::cat({Features(x.narrow(-1, kGtzanFeatureCount, n)),
                                     x.narrow(-1, 0, kGtzanFeatureCount).reshape({x.size(0), kGtzanFeatureCount})},
                                    1));
  }
  return head->forward(Features(x));
}

std::shared_ptr<NetImpl> MakeNet(const ModelCard& card) {
  if (card.arch.kind == "cnn2d") return std::make_shared<Cnn2dImpl>(card);
  if (card.arch.kind == "cnn1d") return std::make_shared<Cnn1dImpl>(card);
  if (card.arch.kind == "mlp") return std::make_shared<MlpImpl>(card);
  if (card.arch.kind == "msd-convnet") return std::make_shared<MsdConvnetImpl>(card);
  throw ModelError("unknown architecture '" + card.arch.kind + "'");
}

torch::Tensor Batch(const std::vector<const Matrix*>& windows) {
  const long rows = static_cast<long>(windows.front()->rows), cols = static_cast<long>(windows.front()->cols);
  torch::Tensor t = torch::empty({static_cast<long>(windows.size()), rows, cols}, torch::kFloat32);
  float* dst = t.data_ptr<float>();
  for (const Matrix* w : windows) {
    if (static_cast<long>(w->rows) != rows || static_cast<long>(w->cols) != cols)
      throw InputError("windows of one batch differ in shape");
    std::copy(w->data.begin(), w->data.end(), dst);
    dst += rows * cols;
  }
  return t;
}

namespace {
// Every parameter and floating-point buffer of a module by name.
std::vector<std::pair<std::string, torch::Tensor>> Tensors(torch::nn::Module& net) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : net.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : net.named_buffers())
    if (b.value().is_floating_point()) out.emplace_back(b.key(), b.value());
  return out;
}

std::vector<std::int64_t> Shape(const torch::Tensor& t) { return t.sizes().vec(); }

// Every parameter and floating-point buffer of `net` from the tensor of its name (TensorSet:
// ModelError naming `where` for one missing, of another shape, or left over); values that
// are not finite are refused too.
void AssignTensors(torch::nn::Module& net, std::vector<NamedTensor> from, const std::string& where) {
  TensorSet set(std::move(from), where);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : Tensors(net)) {
    std::vector<float> values = set.Take(name, Shape(t));
    if (!std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
      throw ModelError(where + ": weights " + name + " hold NaN or infinite values");
    t.copy_(torch::from_blob(values.data(), t.sizes(), torch::kFloat32));
  }
  set.RequireAllTaken();
}

// A format_version 1 file's weights: a libtorch archive.
void LoadArchive(NetImpl& net, const std::string& bytes, const std::string& where) {
  // libtorch replaces a tensor of another shape silently: compare shapes ourselves.
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected;
  for (const auto& p : net.named_parameters()) expected.emplace_back(p.key(), Shape(p.value()));
  try {
    std::istringstream is(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(is);
    net.load(archive);
    std::size_t i = 0;
    for (const auto& p : net.named_parameters()) {
      if (Shape(p.value()) != expected[i].second)
        throw WeightsMisfit(where, p.key() + " is " + ShapeText(Shape(p.value())) + ", the card needs " +
                                       ShapeText(expected[i].second));
      ++i;
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw WeightsMisfit(where, what);
  } catch (const std::exception& e) {  // Misfit above, or the archive reader's own
    if (dynamic_cast<const ModelError*>(&e)) throw;
    throw ModelError(where + ": weights cannot be read: " + e.what());
  }
  // Weights that are not numbers would make every answer NaN.
  for (const auto& [name, t] : Tensors(net))
    if (!torch::isfinite(t).all().item<bool>())
      throw ModelError(where + ": weights " + name + " hold NaN or infinite values");
}
}  // namespace

std::string SaveWeights(NetImpl& net) {
  std::vector<NamedTensor> table;
  for (const auto& [name, t] : Tensors(net)) {
    const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
    table.push_back({name, Shape(c), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())});
  }
  return WriteTensorTable(table);
}

void LoadWeights(NetImpl& net, const std::string& bytes, const std::string& where) {
  if (IsTensorTable(bytes))
    AssignTensors(net, ReadTensorTable(bytes, where), where);
  else
    LoadArchive(net, bytes, where);
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Model Model::Create(const ModelCard& card, std::uint64_t seed) {
  auto impl = std::make_unique<Impl>();
  impl->card = card;
  if (impl->card.mean.empty() && impl->card.stdev.empty() && impl->card.input.rows > 0) {
    impl->card.mean.assign(static_cast<std::size_t>(card.input.rows), 0.0f);  // identity until trained
    impl->card.stdev.assign(static_cast<std::size_t>(card.input.rows), 1.0f);
  }
  impl->card.Validate("model");
  if (impl->card.IsEnsemble()) throw OptionError("an ensemble is made from trained models (genre-train ensemble)");
  torch::manual_seed(seed);
  impl->net = MakeNet(impl->card);  // with the identity standardisation filled in above
  return Model(std::move(impl));
}

namespace {
std::unique_ptr<Model::Impl> LoadImpl(ModelFileContents contents, const std::string& where) {
  contents.card.Validate(where);  // read from a file it was; made in memory it may not be
  auto impl = std::make_unique<Model::Impl>();
  if (contents.card.IsEnsemble()) {
    for (EnsembleMember& m : EnsembleMembers(contents, where))
      impl->members.push_back(std::make_shared<const Model>(Model::FromContents(std::move(m.contents), m.where)));
    impl->card = std::move(contents.card);
    return impl;
  }
  impl->card = std::move(contents.card);
  impl->net = MakeNet(impl->card);
  LoadWeights(*impl->net, contents.weights, where);
  impl->net->eval();
  return impl;
}
}  // namespace

Model Model::FromContents(ModelFileContents contents, const std::string& where) {
  return Model(LoadImpl(std::move(contents), where));
}

Model Model::Load(const std::string& path) { return FromContents(ReadModelFile(path), path); }

namespace {
// What a model file holds after the card: a network's tensor table, or an ensemble's
// member files. Throws ModelError naming `where` for weights that are not finite.
std::string FileWeights(const Model::Impl& impl, const std::string& where) {
  std::string weights;
  try {
    if (impl.net) weights = SaveWeights(*impl.net);
    for (const auto& m : impl.members) {
      const std::string file = ModelFileBytes(m->card(), SaveWeights(*m->impl().net));
      PutLe<std::uint64_t>(weights, file.size());
      weights += file;
    }
  } catch (const ModelError& e) {  // weights that are not finite (a run that diverged)
    throw ModelError(where + ": " + e.what());
  }
  return weights;
}
}  // namespace

void Model::Save(const std::string& path) const { WriteModelFile(path, impl_->card, FileWeights(*impl_, path)); }

std::shared_ptr<const Network> ToNetwork(const Model& model) {
  const std::string where = model.card().name.empty() ? "model" : model.card().name;
  ModelFileContents contents{model.card(), FileWeights(model.impl(), where)};
  contents.card.format_version = kModelFormatVersion;
  return Network::FromContents(contents, where);
}

const std::vector<std::shared_ptr<const Model>>& Model::members() const { return impl_->members; }

const ModelCard& Model::card() const { return impl_->card; }
ModelCard& Model::card() { return impl_->card; }

std::size_t Model::parameters() const {
  std::size_t n = 0;
  for (const auto& m : impl_->members) n += m->parameters();
  if (!impl_->net) return n;
  for (const auto& p : impl_->net->parameters()) n += static_cast<std::size_t>(p.numel());
  return n;
}

std::string Model::WeightsHash() const {
  Hasher h;
  for (const auto& m : impl_->members) {
    const std::string member = m->WeightsHash();
    h.Update(member.data(), member.size());
  }
  if (!impl_->net) return ToHex(h.Digest());
  for (const auto& [name, t] : Tensors(*impl_->net)) {
    const torch::Tensor c = t.contiguous().to(torch::kFloat32);
    h.Update(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float));
  }
  return ToHex(h.Digest());
}

std::vector<std::vector<float>> Model::Predict(const std::vector<Matrix>& windows, int batch) const {
  if (!impl_->net) throw OptionError("an ensemble classifies songs (Classifier), not windows");
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  std::vector<std::vector<float>> out;
  const std::size_t k = impl_->card.classes.size();
  for (std::size_t start = 0; start < windows.size(); start += static_cast<std::size_t>(batch)) {
    std::vector<const Matrix*> part;
    for (std::size_t i = start; i < std::min(windows.size(), start + static_cast<std::size_t>(batch)); ++i)
      part.push_back(&windows[i]);
    const torch::Tensor logits = impl_->net->forward(Batch(part));
    const torch::Tensor p =
        (impl_->card.arch.MultiLabel() ? torch::sigmoid(logits) : torch::softmax(logits, 1)).contiguous();
    const float* data = p.data_ptr<float>();
    for (std::size_t i = 0; i < part.size(); ++i) out.emplace_back(data + i * k, data + (i + 1) * k);
  }
  return out;
}

namespace {
MsdConvnetImpl& Convnet(const Model& m, const std::string& what) {
  auto* net = dynamic_cast<MsdConvnetImpl*>(m.impl().net.get());
  if (!net) throw OptionError(what + " needs an msd-convnet model, '" + m.card().name + "' is " + m.card().arch.kind);
  return *net;
}

void CopyInto(torch::Tensor& to, const torch::Tensor& from, const std::string& name, const std::string& where) {
  if (to.sizes() != from.sizes()) throw ModelError(where + ": tensor " + name + " does not fit the network");
  torch::NoGradGuard no_grad;
  to.copy_(from);
}
}  // namespace

Model ImportKeras(const KerasConvnet& k, ModelCard card) {
  if (k.bn_eps != 1e-3 || k.elu_alpha != 1.0)
    throw ModelError(k.path + ": batch-norm epsilon " + std::to_string(k.bn_eps) + " / ELU alpha " +
                     std::to_string(k.elu_alpha) + " are not supported (only 0.001 / 1)");
  if (card.classes.size() != static_cast<std::size_t>(k.tags))
    throw ModelError(k.path + ": " + std::to_string(k.tags) + " tags, " + std::to_string(card.classes.size()) +
                     " tag names given");
  card.arch = DefaultArch("msd-convnet");
  card.arch.channels = k.channels;
  card.arch.pool = k.pool;
  card.arch.head = "tags";
  card.arch.dropout = 0;
  InputSpec& in = card.input;
  in.kind = "waveform";
  in.rows = 1;
  FrontEndOptions& fe = in.front_end;
  fe = FrontEndOptions{};
  fe.sample_rate = k.sample_rate;
  fe.stft.n_fft = k.n_dft;
  fe.stft.hop_length = k.n_hop;
  fe.mel.n_mels = k.n_mels;
  fe.mel.fmin_hz = k.fmin_hz;
  fe.mel.fmax_hz = k.fmax_hz;
  fe.db.ref_max = true;
  fe.db.amin = k.amin;
  fe.db.top_db = k.top_db;
  in.window = 29 * k.sample_rate;  // the authors' clip: the first 29 s
  in.hop = in.window;
  in.min_window = MinWindowSamples(card, /*tags=*/true);
  card.mean = {0.0f};
  card.stdev = {1.0f};
  Model m = Model::Create(card, 0);
  AssignTensors(*m.impl().net, k.tensors, k.path);
  m.impl().net->eval();
  return m;
}

Model AttachHead(const Model& backbone, const Model& head, ModelCard card) {
  Convnet(backbone, "attaching a head");
  const ModelCard& b = backbone.card();
  const ModelCard& h = head.card();
  long features = 0;
  for (int c : b.arch.channels) features += c;
  // A head on the convnet's features alone, or on them and the GTZAN vector (fused).
  const bool fused = h.input.kind == "msd-convnet+gtzan";
  if (h.arch.kind != "mlp" || (h.input.kind != "msd-convnet" && !fused) ||
      h.input.rows != features + (fused ? kGtzanFeatureCount : 0))
    throw ModelError("the head must be an mlp on the backbone's " + std::to_string(features) +
                     " msd-convnet features (and the GTZAN vector), '" + h.name + "' is " + h.arch.kind + " on " +
                     h.input.kind);
  card.classes = h.classes;
  card.input = b.input;
  card.arch = b.arch;
  card.arch.head = fused ? "features+gtzan" : "features";
  card.arch.hidden = h.arch.hidden;
  card.arch.dropout = h.arch.dropout;
  card.input.min_window = MinWindowSamples(card, /*tags=*/false);
  if (fused) {  // GTZAN clips at 22050 Hz, as the GTZAN vector is made
    card.input.kind = "waveform+gtzan";
    card.input.window = card.input.hop = static_cast<int>(kGtzanClipSamples);
  }
  card.mean = {0.0f};
  card.stdev = {1.0f};
  Model m = Model::Create(card, 0);
  auto to = Tensors(*m.impl().net);
  auto from_backbone = Tensors(*backbone.impl().net);
  auto from_head = Tensors(*head.impl().net);
  auto find = [](auto& list, const std::string& name) -> torch::Tensor* {
    for (auto& [n, t] : list)
      if (n == name) return &t;
    return nullptr;
  };
  // The first dense layer reads (x - mean) / std: fold that into its weights and bias.
  const torch::Tensor mean = torch::tensor(h.mean).view({1, -1}), sd = torch::tensor(h.stdev).view({1, -1});
  for (auto& [name, t] : to) {
    if (name.rfind("head.", 0) == 0) {
      const torch::Tensor* src = find(from_head, name);
      if (!src) throw ModelError("head '" + h.name + "' has no " + name);
      torch::Tensor v = *src;
      if (name == "head.0.weight") v = v / sd;
      if (name == "head.0.bias") v = v - torch::matmul(*find(from_head, "head.0.weight") / sd, mean.view({-1}));
      CopyInto(t, v, name, h.name);
    } else {
      const torch::Tensor* src = find(from_backbone, name);
      if (!src) throw ModelError("backbone '" + b.name + "' has no " + name);
      CopyInto(t, *src, name, b.name);
    }
  }
  m.impl().net->eval();
  return m;
}

std::vector<std::vector<float>> Model::Features(const std::vector<Matrix>& windows) const {
  MsdConvnetImpl& net = Convnet(*this, "features");
  torch::NoGradGuard no_grad;
  net.eval();
  std::vector<std::vector<float>> out;
  for (const Matrix& w : windows) {
    const torch::Tensor f = net.Features(Batch({&w})).contiguous();
    out.emplace_back(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
  }
  return out;
}

std::vector<Model::WindowFeatures> Model::SongFeatures(const std::vector<float>& samples, std::size_t hop,
                                                       bool tags) const {
  Convnet(*this, "features");
  return SongWindows(card(), samples, hop, tags,
                     [&](const Matrix& x) { return std::move((tags ? Predict({x}, 1) : Features({x}))[0]); });
}

Matrix MeanFeatures(const Model& backbone, const std::vector<float>& samples, std::size_t hop) {
  return MeanOfWindows(backbone.SongFeatures(samples, hop));
}

Matrix BackboneVectors(const Model& backbone, const Waveform& song, int variants, const AudioAugmentOptions& augment) {
  const Matrix clean = MeanFeatures(backbone, song.samples);
  if (variants <= 0) return clean;
  Matrix x(clean.rows, 1 + static_cast<std::size_t>(variants));
  for (std::size_t r = 0; r < clean.rows; ++r) x(r, 0) = clean(r, 0);
  for (int v = 1; v <= variants; ++v) {
    const std::uint64_t seed = HashBytes(FileStem(song.info.path), static_cast<std::uint64_t>(v));
    const Matrix f = MeanFeatures(backbone, AugmentAudio(song.samples, song.sample_rate, seed, augment));
    for (std::size_t r = 0; r < clean.rows; ++r) x(r, static_cast<std::size_t>(v)) = f(r, 0);
  }
  return x;
}

std::string BackboneVectorsId(const Model& backbone, int variants, const AudioAugmentOptions& augment) {
  std::string id = "msd-convnet weights=" + backbone.WeightsHash() + " variants=" + std::to_string(variants);
  if (variants > 0) id += " augment=" + augment.Text();
  return id;
}

}  // namespace genre
