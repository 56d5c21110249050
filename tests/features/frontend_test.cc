#include "genre/features/frontend.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <thread>

#include "genre/error.h"
#include "support.h"

namespace genre {
namespace {

std::string OptionMessage(const std::function<void()>& fn) { return test::MessageOf<OptionError>(fn); }

std::vector<float> Noise(std::size_t n, unsigned seed = 1) {
  std::vector<float> y(n);
  unsigned s = seed;
  for (float& v : y) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(static_cast<int>(s >> 9) - (1 << 22)) / static_cast<float>(1 << 23);
  }
  return y;
}

}  // namespace

TEST_CASE("option defaults are librosa 0.10's", "[features]") {
  const FrontEndOptions o;
  CHECK(o.sample_rate == 22050);
  CHECK(o.stft.n_fft == 2048);
  CHECK(o.stft.hop_length == 512);
  CHECK(o.stft.center);
  CHECK(o.stft.pad_mode == PadMode::kConstant);
  CHECK(o.power == 2.0);
  CHECK(o.mel.n_mels == 128);
  CHECK(o.mel.fmin_hz == 0.0);
  CHECK(o.mel.FmaxHz(o.sample_rate) == 11025.0);
  CHECK_FALSE(o.mel.htk);
  CHECK(o.mel.slaney_norm);
  CHECK(o.db.ref == 1.0);
  CHECK(o.db.amin == 1e-10);
  CHECK(o.db.top_db == 80.0);
  CHECK(o.mfcc.n_mfcc == 20);
  CHECK(o.spectral.rolloff_percent == 0.85);
}

TEST_CASE("invalid options are rejected naming field, value and range", "[features][errors]") {
  auto msg = [](const std::function<void(FrontEndOptions&)>& edit) {
    FrontEndOptions o;
    edit(o);
    return OptionMessage([&] { FrontEnd{o}; });
  };
  CHECK(msg([](auto& o) { o.stft.n_fft = 0; }) == "n_fft must be in [2, 1048576], got 0");
  CHECK(msg([](auto& o) { o.stft.hop_length = 0; }) == "hop_length must be in [1, n_fft = 2048], got 0");
  CHECK(msg([](auto& o) { o.stft.hop_length = 4096; }) == "hop_length must be in [1, n_fft = 2048], got 4096");
  CHECK(msg([](auto& o) { o.mel.fmax_hz = 20000; }) == "fmax must be in (0, sample_rate / 2 = 11025] Hz, got 20000");
  CHECK(msg([](auto& o) { o.mel.fmin_hz = -1; }) == "fmin must be in [0, fmax = 11025) Hz, got -1");
  CHECK(msg([](auto& o) { o.mel.n_mels = 0; }) == "n_mels must be in [1, 4096], got 0");
  CHECK(msg([](auto& o) { o.mfcc.n_mfcc = 200; }) == "n_mfcc must be in [1, n_mels = 128], got 200");
  CHECK(msg([](auto& o) { o.sample_rate = 0; }) == "sample_rate must be in [1, 384000] Hz, got 0");
  CHECK(msg([](auto& o) { o.power = 0; }) == "power must be > 0, got 0");
  CHECK(msg([](auto& o) { o.db.amin = 0; }) == "amin must be > 0, got 0");
  CHECK(msg([](auto& o) { o.spectral.rolloff_percent = 1.5; }) == "rolloff_percent must be in (0, 1), got 1.5");
  CHECK(msg([](auto& o) { o.mel.n_mels = 256, o.stft.n_fft = 256, o.stft.hop_length = 64; }) ==
        "n_mels = 256 is too many for n_fft = 256 at 22050 Hz: mel band 0 (0-25.894 Hz) covers no FFT bin");
  CHECK(OptionMessage([] { ParsePadMode("wrap"); }) == "pad_mode must be one of constant, reflect, edge; got 'wrap'");
}

TEST_CASE("a clip shorter than one FFT frame is an input error", "[features][errors]") {
  const FrontEnd fe;
  const auto y = Noise(1000);
  try {
    fe.LogMel(y);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) ==
          "signal of 1000 samples (0.0453515 s at 22050 Hz) is shorter than one FFT frame (n_fft = 2048)");
  }
  CHECK(fe.LogMel(Noise(2048)).cols == 5);  // exactly one frame long is fine
}

TEST_CASE("frame grid: 1 + n / hop centred, 1 + (n - n_fft) / hop otherwise", "[features]") {
  FrontEndOptions o;
  CHECK(FrontEnd(o).NumFrames(661794) == 1293);
  o.stft.center = false;
  const FrontEnd fe(o);
  CHECK(fe.NumFrames(2048) == 1);
  CHECK(fe.NumFrames(2048 + 511) == 1);
  CHECK(fe.NumFrames(2048 + 512) == 2);
  const Matrix m = fe.Mel(Noise(4096));
  CHECK(m.rows == 128);
  CHECK(m.cols == 5);
}

TEST_CASE("pad modes fill the first frame as numpy.pad does", "[features]") {
  // RMS of the first centred frame covers padded samples [-1024, 1024).
  std::vector<float> y(4096);
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = 0.001f * static_cast<float>(i + 1);
  auto first_rms = [&](PadMode mode) {
    FrontEndOptions o;
    o.stft.pad_mode = mode;
    return static_cast<double>(FrontEnd(o).Compute(y, kRms).rms(0, 0));
  };
  auto rms_of = [&](const std::function<double(int)>& sample) {
    double s = 0;
    for (int i = -1024; i < 1024; ++i) s += sample(i) * sample(i);
    return std::sqrt(s / 2048);
  };
  auto at = [&](int i) { return static_cast<double>(y[static_cast<std::size_t>(i)]); };
  CHECK(first_rms(PadMode::kConstant) == Approx(rms_of([&](int i) { return i < 0 ? 0.0 : at(i); })).epsilon(1e-6));
  CHECK(first_rms(PadMode::kReflect) == Approx(rms_of([&](int i) { return at(std::abs(i)); })).epsilon(1e-6));
  CHECK(first_rms(PadMode::kEdge) == Approx(rms_of([&](int i) { return at(std::max(i, 0)); })).epsilon(1e-6));
  // Zero-crossing rate always pads with the edge value, whatever the STFT does.
  FrontEndOptions o;
  o.stft.pad_mode = PadMode::kReflect;
  std::vector<float> alt(4096);
  for (std::size_t i = 0; i < alt.size(); ++i) alt[i] = (i % 2) ? 0.5f : -0.5f;
  const Matrix zcr = FrontEnd(o).Compute(alt, kZcr).zcr;
  CHECK(zcr(0, 0) == Approx(1023.0 / 2048));  // 1024 edge copies of y[0]: no crossings there
  CHECK(zcr(0, 4) == Approx(2047.0 / 2048));
}

TEST_CASE("mel scale and dB conversions match librosa's formulas", "[features]") {
  CHECK(HzToMel(1000, false) == Approx(15.0));
  CHECK(MelToHz(15, false) == Approx(1000.0));
  CHECK(MelToHz(HzToMel(4321, false), false) == Approx(4321.0));
  CHECK(HzToMel(700, true) == Approx(2595.0 * std::log10(2.0)));
  const auto f = MelFrequencies(130, 0, 11025, false);
  CHECK(f.front() == 0.0);
  CHECK(f.back() == Approx(11025.0));

  Matrix p(1, 4);
  p.data = {1.0f, 100.0f, 1e-12f, 1e-3f};
  DbOptions d;
  const Matrix db = PowerToDb(p, d);
  CHECK(db.data[0] == Approx(0.0).margin(1e-5));
  CHECK(db.data[1] == Approx(20.0));
  CHECK(db.data[2] == Approx(-60.0));  // amin 1e-10 -> -100 dB, then floored at 20 - 80
  CHECK(db.data[3] == Approx(-30.0));
  d.ref_max = true;
  d.top_db = 0;  // no floor
  const Matrix rel = PowerToDb(p, d);
  CHECK(rel.data[1] == Approx(0.0).margin(1e-5));
  CHECK(rel.data[2] == Approx(-120.0));
}

TEST_CASE("the mel bands of a frame are the dense product, whatever its place in a block", "[features]") {
  const FrontEnd fe;
  const MelFilterBank& bank = fe.mel_filter_bank();
  const Matrix dense = bank.Dense();  // [n_mels, bins]
  const auto bins = static_cast<std::size_t>(bank.n_bins()), mels = static_cast<std::size_t>(bank.n_mels());
  const std::size_t T = 37;  // two whole blocks of 16 and a partial one
  std::vector<float> power = Noise(T * bins, 7);
  for (float& v : power) v = v * v;
  Matrix mel(mels, T);
  MelFrames frames(bank, mel);
  for (std::size_t t = 0; t < T; ++t) frames.Add(power.data() + t * bins);
  frames.Finish();
  double worst = 0;
  for (std::size_t m = 0; m < mels; ++m)
    for (std::size_t t = 0; t < T; ++t) {
      double want = 0;
      for (std::size_t k = 0; k < bins; ++k) want += static_cast<double>(dense(m, k)) * power[t * bins + k];
      worst = std::max(worst, std::abs(mel(m, t) - want) / std::max(want, 1e-12));
    }
  CHECK(worst < 1e-5);
  // Frame 20 alone (lane 0 of a partial block) gives the same bits as in lane 4 above.
  Matrix one(mels, 1);
  MelFrames single(bank, one);
  single.Add(power.data() + 20 * bins);
  single.Finish();
  for (std::size_t m = 0; m < mels; ++m) CHECK(one(m, 0) == mel(m, 20));
  // More frames than the spectrogram holds is a programming error, never a write past it.
  single.Add(power.data());
  CHECK_THROWS_AS(single.Finish(), OptionError);
}

TEST_CASE("MFCC of a flat log-mel column is all in coefficient 0", "[features]") {
  const FrontEnd fe;
  Matrix logmel(128, 3, -20.0f);
  const Matrix c = fe.MfccFromLogMel(logmel);
  REQUIRE(c.rows == 20);
  CHECK(c(0, 1) == Approx(-20.0 * std::sqrt(128.0)));
  for (std::size_t k = 1; k < c.rows; ++k) CHECK(c(k, 1) == Approx(0.0).margin(1e-4));
  CHECK_THROWS_AS(fe.MfccFromLogMel(Matrix(64, 3)), OptionError);
}

TEST_CASE("one front end serves many threads with identical results", "[features]") {
  const FrontEnd fe;
  const auto y = Noise(22050 * 3, 7);
  const Matrix expected = fe.Compute(y, kLogMel).logmel;
  std::vector<Matrix> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = fe.Compute(y, kLogMel).logmel; });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK(r.data == expected.data);
}

}  // namespace genre
