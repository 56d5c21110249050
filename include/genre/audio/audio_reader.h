// Audio input: decode (libsndfile), mix to mono, resample (libsoxr HQ), in blocks.
//
// The numbers match librosa.load(path, sr=..., mono=True, offset=..., duration=...):
// samples are scaled as libsndfile scales them (int16 / 32768, ...), channels are
// averaged in float32, offset and duration are truncated to native frames
// (int(offset * native_sr)), and a resampled signal has exactly
// ceil(n_native * target_sr / native_sr) samples.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace genre {

// Files whose header declares a lower native rate are refused (FormatError): no audio
// format in use goes below 8 kHz, and a damaged header's 1 Hz would stretch a few bytes
// into minutes of audio.
constexpr int kMinNativeSampleRate = 1000;  // Hz

struct AudioReadOptions {
  int sample_rate = 22050;             // Hz of the output; 0 keeps the file's native rate
  double offset_s = 0.0;               // seconds skipped at the start (>= 0)
  double duration_s = -1.0;            // seconds read after the offset; < 0 reads to the end
  std::size_t block_frames = 1 << 16;  // native frames decoded per block (>= 1)

  // Throws OptionError naming the field, its value and the allowed range.
  void Validate() const;
};

struct AudioInfo {
  std::string path;            // as given; "-" for standard input
  std::string format;          // e.g. "FLAC", "WAV", "MPEG"
  int native_sample_rate = 0;  // Hz
  int channels = 0;
  std::int64_t native_frames = 0;  // frames in the file, as libsndfile reports them; -1 when the
                                   // header's count cannot be right (larger than the file could hold)
};

// Streaming reader. Decodes one block at a time, so a long file is never held
// decoded in memory; output is mono float32 at options.sample_rate.
// "-" reads standard input: the (encoded) bytes are read into memory and decoded
// through libsndfile's virtual I/O, since a pipe is not seekable.
//
// Throws IoError (missing path, directory, unreadable), FormatError (not audio,
// corrupt or truncated data) and InputError (no samples, offset past the end, a
// sample that is not a number or absurdly loud);
// every message starts with the path.
class AudioStream {
 public:
  explicit AudioStream(const std::string& path, const AudioReadOptions& options = {});
  // Decodes an in-memory encoded file; name is used in messages.
  static AudioStream FromMemory(std::string bytes, const std::string& name, const AudioReadOptions& options = {});
  ~AudioStream();
  AudioStream(AudioStream&&) noexcept;
  AudioStream& operator=(AudioStream&&) noexcept;
  AudioStream(const AudioStream&) = delete;
  AudioStream& operator=(const AudioStream&) = delete;

  const AudioInfo& info() const;
  int sample_rate() const;  // of the output, Hz
  // Samples this stream will deliver in all (exact once the input is decoded;
  // before that, computed from the frame count in the file's header; 0 when that is unknown).
  std::int64_t expected_samples() const;

  // Writes up to `max` samples to `out`; returns how many. 0 means the end.
  // Throws InputError at a float sample that is NaN, infinite or beyond +-1e4 (full
  // scale is 1), naming the time: no such value ever reaches the output.
  std::size_t Read(float* out, std::size_t max);
  // The largest |sample| decoded so far (mono, at the native rate; full scale is 1).
  float peak() const;

 private:
  struct Impl;
  explicit AudioStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct Waveform {
  std::vector<float> samples;  // mono
  int sample_rate = 0;         // Hz
  AudioInfo info;
  double duration_s() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

// Reads a whole file (or "-") through AudioStream. Throws as AudioStream does,
// and InputError when no samples are left.
Waveform LoadAudio(const std::string& path, const AudioReadOptions& options = {});
// Drains an open stream into a Waveform; throws as LoadAudio does.
Waveform ReadAll(AudioStream& stream);

// y at `from` Hz resampled to `to` Hz in one go (libsoxr, HQ as the decoder), as
// `length` samples (cut, or zero-padded). Throws FormatError when libsoxr fails.
std::vector<float> Resample(const std::vector<float>& y, double from, double to, std::size_t length);
// The same, as many samples as the duration gives (rounded).
std::vector<float> Resample(const std::vector<float>& y, double from, double to);

// Reads all of standard input into memory (binary).
std::string ReadStdin();

}  // namespace genre
