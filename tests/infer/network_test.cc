// The inference runtime without libtorch: loading (format_version 2 only, weights that fit
// the card), window probabilities, refusals. Its agreement with libtorch on every
// architecture is checked in network_parity_test.cc (genre_model_tests).
#include "genre/infer/network.h"

#include <catch2/catch.hpp>

#include "genre/audio/audio_reader.h"
#include "genre/error.h"
#include "genre/model/tensors.h"
#include "genre/train/windows.h"
#include "support.h"

namespace genre {

namespace {
std::string Fixture(const std::string& name) { return (test::DataDir() / "models" / name).string(); }
}  // namespace

TEST_CASE("the runtime loads a format_version 2 model and gives probabilities", "[infer]") {
  const auto net = Network::Load(Fixture("mlp-v2.gmdl"));
  CHECK(net->card().arch.kind == "mlp");
  CHECK_FALSE(net->is_ensemble());
  std::vector<Matrix> windows;
  for (int i = 0; i < 3; ++i) {
    Matrix x(57, 1);
    for (std::size_t r = 0; r < 57; ++r) x(r, 0) = static_cast<float>((r * (i + 3)) % 11) - 5.0f;
    windows.push_back(x);
  }
  const auto p = net->Predict(windows, 2);
  REQUIRE(p.size() == 3);
  for (const auto& row : p) {
    REQUIRE(row.size() == net->card().classes.size());
    float sum = 0;
    for (float v : row) {
      CHECK(v >= 0.0f);
      sum += v;
    }
    CHECK(sum == Approx(1.0f).margin(1e-5));
  }
  CHECK(p[0] != p[1]);
  CHECK(net->Predict({windows[1]}) == std::vector<std::vector<float>>{p[1]});  // batching changes nothing
  CHECK_THROWS_WITH(net->Predict({Matrix(56, 1)}), "a window of 56 x 1 values; the model reads 57 rows");
  CHECK_THROWS_WITH(net->Features(windows), "features need an msd-convnet model, '" + net->card().name + "' is mlp");
}

TEST_CASE("the runtime refuses version 1 files and weights that do not fit, naming the file", "[infer][errors]") {
  const std::string v1 = Fixture("mlp-v1.gmdl");
  CHECK_THROWS_WITH(Network::Load(v1), v1 + ": model format_version 1 holds libtorch weights, which inference does "
                                            "not read; convert the file with 'genre-train convert OLD.gmdl NEW.gmdl'");
  test::TempDir dir;
  const ModelFileContents contents = ReadModelFile(Fixture("mlp-v2.gmdl"));
  const std::vector<NamedTensor> table = ReadTensorTable(contents.weights, "fixture");
  const std::string path = (dir / "m.gmdl").string();
  const std::string misfit = path + ": weights do not fit the model's architecture: ";
  auto load_with = [&](const std::vector<NamedTensor>& tensors) {
    WriteModelFile(path, contents.card, WriteTensorTable(tensors));
    return test::MessageOf<ModelError>([&] { Network::Load(path); });
  };
  std::vector<NamedTensor> t = table;
  REQUIRE(t.back().name == "head.3.bias");
  t.pop_back();
  CHECK(load_with(t) == misfit + "no head.3.bias");
  t = table;
  t.push_back({"tags.weight", {1}, {0.5f}});
  CHECK(load_with(t) == misfit + "tags.weight has no place in the network");
  t = table;
  t[0].shape = {t[0].shape[1], t[0].shape[0]};
  CHECK(load_with(t) == misfit + "head.0.weight is [57x2], the card needs [2x57]");
  CHECK_THROWS_WITH(Network::Load((dir / "none.gmdl").string()),
                    Catch::StartsWith((dir / "none.gmdl").string() + ": cannot open"));
}

TEST_CASE("the runtime classifies a real clip with the bundled model", "[infer][msd]") {
  const auto net = Network::Load((test::DataDir() / ".." / ".." / "models" / "default.gmdl").string());
  AudioReadOptions read;
  read.sample_rate = net->card().input.front_end.sample_rate;
  read.duration_s = 29;
  const Matrix x = PaddedWaveform(LoadAudio(test::Input("blues.00000.flac").string(), read).samples, 0);
  const auto p = net->Predict({x})[0];
  const auto& classes = net->card().classes;
  CHECK(classes[static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin())] == "blues");
  const auto backbone = Network::Load((test::DataDir() / ".." / ".." / "models" / "msd-convnet.gmdl").string());
  CHECK(backbone->Features({x})[0].size() == 160);
}

}  // namespace genre
