// The front end on arbitrary float input: every feature of FrontEnd, the streaming
// log-mel and the GTZAN vector's statistics. Samples outside what a decoder hands on
// (AudioStream refuses NaN, Inf and |x| > 1e4) are clamped into it first; then no
// output may hold NaN or Inf. The first byte picks the STFT size and centring.
#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "fuzz_support.h"
#include "genre/error.h"
#include "genre/features/frontend.h"
#include "genre/features/streaming.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  genre::FrontEndOptions o;
  o.sample_rate = 8000;
  o.stft.n_fft = 64 << (data[0] % 4);  // 64 .. 512
  o.stft.hop_length = o.stft.n_fft / 4;
  o.stft.center = data[0] & 0x10;
  o.mel.n_mels = 16;
  o.mfcc.n_mfcc = 8;
  ++data, --size;
  std::vector<float> y(size / sizeof(float));
  if (!y.empty()) std::memcpy(y.data(), data, y.size() * sizeof(float));
  for (float& v : y) v = std::isfinite(v) ? std::clamp(v, -1e4f, 1e4f) : 0.0f;
  try {
    const genre::FrontEnd fe(o);
    unsigned all = 0;
    for (const genre::FeatureName& f : genre::FeatureNames()) all |= f.feature;
    const genre::FeatureSet s = fe.Compute(y, all);
    for (const genre::FeatureName& f : genre::FeatureNames()) genre_fuzz::RequireFinite(s.Get(f.feature).data, f.name);
    genre::StreamingLogMel stream(o);
    stream.Push(std::span<const float>(y.data(), y.size() / 2));
    stream.Push(std::span<const float>(y.data() + y.size() / 2, y.size() - y.size() / 2));
    genre_fuzz::RequireFinite(stream.Finish().data, "streaming log-mel");
  } catch (const genre::Error&) {
  }
  return 0;
}
