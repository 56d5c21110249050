#include <sstream>
#include <thread>

#include "genre/error.h"
#include "genre/util/hash.h"
#include "genre/util/parallel.h"
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

std::shared_ptr<NetImpl> MakeNet(const ModelCard& card) {
  if (card.arch.kind == "cnn2d") return std::make_shared<Cnn2dImpl>(card);
  if (card.arch.kind == "cnn1d") return std::make_shared<Cnn1dImpl>(card);
  if (card.arch.kind == "mlp") return std::make_shared<MlpImpl>(card);
  throw FormatError("unknown architecture '" + card.arch.kind + "'");
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

std::string SaveWeights(NetImpl& net) {
  torch::serialize::OutputArchive archive;
  net.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void LoadWeights(NetImpl& net, const std::string& bytes, const std::string& where) {
  // libtorch replaces a tensor of another shape silently: compare shapes ourselves.
  std::vector<std::pair<std::string, std::vector<long>>> expected;
  for (const auto& p : net.named_parameters()) expected.emplace_back(p.key(), p.value().sizes().vec());
  for (const auto& b : net.named_buffers()) expected.emplace_back(b.key(), b.value().sizes().vec());
  try {
    std::istringstream is(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(is);
    net.load(archive);
    auto shape = [](const std::vector<long>& s) {
      std::string out;
      for (long d : s) {
        if (!out.empty()) out += 'x';
        out += std::to_string(d);
      }
      return '[' + out + ']';
    };
    std::size_t i = 0;
    for (const auto& p : net.named_parameters()) {
      if (p.value().sizes().vec() != expected[i].second)
        throw FormatError(where + ": weights do not fit the model's architecture: " + p.key() + " is " +
                          shape(p.value().sizes().vec()) + ", the card needs " + shape(expected[i].second));
      ++i;
    }
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw FormatError(where + ": weights do not fit the model's architecture: " + what);
  }
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
  auto impl = std::make_unique<Model::Impl>();
  if (contents.card.IsEnsemble()) {
    for (EnsembleMember& m : EnsembleMembers(contents, where))
      impl->members.push_back(std::make_shared<const Model>(Model::FromContents(std::move(m.contents), m.where)));
    impl->card = std::move(contents.card);
    impl->payload = std::move(contents.weights);
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

void Model::Save(const std::string& path) const {
  WriteModelFile(path, impl_->card, impl_->net ? SaveWeights(*impl_->net) : impl_->payload);
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
  auto add = [&](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous().to(torch::kFloat32);
    h.Update(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float));
  };
  for (const auto& p : impl_->net->named_parameters()) add(p.value());
  for (const auto& b : impl_->net->named_buffers())
    if (b.value().is_floating_point()) add(b.value());
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
    const torch::Tensor p = torch::softmax(impl_->net->forward(Batch(part)), 1).contiguous();
    const float* data = p.data_ptr<float>();
    for (std::size_t i = 0; i < part.size(); ++i) out.emplace_back(data + i * k, data + (i + 1) * k);
  }
  return out;
}

}  // namespace genre
