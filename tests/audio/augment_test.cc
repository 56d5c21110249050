// Audio augmentation: each transform does what it says, variants are reproducible.
#include "genre/audio/augment.h"

#include <catch2/catch.hpp>

#include <cmath>

#include "genre/audio/audio_reader.h"
#include "genre/error.h"
#include "support.h"

namespace genre {

namespace {
std::vector<float> Sine(double hz, int sr, double seconds, double amplitude = 0.5) {
  std::vector<float> y(static_cast<std::size_t>(sr * seconds));
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * hz * i / sr));
  return y;
}
// Frequency from upward zero crossings over the middle half (edges skipped).
double Frequency(const std::vector<float>& y, int sr) {
  const std::size_t a = y.size() / 4, b = 3 * y.size() / 4;
  int crossings = 0;
  for (std::size_t i = a + 1; i < b; ++i) crossings += y[i - 1] < 0 && y[i] >= 0;
  return crossings * static_cast<double>(sr) / static_cast<double>(b - a);
}
double Rms(const std::vector<float>& y) {
  double s = 0;
  for (float v : y) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(y.size()));
}
double Db(double ratio) { return 20 * std::log10(ratio); }
}  // namespace

TEST_CASE("time stretch changes the length, not the pitch", "[audio][augment]") {
  const int sr = 12000;
  const auto y = Sine(440, sr, 4);
  for (double rate : {0.8, 1.25}) {
    const auto z = TimeStretch(y, rate);
    CHECK(std::abs(static_cast<double>(z.size()) - y.size() / rate) <= 1);
    CHECK(Frequency(z, sr) == Approx(440).epsilon(0.02));
    CHECK(Db(Rms(z) / Rms(y)) == Approx(0).margin(1.0));
  }
  CHECK_THROWS_AS(TimeStretch(y, 0), OptionError);
}

TEST_CASE("pitch shift changes the pitch, not the length", "[audio][augment]") {
  const int sr = 12000;
  const auto y = Sine(440, sr, 4);
  const auto up = PitchShift(y, sr, 12), down = PitchShift(y, sr, -2);
  CHECK(up.size() == y.size());
  CHECK(Frequency(up, sr) == Approx(880).epsilon(0.02));
  CHECK(Frequency(down, sr) == Approx(440 * std::pow(2.0, -2.0 / 12)).epsilon(0.02));
}

TEST_CASE("EQ tilt lifts the highs and lowers the lows by half its dB each", "[audio][augment]") {
  const int sr = 12000;
  auto low = Sine(60, sr, 2), high = Sine(5000, sr, 2);
  const double l0 = Rms(low), h0 = Rms(high);
  Tilt(low, sr, 6);
  Tilt(high, sr, 6);
  CHECK(Db(Rms(low) / l0) == Approx(-3).margin(0.5));
  // One pole at 12 kHz: the highs rise less than the lows fall (measured +1.8 dB at 5 kHz).
  CHECK(Db(Rms(high) / h0) > 1.5);
  CHECK(Db(Rms(high) / h0) < 3.5);
}

TEST_CASE("noise is added at the asked SNR", "[audio][augment]") {
  const auto y = Sine(440, 12000, 4);
  auto z = y;
  AddNoise(z, 20, 7);
  std::vector<float> noise(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) noise[i] = z[i] - y[i];
  CHECK(Db(Rms(y) / Rms(noise)) == Approx(20).margin(0.3));
}

TEST_CASE("an MP3 round trip keeps the length and the signal", "[audio][augment]") {
  const int sr = 12000;
  const auto y = Sine(440, sr, 3);
  std::vector<float> z;
  try {
    z = Mp3RoundTrip(y, sr);
  } catch (const FormatError& e) {
    FAIL("libsndfile could not encode MP3: " << e.what());
  }
  REQUIRE(z.size() == y.size());
  CHECK(Frequency(z, sr) == Approx(440).epsilon(0.02));
  CHECK(Db(Rms(z) / Rms(y)) == Approx(0).margin(1.0));
}

TEST_CASE("a variant is the same for the same seed, another for another seed", "[audio][augment]") {
  const int sr = 12000;
  const auto y = Sine(330, sr, 8);
  const auto a = AugmentAudio(y, sr, 1), b = AugmentAudio(y, sr, 1), c = AugmentAudio(y, sr, 2);
  CHECK(a == b);
  CHECK(a != c);
  for (float v : a) REQUIRE(std::isfinite(v));
  AudioAugmentOptions bad;
  bad.pitch_semitones = -1;
  CHECK_THROWS_WITH(AugmentAudio(y, sr, 1, bad), Catch::Contains("pitch_semitones"));
  CHECK_THROWS_AS(AugmentAudio({}, sr, 1), InputError);
}

TEST_CASE("the options' text names every setting, and changes with any", "[audio][augment]") {
  const AudioAugmentOptions o;
  const std::string text = o.Text();
  for (const char* key : {"gain_db", "tilt_db", "pitch_semitones", "stretch", "noise_snr_db", "mp3_share"})
    CHECK_THAT(text, Catch::Contains(std::string("\"") + key + "\""));
  CHECK(text.find('\n') == std::string::npos);
  AudioAugmentOptions other = o;
  other.mp3_share = 0.25;
  CHECK(other.Text() != text);
  CHECK(AudioAugmentOptions{}.Text() == text);
}

TEST_CASE("resampling in one go keeps a tone and gives the asked length", "[audio][augment]") {
  const auto y = Sine(440, 22050, 2);
  const auto r = Resample(y, 22050, 12000);
  REQUIRE(r.size() == 24000);  // 2 s
  CHECK(Frequency(r, 12000) == Approx(440).margin(2));
  CHECK(Rms(std::vector<float>(r.begin() + 2000, r.end() - 2000)) == Approx(0.5 / std::sqrt(2)).epsilon(0.01));
  CHECK(Resample(y, 22050, 12000, 100).size() == 100);
  CHECK(Resample(y, 22050, 12000, 30000).back() == 0.0f);  // zero-padded past the end
}

}  // namespace genre
