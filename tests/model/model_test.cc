// Tests of the libtorch model code (genre_torch): networks, model files,
// training, early stopping, LR reduction, checkpoints and exact resume.
#include "genre/model/model.h"
#include "genre/infer/network.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>

#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/model/tensors.h"
#include "genre/train/trainer.h"
#include "support.h"

namespace genre {

namespace {

ModelCard Card(const std::string& arch) {
  ModelCard c;
  c.name = "test-" + arch;
  c.classes = {"low", "high", "mid"};
  c.arch = DefaultArch(arch);
  c.input.kind = InputKindFor(arch);
  c.input.front_end.mel.n_mels = 16;
  c.input.front_end.mfcc.n_mfcc = 13;
  c.input.rows = arch == "cnn2d" ? 16 : arch == "cnn1d" ? 24 : 48;
  c.input.window = arch == "mlp" ? 1 : 24;
  c.input.hop = arch == "mlp" ? 1 : 12;
  if (arch == "cnn2d") c.arch.channels = {4, 8};
  if (arch == "cnn1d") c.arch.channels = {8, 8, 8};
  c.arch.hidden = {16};
  return c;
}

// Class c has energy in a third of the rows; noise elsewhere. Learnable in a few epochs.
std::vector<Example> Synthetic(const ModelCard& card, int per_class, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<Example> out;
  const std::size_t rows = static_cast<std::size_t>(card.input.rows);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < per_class; ++i) {
      const std::size_t cols = card.input.kind == "vector" ? 1 : 30 + rng.Below(40);
      Example e;
      e.x = Matrix(rows, cols);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t t = 0; t < cols; ++t) {
          const bool on = r * 3 / rows == static_cast<std::size_t>(c);
          e.x(r, t) = static_cast<float>(rng.Uniform() + (on ? 2.0 : 0.0));
        }
      e.label = c;
      e.path = std::to_string(c) + "-" + std::to_string(i) + ".wav";
      out.push_back(std::move(e));
    }
  return out;
}

TrainOptions Quick(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 8;
  o.lr = 3e-3;
  o.threads = 1;  // bit-exact resume is only promised for the same thread count
  o.seed = 5;
  return o;
}

}  // namespace

TEST_CASE("every architecture predicts probabilities and survives save / load", "[model]") {
  test::TempDir dir;
  for (const std::string arch : {"cnn2d", "cnn1d", "mlp"}) {
    INFO(arch);
    ModelCard card = Card(arch);
    const auto data = Synthetic(card, 2, 1);
    ComputeStandardisation(card, data);
    Model m = Model::Create(card, 3);
    CHECK(m.parameters() > 0);
    const auto windows = Windows(m.card(), data[0].x);
    const auto p = m.Predict(windows);
    REQUIRE(p.size() == windows.size());
    for (const auto& row : p) {
      REQUIRE(row.size() == 3);
      CHECK(row[0] + row[1] + row[2] == Approx(1.0).epsilon(1e-5));
    }
    const std::string path = (dir / (arch + ".gmdl")).string();
    m.Save(path);
    const Model back = Model::Load(path);
    CHECK(back.WeightsHash() == m.WeightsHash());
    CHECK(back.Predict(windows) == m.Predict(windows));
  }
}

TEST_CASE("model files hold a tensor table, weights that do not fit it are refused naming the tensor",
          "[model][errors]") {
  test::TempDir dir;
  ModelCard card = Card("cnn2d");
  card.mean.assign(16, 0.0f);
  card.stdev.assign(16, 1.0f);
  const std::string path = (dir / "a.gmdl").string();
  Model::Create(card, 1).Save(path);
  const ModelFileContents contents = ReadModelFile(path);
  CHECK(contents.card.format_version == kModelFormatVersion);
  REQUIRE(IsTensorTable(contents.weights));
  const std::vector<NamedTensor> table = ReadTensorTable(contents.weights, path);
  std::vector<std::string> names;
  for (const NamedTensor& t : table) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"features.0.weight", "features.1.weight", "features.1.bias",
                                          "features.4.weight", "features.5.weight", "features.5.bias", "head.0.weight",
                                          "head.0.bias", "head.3.weight", "head.3.bias", "features.1.running_mean",
                                          "features.1.running_var", "features.5.running_mean",
                                          "features.5.running_var"});
  auto load_with = [&](std::vector<NamedTensor> tensors) {
    const std::string p = (dir / "b.gmdl").string();
    WriteModelFile(p, contents.card, WriteTensorTable(tensors));
    return test::MessageOf<ModelError>([&] { Model::Load(p); });
  };
  const std::string misfit = (dir / "b.gmdl").string() + ": weights do not fit the model's architecture: ";
  std::vector<NamedTensor> t = table;
  t.erase(t.begin() + 7);
  CHECK(load_with(t) == misfit + "no head.0.bias");
  t = table;
  t.push_back({"head.9.weight", {2}, {1, 2}});
  CHECK(load_with(t) == misfit + "head.9.weight has no place in the network");
  t = table;
  t[0].shape = {8, 1, 3, 3};
  t[0].values.resize(72);
  CHECK(load_with(t) == misfit + "features.0.weight is [8x1x3x3], the card needs [4x1x3x3]");
  WriteModelFile((dir / "c.gmdl").string(), contents.card, WriteTensorTable(table));
  CHECK_NOTHROW(Model::Load((dir / "c.gmdl").string()));
  // The same weights under a card that promises wider convolutions.
  ModelCard wider = contents.card;
  wider.arch.channels = {4, 16};
  WriteModelFile((dir / "d.gmdl").string(), wider, contents.weights);
  CHECK_THROWS_WITH(Model::Load((dir / "d.gmdl").string()),
                    (dir / "d.gmdl").string() +
                        ": weights do not fit the model's architecture: features.4.weight "
                        "is [8x4x3x3], the card needs [16x4x3x3]");
}

TEST_CASE("a format_version 1 file (libtorch archive) loads and converts with the same weights", "[model]") {
  test::TempDir dir;
  const std::string v1 = (test::DataDir() / "models" / "mlp-v1.gmdl").string();
  const ModelFileContents old = ReadModelFile(v1);
  REQUIRE(old.card.format_version == 1);
  REQUIRE_FALSE(IsTensorTable(old.weights));
  const Model a = Model::Load(v1);
  const std::string v2 = (dir / "mlp.gmdl").string();
  a.Save(v2);
  const ModelFileContents now = ReadModelFile(v2);
  CHECK(now.card.format_version == 2);
  CHECK(IsTensorTable(now.weights));
  const Model b = Model::Load(v2);
  CHECK(b.WeightsHash() == a.WeightsHash());
  Matrix x(57, 1);
  for (std::size_t r = 0; r < 57; ++r) x(r, 0) = static_cast<float>(r % 7) - 3.0f;
  CHECK(b.Predict({x}) == a.Predict({x}));
  // An ensemble of version 1 files is re-saved with its members converted.
  const std::string e = (dir / "e.gmdl").string(), e2 = (dir / "e2.gmdl").string();
  ModelCard card;
  card.name = "pair";
  WriteEnsembleFile(e, {v1, v2}, card);
  CHECK(EnsembleMembers(ReadModelFile(e), e)[0].contents.card.format_version == 1);
  const Model ensemble = Model::Load(e);
  ensemble.Save(e2);
  for (const EnsembleMember& m : EnsembleMembers(ReadModelFile(e2), e2)) {
    CHECK(m.contents.card.format_version == 2);
    CHECK(IsTensorTable(m.contents.weights));
  }
  CHECK(Model::Load(e2).WeightsHash() == ensemble.WeightsHash());
}

TEST_CASE("the bundled models are tensor tables of this build's format_version", "[model]") {
  for (const char* name : {"default.gmdl", "msd-convnet.gmdl"}) {
    const std::string path = (test::DataDir() / ".." / ".." / "models" / name).string();
    INFO(path);
    const ModelFileContents contents = ReadModelFile(path);
    CHECK(contents.card.format_version == kModelFormatVersion);
    CHECK(IsTensorTable(contents.weights));
    CHECK(contents.card.training.at("converted").at("from_format_version") == 1);
  }
}

TEST_CASE("a tiny training run learns and yields a loadable model", "[model][train]") {
  test::TempDir dir;
  for (const std::string arch : {"cnn2d", "cnn1d", "mlp"}) {
    INFO(arch);
    const ModelCard card = Card(arch);
    const auto train = Synthetic(card, 12, 2), valid = Synthetic(card, 4, 3);
    Model m = Model::Create(card, 4);
    TrainOptions o = Quick(arch == "mlp" ? 30 : 6);
    o.checkpoint_dir = (dir / arch).string();
    int callbacks = 0;
    const TrainResult r = Train(m, train, valid, o, [&](const EpochStats&, int) { ++callbacks; });
    CHECK(callbacks == static_cast<int>(r.history.size()));
    CHECK(r.history.back().train_loss < r.history.front().train_loss);
    const Evaluation ev = Evaluate(m, valid);
    CHECK(ev.tracks.accuracy >= 0.9);
    CHECK(std::filesystem::exists(dir / arch / "last.ckpt"));
    CHECK(std::filesystem::exists(dir / arch / "best.ckpt"));
    m.Save((dir / (arch + ".gmdl")).string());
    CHECK(Evaluate(Model::Load((dir / (arch + ".gmdl")).string()), valid).tracks.accuracy == ev.tracks.accuracy);
  }
}

TEST_CASE("a run stopped and resumed ends with the same weights as an uninterrupted one", "[model][train]") {
  test::TempDir dir;
  const ModelCard card = Card("cnn2d");
  const auto train = Synthetic(card, 6, 7), valid = Synthetic(card, 2, 8);
  TrainOptions o = Quick(4);
  o.balanced_sampler = true;  // exercises the data RNG too

  Model whole = Model::Create(card, 9);
  o.checkpoint_dir = (dir / "whole").string();
  const TrainResult a = Train(whole, train, valid, o);
  REQUIRE(a.history.size() == 4);

  Model part = Model::Create(card, 9);
  o.checkpoint_dir = (dir / "part").string();
  o.stop_after = 2;
  const TrainResult first = Train(part, train, valid, o);
  CHECK_FALSE(first.finished);
  CHECK(first.history.size() == 2);
  Model resumed = Model::Create(card, 123);  // a fresh process: other initial weights
  o.stop_after = 0;
  o.resume = true;
  const TrainResult b = Train(resumed, train, valid, o);
  REQUIRE(b.history.size() == 4);
  CHECK(resumed.WeightsHash() == whole.WeightsHash());
  CHECK(b.history.back().train_loss == a.history.back().train_loss);
  CHECK(b.history.back().lr == a.history.back().lr);
}

TEST_CASE("early stopping and LR reduction fire on a crafted plateau", "[model][train]") {
  const ModelCard card = Card("mlp");
  const auto train = Synthetic(card, 6, 11), valid = Synthetic(card, 3, 12);
  Model m = Model::Create(card, 1);
  TrainOptions o = Quick(30);
  o.lr = 1e-12;  // nothing moves: the validation loss is flat
  o.plateau = {0.5, 1, 1e-4, 1e-14};
  o.early_stopping = {4, 1e-3, true};
  o.augment.random_crop = false;
  const TrainResult r = Train(m, train, valid, o);
  CHECK(r.stop_reason == "early stopping");
  CHECK(r.history.size() == 5);  // epoch 1 is the best, 4 more without improvement
  CHECK(r.best_epoch == 1);
  // The rate used in each epoch: halved after two epochs without improvement (patience 1).
  std::vector<double> lr;
  for (const EpochStats& s : r.history) lr.push_back(s.lr);
  CHECK(lr == std::vector<double>{1e-12, 1e-12, 1e-12, 0.5e-12, 0.5e-12});
}

TEST_CASE("training refuses hostile setups with one clear message", "[model][train][errors]") {
  test::TempDir dir;
  const ModelCard card = Card("mlp");
  auto train = Synthetic(card, 3, 1);
  Model m = Model::Create(card, 1);
  CHECK_THROWS_WITH(Train(m, {}, {}, Quick(1)), "no training examples");
  std::vector<Example> one_class(train.begin(), train.begin() + 3);
  CHECK_THROWS_WITH(Train(m, one_class, {}, Quick(1)), "the training data has a single class (low): nothing to learn");

  TrainOptions o = Quick(2);
  o.checkpoint_dir = (dir / "ck").string();
  Train(m, train, {}, o);
  // Resume with another class list.
  ModelCard other = card;
  other.classes = {"x", "y", "z"};
  Model m2 = Model::Create(other, 1);
  o.resume = true;
  o.epochs = 3;
  CHECK_THROWS_WITH(Train(m2, train, {}, o),
                    Catch::StartsWith((dir / "ck/last.ckpt").string() +
                                      ": cannot resume: the checkpoint has classes [low,high,mid]"));
  // Resume with another architecture.
  ModelCard wider = card;
  wider.arch.hidden = {32};
  Model m3 = Model::Create(wider, 1);
  CHECK_THROWS_WITH(Train(m3, train, {}, o), (dir / "ck/last.ckpt").string() +
                                                 ": cannot resume: the checkpoint has another architecture or input");
  // A truncated checkpoint.
  const std::string bytes = test::ReadBytes(dir / "ck/last.ckpt");
  test::WriteBytes(dir / "ck/last.ckpt", bytes.substr(0, bytes.size() / 2));
  Model m4 = Model::Create(card, 1);
  CHECK_THROWS_WITH(Train(m4, train, {}, o), (dir / "ck/last.ckpt").string() + ": truncated or corrupt checkpoint");
  o.resume = true;
  o.checkpoint_dir = (dir / "empty").string();
  CHECK_THROWS_WITH(Train(m4, train, {}, o), (dir / "empty/last.ckpt").string() + ": no checkpoint to resume from");
  o = Quick(0);
  CHECK_THROWS_AS(Train(m4, train, {}, o), OptionError);
  // Every checkpoint problem is a CheckpointError (a ModelError: exit 3), whatever its text.
  o = Quick(3);
  o.resume = true;
  o.checkpoint_dir = (dir / "empty").string();
  CHECK_THROWS_AS(Train(m4, train, {}, o), CheckpointError);
  o.checkpoint_dir = (dir / "ck").string();
  CHECK_THROWS_AS(Train(m4, train, {}, o), CheckpointError);
  CHECK_THROWS_AS(Train(m2, train, {}, o), CheckpointError);
}

TEST_CASE("architecture and input options are validated with field, value and range", "[model][errors]") {
  // Defect 3 of issue 14: --dropout 1.5 or --channels 0 aborted genre-train after loading the data.
  auto message = [](const ArchOptions& a) { return test::MessageOf<OptionError>([&] { a.Validate(); }); };
  ArchOptions a = DefaultArch("cnn2d");
  a.dropout = 1.5;
  CHECK(message(a) == "dropout must be in [0, 1), got 1.5");
  a = DefaultArch("cnn2d");
  a.channels = {16, 0};
  CHECK(message(a) == "channels must be in [1, 1024], got 0");
  a.channels = {};
  CHECK(message(a) == "channels must be at least one block for cnn2d, got none");
  a = DefaultArch("mlp");
  a.hidden = {128, -4};
  CHECK(message(a) == "hidden must be in [1, 8192], got -4");
  a = DefaultArch("cnn1d");
  a.kernel = 0;
  CHECK(message(a) == "kernel must be in [1, 31], got 0");
  CHECK_THROWS_AS(DefaultArch("resnet"), OptionError);

  ModelCard card = Card("cnn2d");
  auto input = [](const InputSpec& in) { return test::MessageOf<OptionError>([&] { in.Validate(); }); };
  InputSpec in = card.input;
  in.window = 0;
  CHECK(input(in) == "window must be in [1, 16777216], got 0");
  in = card.input;
  in.hop = -3;
  CHECK(input(in) == "hop must be in [1, 16777216], got -3");
  in = card.input;
  in.kind = "spectrum";
  CHECK_THROWS_AS(in.Validate(), OptionError);
  // Four 2x2 pools need windows of at least 16 columns and 16 rows.
  card.arch.channels = {4, 4, 4, 4, 4};
  CHECK(test::MessageOf<OptionError>([&] { ValidateFit(card.arch, card.input); }) ==
        "input rows must be >= 2^blocks (32) for cnn2d, got 16");
  // A card that breaks any of these is refused as a model problem.
  CHECK_THROWS_AS(Model::Create(card, 1), ModelError);
}

TEST_CASE("a model file whose standardisation or weights are not numbers is refused", "[model][errors]") {
  test::TempDir dir;
  ModelCard card = Card("mlp");
  card.mean.assign(48, 0.0f);
  card.stdev.assign(48, 1.0f);
  const std::string path = (dir / "a.gmdl").string();
  Model::Create(card, 1).Save(path);
  ModelFileContents contents = ReadModelFile(path);
  contents.card.stdev[3] = 0.0f;  // would divide by zero: every answer NaN
  CHECK_THROWS_WITH(Model::FromContents(contents, "x.gmdl"),
                    "x.gmdl: invalid model card: standardisation of row 3 is not a finite mean and a finite stdev > 0");
  // Weights that are not numbers: a run that diverged (a learning rate of 1e30).
  Model m = Model::Create(card, 1);
  TrainOptions o = Quick(2);
  o.lr = 1e30;
  Train(m, Synthetic(card, 3, 1), {}, o);
  // Such weights are never written (a tensor table holds finite values only; the reader
  // refuses others: tensors_test), and no file is left behind.
  const std::string poisoned = (dir / "nan.gmdl").string();
  CHECK_THROWS_WITH(m.Save(poisoned), Catch::StartsWith(poisoned + ": tensor table: tensor 'head.") &&
                                          Catch::Contains("holds NaN or an infinite value"));
  CHECK_FALSE(std::filesystem::exists(poisoned));
}

}  // namespace genre

#include "genre/model/classifier.h"

namespace genre {

TEST_CASE("a model with another front end (64 bands, 16 kHz) is served with exactly it", "[model][classifier]") {
  test::TempDir dir;
  ModelCard card = Card("cnn2d");
  card.input.front_end.sample_rate = 16000;
  card.input.front_end.mel.n_mels = 64;
  card.input.rows = 64;
  card.mean.assign(64, -40.0f);
  card.stdev.assign(64, 20.0f);
  const std::string path = (dir / "m64.gmdl").string();
  Model::Create(card, 2).Save(path);

  const auto model = Network::Load(path);
  const Classifier classifier(model);
  const std::string audio = test::Input("synth_44k_stereo.flac").string();
  ClassifyOptions o;
  o.timeline = true;
  const Classification c = classifier.ClassifyFile(audio, o);

  // By hand: decode at 16 kHz, 64-band log-mel, the model's windows, mean probabilities.
  AudioReadOptions read;
  read.sample_rate = 16000;
  const Matrix x = InputFromAudio(LoadAudio(audio, read), model->card().input);
  REQUIRE(x.rows == 64);
  const auto windows = Windows(model->card(), x);
  const auto probs = model->Predict(windows);
  REQUIRE(c.windows == windows.size());
  for (std::size_t k = 0; k < 3; ++k) {
    float mean = 0;
    for (const auto& p : probs) mean += p[k] / static_cast<float>(probs.size());
    CHECK(c.probs[k] == Approx(mean).epsilon(1e-6));
  }
  CHECK(c.probs[0] + c.probs[1] + c.probs[2] == Approx(1.0).epsilon(1e-5));
  REQUIRE(c.timeline.size() == windows.size());
  CHECK(c.timeline[1].start_s == Approx(12 * 512.0 / 16000));  // hop 12 frames at 16 kHz
  CHECK(c.duration_s == Approx(LoadAudio(audio, read).duration_s()));
  CHECK(!c.silent);
  CHECK(c.peak > 0.01f);
  CHECK(c.picture.pixels.empty());  // only when asked for

  // The picture (genre-serve's ?picture=1): the model's own 64-band log-mel, the same
  // classification with it.
  o.picture_columns = 20;
  const Classification pictured = classifier.ClassifyFile(audio, o);
  CHECK(pictured.probs == c.probs);
  CHECK(pictured.peak == c.peak);
  REQUIRE(pictured.picture.bands == 64);
  REQUIRE(pictured.picture.columns == 20);
  CHECK(pictured.picture.pixels.size() == 64 * 20);
  CHECK(*std::max_element(pictured.picture.pixels.begin(), pictured.picture.pixels.end()) > 200);
  CHECK(pictured.picture.seconds_per_column * 20 == Approx(c.duration_s).epsilon(0.05));

  CHECK_THROWS_WITH(classifier.ClassifyFile((dir / "none.wav").string()),
                    (dir / "none.wav").string() + ": cannot open: No such file or directory");
}

TEST_CASE("a silent song is marked silent with its peak, classify options are validated", "[model][classifier]") {
  // Defect 5 of issue 14: 30 s of digital silence came back "classical 97 %".
  test::TempDir dir;
  ModelCard card = Card("cnn2d");
  card.mean.assign(16, -40.0f);
  card.stdev.assign(16, 20.0f);
  const Classifier classifier(ToNetwork(Model::Create(card, 2)));
  Waveform w;
  w.sample_rate = 22050;
  w.samples.assign(22050 * 3, 0.0f);
  Classification c = classifier.ClassifyAudio(w);
  CHECK(c.silent);
  CHECK(c.peak == 0.0f);
  w.samples[100] = 2e-4f;  // -74 dBFS: below the -70 dBFS floor
  c = classifier.ClassifyAudio(w);
  CHECK(c.silent);
  CHECK(c.peak == 2e-4f);
  ClassifyOptions o;
  o.silence_dbfs = -80;
  CHECK_FALSE(classifier.ClassifyAudio(w, o).silent);
  w.samples[100] = 0.01f;  // -40 dBFS
  CHECK_FALSE(classifier.ClassifyAudio(w).silent);
  // From a file: the decoder's peak (before resampling).
  const Classification song = classifier.ClassifyFile(test::Input("blues.00000.flac").string());
  CHECK_FALSE(song.silent);
  CHECK(song.peak > 0.1f);
  CHECK(classifier.ClassifyFile(test::Input("silence_3s.wav").string()).silent);

  auto message = [&](const ClassifyOptions& bad) {
    return test::MessageOf<OptionError>(
        [&] { classifier.ClassifyFile(test::Input("blues.00000.flac").string(), bad); });
  };
  o = {};
  o.offset_s = -1;
  CHECK(message(o) == "offset must be >= 0 seconds, got -1");
  o = {};
  o.duration_s = 0;
  CHECK(message(o) == "duration must be > 0 seconds (< 0: to the end), got 0");
  o = {};
  o.hop_s = -0.5;
  CHECK(message(o) == "hop must be > 0 seconds (0: the model's), got -0.5");
  o = {};
  o.silence_dbfs = 3;
  CHECK(message(o) == "silence must be in [-200, 0] dBFS, got 3");
}

TEST_CASE("an ensemble file classifies a song as the mean of its members", "[model][classifier]") {
  test::TempDir dir;
  // Two log-mel members with other genre orders and other hops, and a song-vector (gtzan) member.
  ModelCard a = Card("cnn2d");
  ModelCard b = Card("cnn2d");
  b.classes = {"mid", "low", "high"};
  b.input.hop = 5;
  ModelCard v = Card("mlp");
  v.input.kind = "gtzan";
  v.input.rows = InputRows(v.input);
  const std::string pa = (dir / "a.gmdl").string(), pb = (dir / "b.gmdl").string(), pv = (dir / "v.gmdl").string(),
                    pe = (dir / "e.gmdl").string();
  Model::Create(a, 1).Save(pa);
  Model::Create(b, 2).Save(pb);
  Model::Create(v, 3).Save(pv);
  ModelCard card;
  card.name = "e";
  WriteEnsembleFile(pe, {pa, pb, pv}, card);

  auto ensemble = std::make_shared<const Model>(Model::Load(pe));
  REQUIRE(ensemble->is_ensemble());
  REQUIRE(ensemble->members().size() == 3);
  CHECK(ensemble->parameters() ==
        Model::Load(pa).parameters() + Model::Load(pb).parameters() + Model::Load(pv).parameters());
  CHECK(ensemble->WeightsHash() != Model::Load(pa).WeightsHash());
  CHECK_THROWS_AS(ensemble->Predict({Matrix(16, 24)}), OptionError);
  CHECK_THROWS_AS(Model::Create(ensemble->card(), 1), OptionError);

  const std::string audio = test::Input("blues.00000.flac").string();
  ClassifyOptions o;
  o.timeline = true;
  o.duration_s = 8;
  const Classification c = Classifier(ToNetwork(*ensemble)).ClassifyFile(audio, o);
  Classification parts[3];
  const std::string paths[3] = {pa, pb, pv};
  for (int m = 0; m < 3; ++m) parts[m] = Classifier(Network::Load(paths[m])).ClassifyFile(audio, o);
  // classes low, high, mid; b's order is mid, low, high.
  const std::size_t in_b[3] = {1, 2, 0};
  for (std::size_t k = 0; k < 3; ++k)
    CHECK(c.probs[k] == Approx((parts[0].probs[k] + parts[1].probs[in_b[k]] + parts[2].probs[k]) / 3).epsilon(1e-5));
  CHECK(c.probs[0] + c.probs[1] + c.probs[2] == Approx(1.0).epsilon(1e-5));
  // Windows and timeline: those of the member with the most windows (b, hop 5), in the ensemble's genre order.
  CHECK(c.windows == parts[1].windows);
  REQUIRE(c.timeline.size() == parts[1].timeline.size());
  CHECK(c.timeline[2].probs[0] == parts[1].timeline[2].probs[1]);
  CHECK(c.duration_s == Approx(8.0).margin(1e-3));
  // Saved again: the same ensemble.
  ensemble->Save((dir / "again.gmdl").string());
  CHECK(Model::Load((dir / "again.gmdl").string()).WeightsHash() == ensemble->WeightsHash());
  // A hop in seconds is each member's own number of columns.
  o.hop_s = 1.0;
  const std::size_t windows = Classifier(Network::Load(pa)).ClassifyFile(audio, o).windows;
  CHECK(windows < parts[0].windows);
  CHECK(Classifier(ToNetwork(*ensemble)).ClassifyFile(audio, o).windows == windows);
}

TEST_CASE("a GTZAN-vector model reads a long song as 30-s clips back to back", "[model][classifier]") {
  ModelCard card = Card("mlp");
  card.input.kind = "gtzan";
  card.input.rows = InputRows(card.input);
  const Classifier classifier(ToNetwork(Model::Create(card, 4)));
  const Waveform clip = LoadAudio(test::Input("blues.00000.flac").string());
  REQUIRE(clip.samples.size() == kGtzanClipSamples);
  ClassifyOptions o;
  o.timeline = true;
  const Classification one = classifier.ClassifyAudio(clip, o);
  CHECK(one.windows == 1);
  // The clip three times over: three clips, each the same vector, so the same probabilities.
  Waveform three = clip;
  for (int i = 0; i < 2; ++i) three.samples.insert(three.samples.end(), clip.samples.begin(), clip.samples.end());
  const Classification c = classifier.ClassifyAudio(three, o);
  REQUIRE(c.windows == 3);
  CHECK(c.timeline[1].start_s == Approx(kGtzanClipSamples / 22050.0));
  CHECK(c.timeline[2].start_s == Approx(2 * kGtzanClipSamples / 22050.0));
  CHECK(c.duration_s == Approx(3 * kGtzanClipSamples / 22050.0));
  for (std::size_t k = 0; k < 3; ++k) CHECK(c.probs[k] == Approx(one.probs[k]).epsilon(1e-5));
  // A tail under half a clip joins the clip before it: 1.4 clips are one window.
  Waveform longer = clip;
  longer.samples.insert(longer.samples.end(), clip.samples.begin(), clip.samples.begin() + kGtzanClipSamples * 2 / 5);
  CHECK(classifier.ClassifyAudio(longer, o).windows == 1);
  longer.samples.insert(longer.samples.end(), clip.samples.begin(), clip.samples.begin() + kGtzanClipSamples / 5);
  CHECK(classifier.ClassifyAudio(longer, o).windows == 2);
}

}  // namespace genre
