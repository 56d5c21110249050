// Audio decoding from memory (every format libsndfile reads: WAV, AU, AIFF, FLAC,
// Ogg Vorbis / Opus, MP3, ...), as genre-guess reads standard input. Inputs of odd
// length are also resampled to 22050 Hz (the soxr path), even ones kept native.
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "genre/audio/audio_reader.h"
#include "genre/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  genre::AudioReadOptions options;
  options.sample_rate = size % 2 ? 22050 : 0;
  options.block_frames = 4096;
  try {
    genre::AudioStream stream =
        genre::AudioStream::FromMemory(std::string(reinterpret_cast<const char*>(data), size), "fuzz", options);
    std::vector<float> out(8192);
    std::size_t total = 0;
    // A damaged header can promise hours of audio: a few seconds prove the decoder.
    for (std::size_t n; total < (1u << 20) && (n = stream.Read(out.data(), out.size())) > 0;) {
      out.resize(n);
      genre_fuzz::RequireFinite(out, "decoded samples");
      out.resize(8192);
      total += n;
    }
    if (!std::isfinite(stream.peak())) std::abort();
  } catch (const genre::Error&) {
  }
  return 0;
}
