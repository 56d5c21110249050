#include "genre/features/streaming.h"

#include <catch2/catch.hpp>

#include "genre/audio/audio_reader.h"
#include "genre/error.h"
#include "support.h"

namespace genre {

TEST_CASE("streaming log-mel equals the whole-signal log-mel bit for bit", "[features][streaming]") {
  for (const char* name : {"blues.00000.flac", "synth_44k_stereo.flac", "short_0.3s.wav"}) {
    const Waveform w = LoadAudio(test::Input(name).string());
    const FrontEndOptions o;
    const Matrix whole = FrontEnd(o).Compute(w.samples, kLogMel).logmel;
    for (std::size_t block : {std::size_t{1000}, std::size_t{65536}, w.samples.size()}) {
      INFO(name << ", blocks of " << block);
      StreamingLogMel s(o);
      for (std::size_t i = 0; i < w.samples.size(); i += block)
        s.Push(std::span<const float>(w.samples.data() + i, std::min(block, w.samples.size() - i)));
      const Matrix fm = s.Finish();
      REQUIRE(fm.rows == whole.cols);
      REQUIRE(fm.cols == whole.rows);
      bool equal = true;
      for (std::size_t t = 0; t < fm.rows && equal; ++t)
        for (std::size_t m = 0; m < fm.cols; ++m) equal = equal && fm(t, m) == whole(m, t);
      CHECK(equal);
    }
  }
}

TEST_CASE("streaming log-mel: short signals and other padding are refused", "[features][streaming][errors]") {
  StreamingLogMel s{FrontEndOptions{}};
  std::vector<float> y(1000, 0.1f);
  s.Push(y);
  CHECK_THROWS_WITH(s.Finish(), Catch::StartsWith("signal of 1000 samples"));
  FrontEndOptions reflect;
  reflect.stft.pad_mode = PadMode::kReflect;
  CHECK_THROWS_AS(StreamingLogMel(reflect), OptionError);
}

}  // namespace genre
