// Fine-tuning the last blocks of a model on the MSD convnet: the cached prefix reads
// songs exactly as genre-guess does, training moves only the last blocks and the
// head, and the trained model classifies as its training saw it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include "genre/audio/audio_reader.h"
#include "genre/error.h"
#include "genre/infer/network.h"
#include "genre/model/classifier.h"
#include "genre/model/model.h"
#include "genre/train/finetune.h"
#include "support.h"

namespace genre {

namespace {

std::string Bundled(const std::string& name) { return (test::DataDir() / ".." / ".." / "models" / name).string(); }

Waveform Song(const std::string& clip) {
  AudioReadOptions read;
  read.sample_rate = 12000;
  return LoadAudio(test::Input(clip + ".flac").string(), read);
}

int Label(const Model& m, const std::string& genre) {
  const auto& c = m.card().classes;
  return static_cast<int>(std::find(c.begin(), c.end(), genre) - c.begin());
}

Example PrefixExample(const Model& m, int trained, const std::string& clip, int variants = 0) {
  const std::string genre = clip.substr(0, clip.find('.'));
  return {FineTunePrefix(m, trained, Song(clip), variants), Label(m, genre), clip};
}

std::vector<float> Guess(const Model& m, const std::string& clip) {
  return Classifier(ToNetwork(m)).ClassifyAudio(Song(clip)).probs;
}

void CheckClose(const std::vector<float>& a, const std::vector<float>& b, double tol) {
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == Approx(b[k]).margin(tol));
}

}  // namespace

TEST_CASE("a fine-tuning prefix reads a song as genre-guess does", "[model][finetune]") {
  Model m = Model::Load(Bundled("default.gmdl"));
  // Shorter windows than the card's 29 s, so the 30-s clip has several, and a tail.
  m.card().input.window = 12 * 12000;
  m.card().input.hop = 7 * 12000;
  for (int trained : {1, 2, 4}) {
    const Example e = PrefixExample(m, trained, "metal.00002");
    const auto probs = PredictFromPrefixes(m, trained, {e});
    INFO("trained blocks " << trained);
    CheckClose(probs[0], Guess(m, "metal.00002"), 2e-5);
  }
  // The layout: variant, window, the frozen blocks' 3 x 32 averages, 32 channels x 8 bands (96 / 2 / 3 / 2).
  const Example two = PrefixExample(m, 2, "blues.00000", /*variants=*/1);
  REQUIRE(two.x.rows == 2 + 96 + 32 * 8);
  std::set<float> variants, windows;
  for (std::size_t c = 0; c < two.x.cols; ++c) {
    variants.insert(two.x(0, c));
    if (two.x(0, c) == 0) windows.insert(two.x(1, c));
  }
  CHECK(variants == std::set<float>{0, 1});
  CHECK(windows == std::set<float>{0, 1, 2});  // starts 0, 7, 14 s; the last takes the 4-s tail (< 6.8 s)
}

TEST_CASE("fine-tuning trains the last blocks and the head only, and genre-guess reads the result",
          "[model][finetune]") {
  Model m = Model::Load(Bundled("default.gmdl"));
  const int trained = 2;
  const std::string frozen = FineTunePrefixId(m, trained, 0, {});
  const std::string before = m.WeightsHash();
  std::vector<Example> train;
  for (const char* clip : {"blues.00000", "classical.00001", "metal.00002"})
    train.push_back(PrefixExample(m, trained, clip, /*variants=*/1));
  FineTuneOptions o;
  o.blocks = trained;
  o.epochs = 6;
  o.batch = 2;
  o.lr = 1e-3;
  o.threads = 1;
  const FineTuneResult r = FineTune(m, train, {}, o);
  REQUIRE(r.history.size() == 6);
  CHECK(r.history.back().train_loss < r.history.front().train_loss);
  CHECK(r.best_epoch >= 1);
  CHECK(m.WeightsHash() != before);
  CHECK(FineTunePrefixId(m, trained, 0, {}) == frozen);  // front end and first blocks untouched
  CHECK(FineTunePrefixId(m, 1, 0, {}) != FineTunePrefixId(Model::Load(Bundled("default.gmdl")), 1, 0, {}));
  // The trained model through the classifier = what training measured, and the file keeps it.
  const auto from_prefix = PredictFromPrefixes(m, trained, {train[2]});
  CheckClose(from_prefix[0], Guess(m, "metal.00002"), 2e-5);
  const auto path = std::filesystem::temp_directory_path() / "genre-finetune-test.gmdl";
  m.Save(path.string());
  const Model back = Model::Load(path.string());
  std::filesystem::remove(path);
  CheckClose(Guess(back, "metal.00002"), from_prefix[0], 1e-6);
}

TEST_CASE("fine-tuning refuses what it cannot do, with one clear message", "[model][finetune]") {
  const Model m = Model::Load(Bundled("default.gmdl"));
  const Model backbone = Model::Load(Bundled("msd-convnet.gmdl"));
  CHECK_THROWS_AS(FineTunePrefix(backbone, 2, Song("blues.00000"), 0), OptionError);  // tags, no genre head
  CHECK_THROWS_AS(FineTunePrefix(m, 0, Song("blues.00000"), 0), OptionError);
  CHECK_THROWS_AS(FineTunePrefix(m, 5, Song("blues.00000"), 0), OptionError);
  Waveform wrong_rate = Song("blues.00000");
  wrong_rate.sample_rate = 22050;
  CHECK_THROWS_AS(FineTunePrefix(m, 2, wrong_rate, 0), InputError);
  FineTuneOptions o;
  o.lr = 0;
  CHECK_THROWS_AS(o.Validate(), OptionError);
  o = {};
  o.batch = 0;
  CHECK_THROWS_AS(o.Validate(), OptionError);
  // A prefix made for 1 trained block does not fit a run that trains 2.
  Model copy = Model::Load(Bundled("default.gmdl"));
  const std::vector<Example> one{PrefixExample(copy, 1, "blues.00000")};
  const std::string msg = test::MessageOf<InputError>([&] { FineTune(copy, one, {}, FineTuneOptions{}); });
  CHECK_THAT(msg, Catch::Contains("blues.00000") && Catch::Contains("rows"));
  CHECK_THROWS_AS(FineTune(copy, {}, {}, FineTuneOptions{}), InputError);
  std::vector<Example> bad{PrefixExample(copy, 2, "blues.00000")};
  bad[0].label = 10;
  CHECK_THROWS_AS(FineTune(copy, bad, {}, FineTuneOptions{}), InputError);
}

}  // namespace genre
