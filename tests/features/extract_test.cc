#include "genre/features/extract.h"

#include <sndfile.h>
#include <catch2/catch.hpp>

#include "genre/error.h"
#include "support.h"

namespace genre {

TEST_CASE("ExtractFile decodes at the front end's rate and computes features", "[features]") {
  FrontEndOptions o;
  o.sample_rate = 16000;
  o.mel.n_mels = 64;
  const FrontEnd fe(o);
  const auto path = test::Input("synth_44k_stereo.flac").string();
  const Extracted x = ExtractFile(path, fe, kLogMel);
  CHECK(x.audio.sample_rate == 16000);
  CHECK(x.audio.samples.size() == 160000);  // 10 s
  CHECK(x.features.logmel.rows == 64);
  CHECK(x.features.logmel.cols == 1 + 160000 / 512);
  CHECK(x.features.mel.empty());  // only what was asked for
}

TEST_CASE("ExtractFile names the file when the clip is too short", "[features][errors]") {
  test::TempDir dir;
  SF_INFO info{};
  info.samplerate = 22050;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  const auto path = (dir / "tiny.wav").string();
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  std::vector<short> samples(1000, 100);
  sf_writef_short(f, samples.data(), 1000);
  sf_close(f);
  try {
    ExtractFile(path, FrontEnd{}, kMfcc);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) ==
          path + ": signal of 1000 samples (0.0453515 s at 22050 Hz) is shorter than one FFT frame (n_fft = 2048)");
  }
}

}  // namespace genre
