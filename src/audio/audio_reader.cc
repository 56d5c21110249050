#include "genre/audio/audio_reader.h"

#include <fcntl.h>
#include <sndfile.h>
#include <soxr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <sstream>

#include "genre/error.h"

namespace genre {

namespace {
// The most frames a header may claim per byte of file: far beyond any codec (Vorbis at
// 8 kbit/s holds about 6 frames of 48-kHz audio a byte), far below a damaged count.
constexpr std::int64_t kMaxFramesPerByte = 1024;
// The most samples allocated up front from a header's length (64 MB of floats).
constexpr std::int64_t kMaxPreallocated = std::int64_t{1} << 24;

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

struct SoxrDeleter {
  void operator()(soxr* s) const { soxr_delete(s); }
};
using SoxrPtr = std::unique_ptr<soxr, SoxrDeleter>;

// libsndfile virtual I/O's seek: the position `offset` from SEEK_SET / SEEK_CUR (`pos`) /
// SEEK_END (`length`), clamped to the end; -1 before the start.
sf_count_t SeekTarget(sf_count_t offset, int whence, sf_count_t pos, sf_count_t length) {
  const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos : length;
  if (base + offset < 0) return -1;
  return std::min(base + offset, length);
}

// An encoded file held in memory, read through libsndfile's virtual I/O.
struct MemoryFile {
  std::string bytes;
  sf_count_t pos = 0;

  static sf_count_t Length(void* self) { return static_cast<sf_count_t>(static_cast<MemoryFile*>(self)->bytes.size()); }
  static sf_count_t Seek(sf_count_t offset, int whence, void* self) {
    auto* m = static_cast<MemoryFile*>(self);
    const sf_count_t target = SeekTarget(offset, whence, m->pos, Length(self));
    if (target >= 0) m->pos = target;
    return target;
  }
  static sf_count_t Read(void* ptr, sf_count_t count, void* self) {
    auto* m = static_cast<MemoryFile*>(self);
    sf_count_t n = std::max<sf_count_t>(0, std::min(count, Length(self) - m->pos));
    std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<std::size_t>(n));
    m->pos += n;
    return n;
  }
  static sf_count_t Write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t Tell(void* self) { return static_cast<MemoryFile*>(self)->pos; }
};

// A file read through libsndfile's virtual I/O in 256-KB blocks: libsndfile's own file
// I/O reads 8 KB at a time with a seek between (about 570 system calls for a 30-s FLAC,
// 0.7 ms of its 6-ms decode).
class BufferedFile {
 public:
  BufferedFile(int fd, sf_count_t length) : fd_(fd), length_(length), buffer_(kBlock) {}
  ~BufferedFile() { ::close(fd_); }
  BufferedFile(const BufferedFile&) = delete;
  BufferedFile& operator=(const BufferedFile&) = delete;

  static sf_count_t Length(void* self) { return static_cast<BufferedFile*>(self)->length_; }
  static sf_count_t Seek(sf_count_t offset, int whence, void* self) {
    auto* f = static_cast<BufferedFile*>(self);
    const sf_count_t target = SeekTarget(offset, whence, f->pos_, f->length_);
    if (target >= 0) f->pos_ = target;
    return target;
  }
  // Short only at the end of the file or on a read error (libsndfile then reports it).
  static sf_count_t Read(void* ptr, sf_count_t count, void* self) {
    auto* f = static_cast<BufferedFile*>(self);
    auto* out = static_cast<char*>(ptr);
    sf_count_t done = 0;
    while (done < count) {
      if (f->pos_ < f->start_ || f->pos_ >= f->start_ + f->filled_) {  // refill at pos_
        const ssize_t got = ::pread(f->fd_, f->buffer_.data(), f->buffer_.size(), static_cast<off_t>(f->pos_));
        if (got < 0 && errno == EINTR) continue;
        f->start_ = f->pos_;
        f->filled_ = got > 0 ? got : 0;
        if (got <= 0) break;
      }
      const sf_count_t n = std::min(count - done, f->start_ + f->filled_ - f->pos_);
      std::memcpy(out + done, f->buffer_.data() + (f->pos_ - f->start_), static_cast<std::size_t>(n));
      done += n;
      f->pos_ += n;
    }
    return done;
  }
  static sf_count_t Write(const void*, sf_count_t, void*) { return 0; }
  static sf_count_t Tell(void* self) { return static_cast<BufferedFile*>(self)->pos_; }

 private:
  static constexpr std::size_t kBlock = 256 * 1024;
  int fd_;
  sf_count_t length_, pos_ = 0, start_ = 0, filled_ = 0;  // the buffer holds [start_, start_ + filled_)
  std::vector<char> buffer_;
};

std::string FormatName(int format) {
  const int major = format & SF_FORMAT_TYPEMASK;
  if (major == SF_FORMAT_OGG) return (format & SF_FORMAT_SUBMASK) == SF_FORMAT_OPUS ? "OPUS" : "OGG";
  SF_FORMAT_INFO fi{};
  fi.format = major;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof fi) != 0 || !fi.extension) return "unknown";
  std::string ext = fi.extension;
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::toupper(c); });
  return ext == "MP1" || ext == "MP2" || ext == "MP3" ? "MPEG" : ext;
}

// libsndfile clamps a WAV/AIFF/AU whose header promises more data than the file
// holds, noting it in its log as "data : 132300 (should be 59956)". Streams
// written to a pipe declare 0 or a huge placeholder length; those are not truncation.
bool HeaderDeclaresMissingData(SNDFILE* f) {
  char log[8192] = {};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof log);
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(' ') + 1);
    if (key != "data" && key != "SSND" && key != "Data Size") continue;
    auto should = line.find("(should be");
    if (should == std::string::npos) continue;
    unsigned long long declared = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
    unsigned long long actual = std::strtoull(line.c_str() + should + 10, nullptr, 10);
    if (declared > actual && declared != 0 && declared < 0x7FFF0000ULL) return true;
  }
  return false;
}

bool IsLossless(int format) {
  switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
    case SF_FORMAT_AIFF:
    case SF_FORMAT_AU:
    case SF_FORMAT_FLAC:
    case SF_FORMAT_W64:
    case SF_FORMAT_RF64:
      return true;
    default:
      return false;
  }
}

// Why sf_open failed. After a failed open libsndfile can report a stale system
// error ("File does not exist ...") for a file that exists but is not audio.
std::string OpenFailure() {
  const std::string why = sf_strerror(nullptr);
  if (why.rfind("File does not exist", 0) == 0) return "unrecognised or corrupt audio data";
  return why;
}

// Mono mix of n interleaved frames, each sample scaled first: numpy's float32 mean
// over channels (sum in order, then divide). scale 1 leaves float input unchanged.
template <class Sample>
void MixToMono(const Sample* in, std::size_t n, int channels, float scale, float* out) {
  if (channels == 1) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * scale;
    return;
  }
  const float count = static_cast<float>(channels);
  for (std::size_t i = 0; i < n; ++i) {
    float acc = 0.0f;
    for (int c = 0; c < channels; ++c) acc += static_cast<float>(in[i * channels + c]) * scale;
    out[i] = acc / count;
  }
}

std::string Seconds(double s) {
  std::ostringstream o;
  o << s << " s";
  return o.str();
}

// A float sample beyond this is not audio (full scale is 1; +80 dB over it).
constexpr float kMaxAmplitude = 1e4f;
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// The index of the first sample that is NaN, infinite or beyond +-kMaxAmplitude; kNone if none.
std::size_t FirstOutOfRange(const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)  // NaN fails the comparison too
    if (!(std::fabs(x[i]) <= kMaxAmplitude)) return i;
  return kNone;
}

// "non-finite sample (NaN) at 1.5 s", "sample value 3e+38 at 1.5 s is beyond +-10000 (...)".
std::string OutOfRange(float v, const std::string& at) {
  std::ostringstream o;
  if (std::isfinite(v))
    o << "sample value " << v << " at " << at << " is beyond +-" << kMaxAmplitude << " (full scale is +-1)";
  else
    o << "non-finite sample (" << (std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf") << ") at " << at;
  return o.str();
}

}  // namespace

void AudioReadOptions::Validate() const {
  if (sample_rate < 0 || sample_rate > 384000)
    throw OptionError("sample_rate must be 0 (native) or in [1, 384000] Hz, got " + std::to_string(sample_rate));
  if (!(offset_s >= 0.0) || !std::isfinite(offset_s))
    throw OptionError("offset must be >= 0 s, got " + Seconds(offset_s));
  if (std::isnan(duration_s) || duration_s == 0.0)
    throw OptionError("duration must be > 0 s (or < 0 for the whole file), got " + Seconds(duration_s));
  if (block_frames == 0) throw OptionError("block_frames must be >= 1, got 0");
}

struct AudioStream::Impl {
  AudioInfo info;
  AudioReadOptions options;
  std::unique_ptr<MemoryFile> memory;  // outlives sf when reading from memory
  std::unique_ptr<BufferedFile> file;  // outlives sf when reading a file
  SndfilePtr sf;
  int sf_format = 0;  // SF_INFO.format of the open file
  int out_rate = 0;
  double ratio = 1.0;  // out_rate / native rate
  SoxrPtr resampler;

  std::int64_t start = 0;       // first native frame read: int(offset * native rate), as librosa
  std::int64_t remaining = -1;  // native frames still to read; -1 = to the end
  std::int64_t consumed = 0;    // native frames decoded so far
  std::int64_t emitted = 0;     // output samples handed out
  bool input_done = false;
  bool flushed = false;

  float peak = 0;           // largest |mono sample| decoded so far
  bool read_pcm16 = false;  // decode as int16 and scale here (see Open)
  std::vector<float> interleaved;
  std::vector<std::int16_t> interleaved16;
  std::vector<float> mono;
  std::vector<float> resampled;
  const float* pending = nullptr;  // output samples not yet handed out
  std::size_t pending_len = 0;
  std::size_t pending_pos = 0;

  // `bytes`: the file's size, to judge the frame count its header claims.
  void Open(SF_INFO& sfi, std::int64_t bytes) {
    sf_format = sfi.format;
    info.format = FormatName(sfi.format);
    info.native_sample_rate = sfi.samplerate;
    info.channels = sfi.channels;
    // A damaged header (an Ogg page's granule position, say) can claim any frame count,
    // even a negative one: a count no file of this size could hold is unknown (-1), and
    // the audio is read until its data ends. Nothing is ever sized from it unchecked.
    if (sfi.frames < 0 || sfi.frames / kMaxFramesPerByte > bytes) sfi.frames = -1;
    info.native_frames = sfi.frames;
    if (sfi.samplerate <= 0 || sfi.channels <= 0)
      throw FormatError(info.path + ": invalid header (sample rate " + std::to_string(sfi.samplerate) + ", channels " +
                        std::to_string(sfi.channels) + ")");
    // A damaged header can claim a rate of 1 Hz: its few bytes would then last for minutes
    // and resample ten-thousandfold. No audio format in use goes below telephony's 8 kHz.
    if (sfi.samplerate < kMinNativeSampleRate)
      throw FormatError(info.path + ": sample rate " + std::to_string(sfi.samplerate) + " Hz is below " +
                        std::to_string(kMinNativeSampleRate) + " Hz: not audio (a damaged header?)");
    if (HeaderDeclaresMissingData(sf.get()))
      throw FormatError(info.path + ": truncated file: header declares more audio data than " + "the file holds");
    if (sfi.frames == 0) throw InputError(info.path + ": no audio samples (0 frames)");

    sf_command(sf.get(), SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);
    out_rate = options.sample_rate == 0 ? sfi.samplerate : options.sample_rate;
    ratio = static_cast<double>(out_rate) / sfi.samplerate;

    // librosa: seek(int(offset * sr_native)), read int(duration * sr_native) frames.
    start = static_cast<std::int64_t>(options.offset_s * sfi.samplerate);
    if (start > 0) {
      if (sfi.frames > 0 && start >= sfi.frames)
        throw InputError(info.path + ": offset " + Seconds(options.offset_s) + " is past the end of the audio (" +
                         Seconds(static_cast<double>(sfi.frames) / sfi.samplerate) + ")");
      if (sf_seek(sf.get(), start, SEEK_SET) < 0)
        throw FormatError(info.path + ": cannot seek to offset " + Seconds(options.offset_s) + ": " +
                          sf_strerror(sf.get()));
    }
    if (options.duration_s > 0) remaining = static_cast<std::int64_t>(options.duration_s * sfi.samplerate);

    if (out_rate != sfi.samplerate) {
      soxr_error_t err = nullptr;
      soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
      soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);  // librosa's default 'soxr_hq'
      resampler.reset(soxr_create(sfi.samplerate, out_rate, 1, &err, &io, &q, nullptr));
      if (err || !resampler)
        throw FormatError(info.path + ": cannot resample " + std::to_string(sfi.samplerate) + " Hz to " +
                          std::to_string(out_rate) + " Hz: " + (err ? err : "?"));
    }
    // For 16-bit PCM, reading int16 and scaling by 2^-15 here gives bit-identical
    // floats (int16 * 2^-15 is exact) and skips libsndfile's scalar float conversion.
    read_pcm16 = (sfi.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16;
    const std::size_t block = options.block_frames * static_cast<std::size_t>(sfi.channels);
    if (read_pcm16)
      interleaved16.resize(block);
    else
      interleaved.resize(block);
    mono.resize(options.block_frames);
  }

  // Decodes the next block into `mono`; returns the frame count (0 at the end).
  std::size_t DecodeBlock() {
    auto want = static_cast<sf_count_t>(options.block_frames);
    if (remaining >= 0) want = std::min<sf_count_t>(want, remaining);
    if (want == 0) return 0;
    sf_count_t got = read_pcm16 ? sf_readf_short(sf.get(), interleaved16.data(), want)
                                : sf_readf_float(sf.get(), interleaved.data(), want);
    if (sf_error(sf.get()) != SF_ERR_NO_ERROR)
      throw FormatError(info.path + ": decode error after " +
                        Seconds(static_cast<double>(consumed) / info.native_sample_rate) + ": " +
                        sf_strerror(sf.get()));
    if (got < 0) got = 0;
    const int ch = info.channels;
    const auto n = static_cast<std::size_t>(got);
    if (read_pcm16) {
      MixToMono(interleaved16.data(), n, ch, 1.0f / 32768.0f, mono.data());
    } else {
      // Float files can hold anything: NaN, Inf, 1e38. Such a sample would turn every
      // feature after it into NaN, so the file is refused, naming where.
      const std::size_t bad = FirstOutOfRange(interleaved.data(), n * static_cast<std::size_t>(ch));
      if (bad != kNone) {
        const double at =
            static_cast<double>(start + consumed + static_cast<std::int64_t>(bad / ch)) / info.native_sample_rate;
        throw InputError(info.path + ": " + OutOfRange(interleaved[bad], Seconds(at)));
      }
      MixToMono(interleaved.data(), n, ch, 1.0f, mono.data());
    }
    for (std::size_t i = 0; i < n; ++i) peak = std::max(peak, std::fabs(mono[i]));
    consumed += got;
    if (remaining >= 0) remaining -= got;
    if (got < want) {
      // Reading to the end of a lossless file must deliver what its header promised.
      if (remaining < 0 && IsLossless(sf_format) && info.native_frames > 0 && start + consumed < info.native_frames)
        throw FormatError(info.path + ": truncated file: decoded " + std::to_string(start + consumed) + " of " +
                          std::to_string(info.native_frames) + " frames");
    }
    return n;
  }

  void Resample(const float* in, std::size_t n, bool last) {
    std::size_t done_in = 0;
    for (;;) {
      std::size_t olen = static_cast<std::size_t>(static_cast<double>(n - done_in) * ratio) + 4096;
      std::size_t base = resampled.size();
      resampled.resize(base + olen);
      std::size_t idone = 0, odone = 0;
      soxr_error_t err = soxr_process(resampler.get(), in ? in + done_in : nullptr, in ? n - done_in : 0, &idone,
                                      resampled.data() + base, olen, &odone);
      if (err) throw FormatError(info.path + ": resampling failed: " + err);
      resampled.resize(base + odone);
      done_in += idone;
      if (in && done_in < n) continue;
      if (!in && last && odone > 0) continue;  // drain the flush completely
      if (odone == olen) continue;
      break;
    }
  }

  // Output samples allowed so far: ceil(consumed * ratio), librosa's fix_length.
  std::int64_t Cap() const {
    if (!resampler) return consumed;
    return static_cast<std::int64_t>(std::ceil(static_cast<double>(consumed) * ratio));
  }

  // Makes the next output samples pending; false once everything was handed out.
  bool Refill() {
    pending_pos = 0;
    pending_len = 0;
    if (!resampler) {
      // Mono samples are handed out straight from the decode buffer.
      const std::size_t n = input_done ? 0 : DecodeBlock();
      if (n == 0) input_done = true;
      pending = mono.data();
      pending_len = n;
      return !input_done;
    }
    resampled.clear();
    if (!input_done) {
      const std::size_t n = DecodeBlock();
      if (n == 0) input_done = true;
      if (n > 0) Resample(mono.data(), n, false);
    }
    if (input_done && !flushed) {
      Resample(nullptr, 0, true);
      flushed = true;
    }
    // librosa's fix_length: at most ceil(consumed * ratio) samples, zero-padded up to it.
    const std::int64_t room = Cap() - emitted;
    if (static_cast<std::int64_t>(resampled.size()) > room)
      resampled.resize(static_cast<std::size_t>(std::max<std::int64_t>(0, room)));
    if (input_done && static_cast<std::int64_t>(resampled.size()) < room)
      resampled.resize(static_cast<std::size_t>(room), 0.0f);
    pending = resampled.data();
    pending_len = resampled.size();
    return pending_len > 0 || !input_done;
  }
};

AudioStream::AudioStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AudioStream::AudioStream(const std::string& path, const AudioReadOptions& options) {
  if (path == "-") {
    *this = FromMemory(ReadStdin(), "-", options);
    return;
  }
  options.Validate();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory, not an audio file");
  if (st.st_size == 0) throw FormatError(path + ": empty file (0 bytes)");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open: " + std::strerror(errno));

  auto impl = std::make_unique<Impl>();
  impl->file = std::make_unique<BufferedFile>(fd, static_cast<sf_count_t>(st.st_size));
  impl->info.path = path;
  impl->options = options;
  SF_INFO sfi{};
  SF_VIRTUAL_IO vio{&BufferedFile::Length, &BufferedFile::Seek, &BufferedFile::Read, &BufferedFile::Write,
                    &BufferedFile::Tell};
  impl->sf.reset(sf_open_virtual(&vio, SFM_READ, &sfi, impl->file.get()));
  if (!impl->sf) {  // libsndfile also guesses some formats from a file's name: let it try
    impl->file.reset();
    sfi = SF_INFO{};
    impl->sf.reset(sf_open(path.c_str(), SFM_READ, &sfi));
  }
  if (!impl->sf) throw FormatError(path + ": not a readable audio file (" + OpenFailure() + ")");
  impl->Open(sfi, static_cast<std::int64_t>(st.st_size));
  impl_ = std::move(impl);
}

AudioStream AudioStream::FromMemory(std::string bytes, const std::string& name, const AudioReadOptions& options) {
  options.Validate();
  if (bytes.empty()) throw FormatError(name + ": empty input (0 bytes)");
  auto impl = std::make_unique<Impl>();
  impl->info.path = name;
  impl->options = options;
  impl->memory = std::make_unique<MemoryFile>();
  impl->memory->bytes = std::move(bytes);
  SF_VIRTUAL_IO vio{&MemoryFile::Length, &MemoryFile::Seek, &MemoryFile::Read, &MemoryFile::Write, &MemoryFile::Tell};
  SF_INFO sfi{};
  impl->sf.reset(sf_open_virtual(&vio, SFM_READ, &sfi, impl->memory.get()));
  if (!impl->sf) throw FormatError(name + ": not a readable audio stream (" + OpenFailure() + ")");
  impl->Open(sfi, static_cast<std::int64_t>(impl->memory->bytes.size()));
  return AudioStream(std::move(impl));
}

AudioStream::~AudioStream() = default;
AudioStream::AudioStream(AudioStream&&) noexcept = default;
AudioStream& AudioStream::operator=(AudioStream&&) noexcept = default;

const AudioInfo& AudioStream::info() const { return impl_->info; }
int AudioStream::sample_rate() const { return impl_->out_rate; }

std::int64_t AudioStream::expected_samples() const {
  const Impl& s = *impl_;
  if (s.info.native_frames < 0 && !s.input_done) return 0;  // unknown
  std::int64_t native = s.info.native_frames - s.start;
  if (s.options.duration_s > 0)
    native = std::min(native, static_cast<std::int64_t>(s.options.duration_s * s.info.native_sample_rate));
  if (s.input_done) native = s.consumed;
  native = std::max<std::int64_t>(native, 0);
  if (!s.resampler) return native;
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(native) * s.ratio));
}

float AudioStream::peak() const { return impl_->peak; }

std::size_t AudioStream::Read(float* out, std::size_t max) {
  Impl& s = *impl_;
  std::size_t written = 0;
  while (written < max) {
    if (s.pending_pos == s.pending_len) {
      if (!s.Refill()) break;
      continue;
    }
    std::size_t n = std::min(max - written, s.pending_len - s.pending_pos);
    std::copy_n(s.pending + s.pending_pos, n, out + written);
    s.pending_pos += n;
    s.emitted += static_cast<std::int64_t>(n);
    written += n;
  }
  return written;
}

Waveform LoadAudio(const std::string& path, const AudioReadOptions& options) {
  AudioStream stream(path, options);
  return ReadAll(stream);
}

Waveform ReadAll(AudioStream& stream) {
  Waveform w;
  w.sample_rate = stream.sample_rate();
  // The header's length sizes the buffer up to a bound; past it the buffer grows as the
  // audio comes (a plausible but wrong length costs no more than the bound).
  w.samples.resize(static_cast<std::size_t>(std::clamp<std::int64_t>(stream.expected_samples(), 0, kMaxPreallocated)));
  std::size_t n = 0;
  for (;;) {
    if (n == w.samples.size()) w.samples.resize(std::max<std::size_t>(1024, n * 2));
    std::size_t got = stream.Read(w.samples.data() + n, w.samples.size() - n);
    if (got == 0) break;
    n += got;
  }
  w.samples.resize(n);
  w.samples.shrink_to_fit();
  w.info = stream.info();
  if (n == 0) throw InputError(w.info.path + ": no audio samples to analyse");
  return w;
}

std::string ReadStdin() {
  std::freopen(nullptr, "rb", stdin);
  std::string bytes;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) bytes.append(buf, n);
  if (std::ferror(stdin)) throw IoError(std::string("-: cannot read standard input: ") + std::strerror(errno));
  return bytes;
}

std::vector<float> Resample(const std::vector<float>& y, double from, double to, std::size_t length) {
  std::vector<float> out(length + 64, 0.0f);
  std::size_t done = 0;
  const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  if (const soxr_error_t e =
          soxr_oneshot(from, to, 1, y.data(), y.size(), nullptr, out.data(), out.size(), &done, nullptr, &q, nullptr))
    throw FormatError(std::string("resampling failed: ") + e);
  out.resize(length, 0.0f);
  return out;
}

std::vector<float> Resample(const std::vector<float>& y, double from, double to) {
  return Resample(y, from, to, static_cast<std::size_t>(std::llround(static_cast<double>(y.size()) * to / from)));
}

}  // namespace genre
