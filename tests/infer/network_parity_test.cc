// The inference runtime (genre/infer/, oneDNN) against libtorch (Model::Predict) on the
// same model files and windows: every architecture, the bundled models on real audio, an
// ensemble's members. Probabilities must agree within 1e-5 absolute (issue 15): float32
// arithmetic in another order (batch norm folded into the convolutions, oneDNN's kernels)
// moves a probability by ~1e-7; a wrong layer moves it by far more.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "genre/audio/audio_reader.h"
#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/infer/network.h"
#include "genre/model/model.h"
#include "genre/model/tensors.h"
#include "genre/train/windows.h"
#include "support.h"

namespace genre {

namespace {

constexpr float kTolerance = 1e-5f;

float MaxDiff(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
  REQUIRE(a.size() == b.size());
  float most = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].size() == b[i].size());
    for (std::size_t k = 0; k < a[i].size(); ++k) most = std::max(most, std::abs(a[i][k] - b[i][k]));
  }
  return most;
}

// Random values of order 1 (SplitMix64, seeded).
std::vector<float> Noise(std::size_t n, std::uint64_t seed, float scale = 1.0f, float offset = 0.0f) {
  SplitMix64 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = offset + scale * static_cast<float>(rng.Uniform() * 2 - 1);
  return v;
}

ModelCard SmallCard(const std::string& arch) {
  ModelCard c;
  c.name = "parity-" + arch;
  c.classes = {"a", "b", "c", "d"};
  c.arch = DefaultArch(arch);
  c.input.kind = InputKindFor(arch);
  // Odd sizes: the ceil-mode pools keep a partial last window, the 4x4 average pool overlaps.
  c.input.front_end.mel.n_mels = 18;
  c.input.front_end.mfcc.n_mfcc = 13;
  c.input.rows = arch == "cnn2d" ? 18 : arch == "cnn1d" ? 24 : 48;
  c.input.window = arch == "mlp" ? 1 : 27;
  c.input.hop = arch == "mlp" ? 1 : 13;
  if (arch == "cnn2d") c.arch.channels = {4, 8};
  if (arch == "cnn1d") c.arch.channels = {8, 8, 8};
  c.arch.hidden = {16, 8};
  c.mean = Noise(static_cast<std::size_t>(c.input.rows), 1, 0.5f);
  c.stdev = Noise(static_cast<std::size_t>(c.input.rows), 2, 0.4f, 1.0f);
  return c;
}

// A model file of `card` with random weights and batch-norm statistics that are not the
// identity (a fresh network's are: they would hide a wrong folding).
std::string RandomModelFile(const ModelCard& card, const std::filesystem::path& dir) {
  const std::string path = (dir / (card.name + ".gmdl")).string();
  Model::Create(card, 3).Save(path);
  ModelFileContents contents = ReadModelFile(path);
  std::vector<NamedTensor> table = ReadTensorTable(contents.weights, path);
  std::uint64_t seed = 10;
  for (NamedTensor& t : table) {
    const auto n = t.values.size();
    if (t.name.ends_with("running_var")) t.values = Noise(n, ++seed, 0.5f, 1.0f);
    if (t.name.ends_with("running_mean")) t.values = Noise(n, ++seed, 0.3f);
    if (t.name.find(".1.weight") != std::string::npos || t.name.find(".5.weight") != std::string::npos)
      t.values = Noise(n, ++seed, 0.5f, 1.0f);  // batch-norm gamma (cnn: features.{4b+1})
  }
  WriteModelFile(path, contents.card, WriteTensorTable(table));
  return path;
}

std::vector<Matrix> RandomWindows(const ModelCard& card, std::size_t count, std::size_t cols, std::uint64_t seed) {
  std::vector<Matrix> w;
  for (std::size_t i = 0; i < count; ++i) {
    Matrix m(static_cast<std::size_t>(card.input.rows), cols);
    m.data = Noise(m.data.size(), seed + i, 2.0f);
    w.push_back(std::move(m));
  }
  return w;
}

Matrix Window12k(const std::string& input, double seconds) {
  AudioReadOptions read;
  read.sample_rate = 12000;
  read.duration_s = seconds;
  return PaddedWaveform(LoadAudio(test::Input(input).string(), read).samples, 0);
}

// libtorch's probabilities one window at a time (its batches take one shape only).
std::vector<std::vector<float>> TorchPredict(const Model& m, const std::vector<Matrix>& windows) {
  std::vector<std::vector<float>> out;
  for (const Matrix& w : windows) out.push_back(m.Predict({w})[0]);
  return out;
}

std::string Bundled(const std::string& name) { return (test::DataDir() / ".." / ".." / "models" / name).string(); }

}  // namespace

TEST_CASE("runtime = libtorch within 1e-5: cnn2d, cnn1d and mlp", "[model][infer]") {
  test::TempDir dir;
  for (const std::string arch : {"cnn2d", "cnn1d", "mlp"}) {
    INFO(arch);
    const ModelCard card = SmallCard(arch);
    const std::string path = RandomModelFile(card, dir.path());
    const Model torch = Model::Load(path);
    const auto runtime = Network::Load(path);
    // A batch of windows of the model's shape, then one of another width (a batch of its own).
    std::vector<Matrix> windows = RandomWindows(card, 5, static_cast<std::size_t>(card.input.window), 100);
    if (arch != "mlp") windows.push_back(RandomWindows(card, 1, 33, 200)[0]);
    const auto expected = TorchPredict(torch, windows);
    const auto got = runtime->Predict(windows, 4);
    CHECK(MaxDiff(got, expected) <= kTolerance);
    for (const auto& row : got) {
      float sum = 0;
      for (float p : row) sum += p;
      CHECK(sum == Approx(1.0f).margin(1e-5));
    }
    // The same numbers whatever the threads, run after run; another batch size may take
    // other oneDNN kernels (last-bit differences).
    SetInferenceThreads(1);
    const auto one_thread = runtime->Predict(windows, 4);
    SetInferenceThreads(2);
    CHECK(runtime->Predict(windows, 4) == one_thread);
    CHECK(runtime->Predict(windows, 4) == one_thread);
    CHECK(MaxDiff(runtime->Predict(windows, 1), one_thread) <= 1e-6f);
    SetInferenceThreads(1);
  }
}

TEST_CASE("runtime = libtorch within 1e-5: the bundled models on real audio", "[model][infer][msd]") {
  const Matrix blues = Window12k("blues.00000.flac", 29), metal = Window12k("metal.00002.flac", 29);
  // Another width, its pools with a cut (the genre head reads windows from 6.8 s, the tags 27 s).
  const Matrix short_clip = Window12k("metal.00002.flac", 7.5);
  for (const char* name : {"default.gmdl", "msd-convnet.gmdl"}) {
    INFO(name);
    const Model torch = Model::Load(Bundled(name));
    const auto runtime = Network::Load(Bundled(name));
    std::vector<Matrix> windows{blues, metal};
    if (std::string(name) == "default.gmdl") windows.push_back(short_clip);
    const auto expected = TorchPredict(torch, windows);
    const auto got = runtime->Predict(windows);
    CHECK(MaxDiff(got, expected) <= kTolerance);
    // Both name the same top class on each clip.
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK(std::max_element(got[i].begin(), got[i].end()) - got[i].begin() ==
            std::max_element(expected[i].begin(), expected[i].end()) - expected[i].begin());
  }
  // The backbone's features (what heads read), within 1e-5 of their size (order 1).
  const Model torch = Model::Load(Bundled("msd-convnet.gmdl"));
  const auto runtime = Network::Load(Bundled("msd-convnet.gmdl"));
  CHECK(MaxDiff(runtime->Features({blues, short_clip}), torch.Features({blues, short_clip})) <= kTolerance);
  CHECK_THROWS_AS(runtime->Predict({short_clip}), InputError);  // too short for the tags' pools
}

TEST_CASE("runtime = libtorch within 1e-5: msd-convnet with STFT kernels that are not an FFT, and the fused head",
          "[model][infer][msd]") {
  test::TempDir dir;
  const Matrix metal = Window12k("metal.00002.flac", 10);
  // Kernels 0.1 % off a Hann DFT: both paths compute the STFT as the convolution it is.
  ModelFileContents contents = ReadModelFile(Bundled("default.gmdl"));
  std::vector<NamedTensor> table = ReadTensorTable(contents.weights, "default");
  for (NamedTensor& t : table)
    if (t.name == "stft_real")
      for (float& v : t.values) v *= 1.001f;
  const std::string conv = (dir / "conv.gmdl").string();
  WriteModelFile(conv, contents.card, WriteTensorTable(table));
  CHECK(MaxDiff(Network::Load(conv)->Predict({metal}), Model::Load(conv).Predict({metal})) <= kTolerance);

  // A head on the features and the GTZAN vector: input [1, 57 + samples].
  const Model backbone = Model::Load(Bundled("msd-convnet.gmdl"));
  ModelCard hc;
  hc.name = "fused-head";
  hc.classes = {"blues", "metal", "pop"};
  hc.arch = DefaultArch("mlp");
  hc.arch.hidden = {8};
  hc.input.kind = "msd-convnet+gtzan";
  hc.input.rows = 160 + kGtzanFeatureCount;
  hc.input.window = hc.input.hop = 1;
  hc.mean = Noise(217, 5, 0.1f);
  hc.stdev = Noise(217, 6, 0.2f, 1.0f);
  ModelCard card;
  card.name = "fused";
  const std::string fused = (dir / "fused.gmdl").string();
  AttachHead(backbone, Model::Create(hc, 7), card).Save(fused);
  Matrix x(1, kGtzanFeatureCount + metal.cols);
  const std::vector<float> vector = Noise(kGtzanFeatureCount, 8, 3.0f);
  std::copy(vector.begin(), vector.end(), x.data.begin());
  std::copy(metal.data.begin(), metal.data.end(), x.data.begin() + kGtzanFeatureCount);
  CHECK(MaxDiff(Network::Load(fused)->Predict({x}), Model::Load(fused).Predict({x})) <= kTolerance);
}

TEST_CASE("runtime = libtorch within 1e-5: an ensemble's members", "[model][infer]") {
  test::TempDir dir;
  ModelCard a = SmallCard("cnn2d"), b = SmallCard("cnn2d");
  b.name = "parity-cnn2d-b";
  b.arch.channels = {8, 4};
  const std::string pa = RandomModelFile(a, dir.path()), pb = RandomModelFile(b, dir.path());
  const std::string pe = (dir / "ensemble.gmdl").string();
  ModelCard card;
  card.name = "pair";
  WriteEnsembleFile(pe, {pa, pb}, card);
  const Model torch = Model::Load(pe);
  const auto runtime = Network::Load(pe);
  REQUIRE(runtime->is_ensemble());
  REQUIRE(runtime->members().size() == 2);
  CHECK_THROWS_AS(runtime->Predict(RandomWindows(a, 1, 27, 1)), OptionError);
  const auto windows = RandomWindows(a, 3, 27, 300);
  for (std::size_t m = 0; m < 2; ++m)
    CHECK(MaxDiff(runtime->members()[m]->Predict(windows), torch.members()[m]->Predict(windows)) <= kTolerance);
}

}  // namespace genre
