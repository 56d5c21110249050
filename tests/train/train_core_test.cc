#include <catch2/catch.hpp>

#include <filesystem>

#include "genre/error.h"
#include "genre/model/card.h"
#include "genre/train/metrics.h"
#include "genre/train/schedule.h"
#include "genre/train/windows.h"
#include "support.h"

namespace genre {

TEST_CASE("metrics: confusion, per-class precision / recall / F1, macro-F1", "[train][metrics]") {
  // truth:     a a a b b c
  // predicted: a a b b a a
  const Metrics m = ComputeMetrics({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 0, 0}, {"a", "b", "c"});
  CHECK(m.n == 6);
  CHECK(m.accuracy == Approx(3.0 / 6));
  CHECK(m.confusion == std::vector<std::vector<std::size_t>>{{2, 1, 0}, {1, 1, 0}, {1, 0, 0}});
  CHECK(m.per_class[0].precision == Approx(2.0 / 4));
  CHECK(m.per_class[0].recall == Approx(2.0 / 3));
  CHECK(m.per_class[0].f1 == Approx(2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3)));
  CHECK(m.per_class[1].f1 == Approx(0.5));
  CHECK(m.per_class[2].f1 == 0.0);  // never predicted
  CHECK(m.macro_f1 == Approx((m.per_class[0].f1 + 0.5 + 0.0) / 3));
  CHECK(ConfusionTable(m) ==
        "true\\pred  a  b  c\n"
        "a          2  1  0\n"
        "b          1  1  0\n"
        "c          1  0  0\n");
  CHECK(ConfusionCsv(m) == "true\\predicted,a,b,c\na,2,1,0\nb,1,1,0\nc,1,0,0\n");
  CHECK(ToJson(m)["confusion"][0][1] == 1);
  CHECK_THROWS_AS(ComputeMetrics({0}, {3}, {"a", "b"}), OptionError);
  CHECK_THROWS_AS(ComputeMetrics({0, 1}, {0}, {"a", "b"}), OptionError);
}

TEST_CASE("balanced class weights are n / (k * n_c)", "[train][schedule]") {
  const std::vector<double> w = BalancedClassWeights({0, 0, 0, 1, 2, 2}, 4);
  REQUIRE(w.size() == 4);
  CHECK(w[0] == Approx(6.0 / (4 * 3)));
  CHECK(w[1] == Approx(6.0 / (4 * 1)));
  CHECK(w[2] == Approx(6.0 / (4 * 2)));
  CHECK(w[3] == 0.0);  // absent class
  CHECK_THROWS_AS(BalancedClassWeights({0, 5}, 2), OptionError);
}

TEST_CASE("early stopping fires after `patience` epochs without improvement", "[train][schedule]") {
  EarlyStopping es({3, 0.01, true});
  const double losses[] = {1.0, 0.9, 0.895, 0.91, 0.92};
  bool best[5];
  for (int e = 0; e < 5; ++e) {
    REQUIRE_FALSE(es.ShouldStop());
    best[e] = es.Update(losses[e], e + 1);
  }
  CHECK(best[0]);
  CHECK(best[1]);
  CHECK_FALSE(best[2]);  // 0.005 better: not more than min_delta
  CHECK(es.best_epoch() == 2);
  CHECK(es.ShouldStop());
  CHECK_THROWS_AS(EarlyStopping({0, 0.0, true}), OptionError);
}

TEST_CASE("ReduceLROnPlateau halves the rate after patience bad epochs, not below min_lr", "[train][schedule]") {
  PlateauScheduler s({0.5, 2, 1e-4, 0.2});
  double lr = 1.0;
  std::vector<double> seen;
  for (double loss : {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}) {
    lr = s.Step(loss, lr);
    seen.push_back(lr);
  }
  CHECK(seen == std::vector<double>{1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2});
  CHECK_THROWS_AS(PlateauScheduler({1.5, 2, 1e-4, 0}), OptionError);
}

TEST_CASE("windows cover the matrix, the last one flush with the end", "[train][windows]") {
  CHECK(WindowStarts(100, 130, 65) == std::vector<std::size_t>{0});
  CHECK(WindowStarts(130, 130, 65) == std::vector<std::size_t>{0});
  CHECK(WindowStarts(300, 130, 65) == std::vector<std::size_t>{0, 65, 130, 170});
  CHECK_THROWS_AS(WindowStarts(10, 0, 1), OptionError);
  Matrix x(2, 3);
  x.data = {1, 2, 3, 4, 5, 6};
  const Matrix w = Window(x, 1, 4, -9);
  CHECK(w.data == std::vector<float>{2, 3, -9, -9, 5, 6, -9, -9});
  CHECK(MinValue(x) == 1);
}

namespace {
ModelCard SmallCard() {
  ModelCard c;
  c.name = "test";
  c.classes = {"a", "b"};
  c.input.front_end.mel.n_mels = 16;
  c.input.front_end.mfcc.n_mfcc = 13;
  c.input.rows = 16;
  c.input.window = 20;
  c.input.hop = 10;
  c.arch = DefaultArch("cnn2d");
  c.mean.assign(16, 0.0f);
  c.stdev.assign(16, 1.0f);
  return c;
}
}  // namespace

TEST_CASE("model file container: round trip, truncation, corruption, versions", "[model][card]") {
  test::TempDir dir;
  const std::string path = (dir / "m.gmdl").string();
  ModelCard card = SmallCard();
  card.training = {{"note", "x"}};
  WriteModelFile(path, card, std::string("weights\0bytes", 13));
  const ModelFileContents back = ReadModelFile(path);
  CHECK(back.weights == std::string("weights\0bytes", 13));
  CHECK(ToJson(back.card) == ToJson(card));
  CHECK(ReadModelCard(path).input.front_end.mel.n_mels == 16);

  const std::string bytes = test::ReadBytes(path);
  test::WriteBytes(dir / "cut.gmdl", bytes.substr(0, bytes.size() - 5));
  CHECK_THROWS_WITH(ReadModelFile((dir / "cut.gmdl").string()),
                    Catch::StartsWith((dir / "cut.gmdl").string() + ": truncated model file"));
  std::string flipped = bytes;
  flipped[bytes.size() - 12] ^= 1;
  test::WriteBytes(dir / "flip.gmdl", flipped);
  CHECK_THROWS_WITH(ReadModelFile((dir / "flip.gmdl").string()),
                    (dir / "flip.gmdl").string() + ": corrupt model file (content hash mismatch)");
  CHECK(bytes[8] == kModelFormatVersion);  // whatever the card said
  std::string v3 = bytes;
  v3[8] = 3;
  test::WriteBytes(dir / "v3.gmdl", v3);
  CHECK_THROWS_WITH(ReadModelFile((dir / "v3.gmdl").string()),
                    (dir / "v3.gmdl").string() + ": model format_version 3 is not supported (this build reads 1 to 2)");
  std::string v0 = bytes;
  v0[8] = 0;
  test::WriteBytes(dir / "v0.gmdl", v0);
  CHECK_THROWS_WITH(ReadModelFile((dir / "v0.gmdl").string()),
                    (dir / "v0.gmdl").string() + ": model format_version 0 is not supported (this build reads 1 to 2)");
  // A version 1 container must hold a version 1 card (the hash is over card and weights only).
  std::string v1 = bytes;
  v1[8] = 1;
  test::WriteBytes(dir / "v1.gmdl", v1);
  CHECK_THROWS_WITH(ReadModelFile((dir / "v1.gmdl").string()),
                    (dir / "v1.gmdl").string() + ": invalid model card: format_version 2 in a format_version 1 file");
  CHECK_THROWS_WITH(ReadModelFile(test::Input("short_0.3s.wav").string()),
                    test::Input("short_0.3s.wav").string() + ": not a genre model file");
  CHECK_THROWS_AS(ReadModelFile((dir / "none.gmdl").string()), ModelError);

  ModelCard bad = SmallCard();
  bad.classes = {"only"};
  CHECK_THROWS_WITH(WriteModelFile(path, bad, ""), path + ": invalid model card: needs at least 2 classes, has 1");
  bad = SmallCard();
  bad.input.kind = "vector";
  CHECK_THROWS_AS(WriteModelFile(path, bad, ""), ModelError);
}

TEST_CASE("a card's numbers must fit their types (found by fuzz_model)", "[model][card][errors]") {
  // get<int>() of 2e70 is undefined behaviour; get<float>() of 1e300 too: both are refused.
  nlohmann::json j = ToJson(SmallCard());
  j["input"]["window"] = 2.04811e+70;
  CHECK_THROWS_WITH(CardFromJson(j, "m.gmdl"),
                    "m.gmdl: invalid model card: window must be an integer in int's range, got 2.04811e+70");
  j = ToJson(SmallCard());
  j["arch"]["hidden"] = {8, 4294967296LL};
  CHECK_THROWS_AS(CardFromJson(j, "m.gmdl"), ModelError);
  j = ToJson(SmallCard());
  j["standardisation"]["std"][0] = 1e300;
  CHECK_THROWS_WITH(CardFromJson(j, "m.gmdl"),
                    "m.gmdl: invalid model card: standardisation std must hold numbers in float's range, got 1e+300");
  j = ToJson(SmallCard());
  j["input"]["front_end"]["n_fft"] = -1e20;
  CHECK_THROWS_AS(CardFromJson(j, "m.gmdl"), ModelError);
  CHECK_NOTHROW(CardFromJson(ToJson(SmallCard()), "m.gmdl"));
}

TEST_CASE("ensemble files: members whole inside, genres matched by name, bad ensembles refused", "[model][card]") {
  test::TempDir dir;
  const std::string a = (dir / "a.gmdl").string(), b = (dir / "b.gmdl").string(), e = (dir / "e.gmdl").string();
  ModelCard ca = SmallCard(), cb = SmallCard();
  ca.name.append("a");  // "testa"; append: GCC 12 warns falsely (-Wrestrict) on assigning short literals
  cb.name.append("b");
  cb.classes = {"b", "a"};  // same genres, another order
  cb.training = {{"command", "genre-train train x"}, {"history", {1, 2, 3}}};
  WriteModelFile(a, ca, "weights of a");
  WriteModelFile(b, cb, "weights of b");
  ModelCard card;
  card.name = "both";
  card.git_commit = "abc";
  const ModelCard written = WriteEnsembleFile(e, {a, b}, card);
  CHECK(written.IsEnsemble());
  CHECK(written.classes == ca.classes);  // the first member's order

  const ModelFileContents back = ReadModelFile(e);
  CHECK(back.card.IsEnsemble());
  CHECK(back.card.name == "both");
  CHECK(back.card.git_commit == "abc");
  REQUIRE(back.card.training["members"].size() == 2);
  CHECK(back.card.training["members"][1]["name"] == "testb");
  CHECK(back.card.training["members"][1]["training"]["command"] == "genre-train train x");
  CHECK_FALSE(back.card.training["members"][1]["training"].contains("history"));
  const std::vector<EnsembleMember> members = EnsembleMembers(back, e);
  REQUIRE(members.size() == 2);
  CHECK(members[0].contents.weights == "weights of a");
  CHECK(ToJson(members[1].contents.card) == ToJson(ReadModelCard(b)));
  CHECK(members[1].where == e + " (member 2)");

  // Other genres, a nested ensemble, a single member: refused when written.
  ModelCard other = SmallCard();
  other.classes = {"a", "pop"};
  WriteModelFile((dir / "o.gmdl").string(), other, "w");
  CHECK_THROWS_WITH(WriteEnsembleFile((dir / "x.gmdl").string(), {a, (dir / "o.gmdl").string()}, card),
                    (dir / "o.gmdl").string() + ": its genres differ from those of " + a);
  CHECK_THROWS_WITH(WriteEnsembleFile((dir / "x.gmdl").string(), {a, e}, card),
                    e + ": an ensemble cannot hold an ensemble");
  CHECK_THROWS_AS(WriteEnsembleFile((dir / "x.gmdl").string(), {a}, card), OptionError);
  CHECK_FALSE(std::filesystem::exists(dir / "x.gmdl"));
  // A member cut short inside a valid container: named by its position.
  ModelFileContents cut = back;
  cut.weights.resize(cut.weights.size() - 3);
  CHECK_THROWS_WITH(EnsembleMembers(cut, e), Catch::StartsWith(e + ": ensemble member 2 is truncated"));
  cut.weights.resize(cut.weights.size() / 2 - 20);
  CHECK_THROWS_AS(EnsembleMembers(cut, e), ModelError);
  // An ensemble card needs both kinds.
  ModelCard half = back.card;
  half.input.kind = "logmel";
  CHECK_THROWS_WITH(half.Validate("h"), "h: invalid model card: an ensemble has arch and input kind 'ensemble'");
}

}  // namespace genre
