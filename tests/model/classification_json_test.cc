// The JSON record of a classified song (genre-guess --format json, genre-serve) and the
// spectrogram picture it may carry.
#include "genre/model/classification_json.h"

#include "support.h"

namespace genre {
namespace {

TEST_CASE("Base64: RFC 4648 test vectors", "[json]") {
  auto b64 = [](const std::string& s) { return Base64(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("PictureOf: columns are frame means 255 the loudest 80 dB below it 0 band 0 lowest", "[json]") {
  // 8 frames x 2 bands: band 0 at -10 dB then 0 dB (frames 4-7), band 1 at -100 dB.
  Matrix fm(8, 2);
  for (std::size_t f = 0; f < 8; ++f) {
    fm(f, 0) = f < 4 ? -10.0f : 0.0f;
    fm(f, 1) = -100.0f;
  }
  const Spectrogram p = PictureOf(fm, 0.5, 2);
  REQUIRE(p.bands == 2);
  REQUIRE(p.columns == 2);
  CHECK(p.seconds_per_column == Approx(2.0));
  CHECK(p.max_db == 0.0f);
  CHECK(p.min_db == -80.0f);
  REQUIRE(p.pixels.size() == 4);
  CHECK(p.pixels[0] == 223);  // band 0, column 0: -10 dB -> 255 * 70 / 80 = 223.1
  CHECK(p.pixels[1] == 255);  // band 0, column 1: 0 dB
  CHECK(p.pixels[2] == 0);    // band 1: below the floor
  CHECK(p.pixels[3] == 0);
  // Never wider than the frames; nothing from nothing.
  CHECK(PictureOf(fm, 0.5, 100).columns == 8);
  CHECK(PictureOf(Matrix(), 0.5, 10).pixels.empty());
  CHECK(PictureOf(fm, 0.5, 0).pixels.empty());
  // Flat (silence, all at the reference): black, not white.
  const Spectrogram flat = PictureOf(Matrix(8, 2, 0.0f), 0.5, 4);
  CHECK(flat.pixels == std::vector<std::uint8_t>(8, 0));
}

TEST_CASE("ToJson(ClassifiedSong): ranked top-N every probability timeline errors silence", "[json]") {
  ModelCard card;
  card.name = "m";
  card.classes = {"a", "b", "c"};
  ClassifiedSong s;
  s.path = "x.flac";
  s.result.probs = {0.2f, 0.7f, 0.1f};
  s.result.windows = 2;
  s.result.peak = 0.5f;
  s.result.timeline = {{0.0, {0.1f, 0.8f, 0.1f}}, {1.5, {0.6f, 0.3f, 0.1f}}};
  nlohmann::json j = ToJson(s, card, 2, true);
  CHECK(j.at("status") == "ok");
  REQUIRE(j.at("top").size() == 2);
  CHECK(j.at("top")[0].at("genre") == "b");
  CHECK(j.at("top")[1].at("genre") == "a");
  CHECK(j.at("probabilities").size() == 3);
  CHECK(j.at("peak_dbfs").get<double>() == Approx(-6.0206).margin(1e-4));
  REQUIRE(j.at("timeline").size() == 2);
  CHECK(j.at("timeline")[1].at("genre") == "a");
  CHECK(j.at("timeline")[1].at("start_s") == 1.5);
  CHECK(!j.contains("spectrogram"));
  CHECK(!ToJson(s, card, 2, false).contains("timeline"));

  s.result.picture = PictureOf(Matrix(4, 3, -1.0f), 0.1, 4);
  CHECK(ToJson(s, card, 1, false).at("spectrogram").at("pixels") == Base64(s.result.picture.pixels.data(), 12));

  s.result.silent = true;
  j = ToJson(s, card, 2, true);
  CHECK(j.at("top").empty());
  CHECK(j.at("probabilities").empty());
  CHECK(!j.contains("timeline"));

  s.error = "x.flac: not a readable audio stream";
  j = ToJson(s, card, 2, true);
  CHECK(j.at("status") == "error");
  CHECK(j.at("error") == s.error);
  CHECK(!j.contains("top"));
}

}  // namespace
}  // namespace genre
