#include "genre/audio/audio_reader.h"

#include <sndfile.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "genre/error.h"
#include "genre/features/frontend.h"
#include "support.h"

namespace genre {
namespace {

// A stereo test signal: 440 Hz left, 440 Hz at half amplitude plus 880 Hz right.
std::vector<float> Stereo(int rate, double seconds) {
  const auto n = static_cast<std::size_t>(rate * seconds);
  std::vector<float> x(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / rate;
    x[2 * i] = static_cast<float>(0.5 * std::sin(2 * M_PI * 440 * t));
    x[2 * i + 1] = static_cast<float>(0.25 * std::sin(2 * M_PI * 440 * t) + 0.1 * std::sin(2 * M_PI * 880 * t));
  }
  return x;
}

void Write(const std::filesystem::path& path, int format, int rate, const std::vector<float>& stereo) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 2;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(f != nullptr);
  sf_writef_float(f, stereo.data(), static_cast<sf_count_t>(stereo.size() / 2));
  sf_close(f);
}

// What libsndfile itself decodes, averaged over channels in float32 (librosa's to_mono).
std::vector<float> ReferenceMono(const std::filesystem::path& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  REQUIRE(f != nullptr);
  std::vector<float> inter(static_cast<std::size_t>(info.frames * info.channels));
  sf_readf_float(f, inter.data(), info.frames);
  sf_close(f);
  std::vector<float> mono(static_cast<std::size_t>(info.frames));
  for (std::size_t i = 0; i < mono.size(); ++i) {
    float acc = 0;
    for (int c = 0; c < info.channels; ++c) acc += inter[i * info.channels + c];
    mono[i] = acc / static_cast<float>(info.channels);
  }
  return mono;
}

// Dominant frequency of a mono signal, Hz (mean power spectrum, 2048-point FFT).
double PeakHz(const std::vector<float>& y, int rate) {
  FrontEndOptions o;
  o.sample_rate = rate;
  const Matrix p = FrontEnd(o).Compute(y, kPower).power;
  std::size_t best = 0;
  double best_power = -1;
  for (std::size_t k = 0; k < p.rows; ++k) {
    const double s = std::accumulate(p.row(k), p.row(k) + p.cols, 0.0);
    if (s > best_power) best_power = s, best = k;
  }
  return static_cast<double>(best) * rate / 2048.0;
}

double Rms(const std::vector<float>& y) {
  double s = 0;
  for (float v : y) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(y.size()));
}

}  // namespace

using test::MessageOf;

TEST_CASE("lossless formats decode exactly as libsndfile scales them, mixed to mono", "[audio]") {
  test::TempDir dir;
  const auto stereo = Stereo(22050, 0.5);
  struct Case {
    const char* name;
    int format;
  } cases[] = {
      {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8},    {"s16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
      {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24},   {"s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32},
      {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT},    {"s16.au", SF_FORMAT_AU | SF_FORMAT_PCM_16},
      {"s16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16}, {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
      {"s24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Write(dir / c.name, c.format, 22050, stereo);
      const Waveform w = LoadAudio((dir / c.name).string());
      CHECK(w.sample_rate == 22050);
      CHECK(w.info.channels == 2);
      CHECK(w.info.native_sample_rate == 22050);
      std::string ext = std::string(c.name).substr(std::string(c.name).find('.') + 1);
      for (char& ch : ext) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      CHECK(w.info.format == ext);                      // WAV, AU, AIFF, FLAC
      CHECK(w.samples == ReferenceMono(dir / c.name));  // bit-exact
    }
  }
}

TEST_CASE("lossy formats (Ogg Vorbis, Opus, MP3) decode to the right signal", "[audio]") {
  test::TempDir dir;
  struct Case {
    const char* name;
    int format;
    int rate;
  } cases[] = {
      {"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 22050},
      {"a.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000},
      {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 22050},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const auto stereo = Stereo(c.rate, 1.0);
      Write(dir / c.name, c.format, c.rate, stereo);
      const Waveform w = LoadAudio((dir / c.name).string());  // resampled to 22050 Hz
      CHECK(w.sample_rate == 22050);
      CHECK(w.info.native_sample_rate == c.rate);
      CHECK(std::abs(w.duration_s() - 1.0) < 0.1);  // codec priming/padding only
      // The mono mix 0.375 sin(440) + 0.05 sin(880) has RMS 0.2675.
      CHECK(Rms(w.samples) == Approx(0.2675).epsilon(0.15));
      CHECK(std::abs(PeakHz(w.samples, 22050) - 440.0) < 22050.0 / 2048 * 1.5);
    }
  }
}

TEST_CASE("an Ogg file whose last page claims an absurd length is read to the end of its data", "[audio][errors]") {
  // The frame count comes from the last page's granule position: a damaged one once
  // sized a vector from it (std::length_error, SIGABRT, the batch lost).
  test::TempDir dir;
  for (const char* name : {"a.ogg", "a.opus"}) {
    const int rate = std::string(name) == "a.ogg" ? 22050 : 48000;
    Write(dir / name, SF_FORMAT_OGG | (std::string(name) == "a.ogg" ? SF_FORMAT_VORBIS : SF_FORMAT_OPUS), rate,
          Stereo(rate, 1.0));
    std::string bytes = test::ReadBytes(dir / name);
    const std::size_t last = bytes.rfind("OggS");
    REQUIRE(last != std::string::npos);
    for (const std::uint64_t granule : {0x7fffffffffff0000ull, 0xfffffffffffffff0ull}) {
      DYNAMIC_SECTION(name << " granule " << granule) {
        std::string bad = bytes;
        for (int i = 0; i < 8; ++i) bad[last + 6 + static_cast<std::size_t>(i)] = static_cast<char>(granule >> (8 * i));
        test::WriteBytes(dir / "bad.ogg", bad);
        Waveform w;
        try {
          w = LoadAudio((dir / "bad.ogg").string());
        } catch (const Error&) {
          continue;  // refused with a message is fine too; what must not happen is an abort
        }
        CHECK(w.info.native_frames <= static_cast<std::int64_t>(bad.size()) * 1024);
        CHECK(std::abs(w.duration_s() - 1.0) < 0.2);
        AudioStream s = AudioStream::FromMemory(bad, "bad.ogg", {});
        CHECK(s.expected_samples() < (std::int64_t{1} << 32));
      }
    }
  }
}

TEST_CASE("resampling goes to the requested rate with librosa's length", "[audio]") {
  test::TempDir dir;
  Write(dir / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, Stereo(48000, 0.5));
  AudioReadOptions o;
  o.sample_rate = 16000;
  const Waveform w = LoadAudio((dir / "a.wav").string(), o);
  CHECK(w.sample_rate == 16000);
  CHECK(w.samples.size() == 8000);  // ceil(24000 * 16000 / 48000)
  CHECK(std::abs(PeakHz(w.samples, 16000) - 440.0) < 16000.0 / 2048 * 1.5);
  o.sample_rate = 0;  // native
  CHECK(LoadAudio((dir / "a.wav").string(), o).sample_rate == 48000);
}

TEST_CASE("offset and duration are truncated to native frames, as librosa", "[audio]") {
  const auto path = test::Input("short_0.3s.wav").string();
  const Waveform all = LoadAudio(path);
  AudioReadOptions o;
  o.offset_s = 0.1;
  o.duration_s = 0.15;
  const Waveform part = LoadAudio(path, o);
  const std::size_t start = static_cast<std::size_t>(0.1 * 22050);         // 2205
  REQUIRE(part.samples.size() == static_cast<std::size_t>(0.15 * 22050));  // 3307
  CHECK(std::equal(part.samples.begin(), part.samples.end(), all.samples.begin() + start));
  o.duration_s = 100;  // longer than the file: reads to the end
  CHECK(LoadAudio(path, o).samples.size() == all.samples.size() - start);
}

TEST_CASE("streaming in small reads and small blocks equals whole-file decoding", "[audio]") {
  for (const char* name : {"synth_44k_stereo.flac", "blues.00000.flac"}) {
    DYNAMIC_SECTION(name) {
      const auto path = test::Input(name).string();
      const Waveform whole = LoadAudio(path);
      AudioReadOptions o;
      o.block_frames = 777;  // odd block size: soxr state must carry across blocks
      AudioStream stream(path, o);
      CHECK(stream.expected_samples() == static_cast<std::int64_t>(whole.samples.size()));
      std::vector<float> got, buf(1000);
      while (std::size_t n = stream.Read(buf.data(), buf.size())) got.insert(got.end(), buf.begin(), buf.begin() + n);
      CHECK(got == whole.samples);
      CHECK(stream.Read(buf.data(), buf.size()) == 0);  // stays at the end
    }
  }
}

TEST_CASE("decoding from memory (the stdin path) equals decoding the file", "[audio]") {
  const auto path = test::Input("synth_48k_24bit_stereo.wav");
  const Waveform from_file = LoadAudio(path.string());
  AudioStream s = AudioStream::FromMemory(test::ReadBytes(path), "-");
  std::vector<float> got(static_cast<std::size_t>(s.expected_samples()) + 10);
  got.resize(s.Read(got.data(), got.size()));
  CHECK(got == from_file.samples);
  CHECK(s.info().path == "-");
  CHECK(s.info().format == "WAV");
  // Files are read in 256-KB blocks (BufferedFile): a 2.3-MB FLAC read whole and from a
  // seek to 17.3 s crosses several, and equals the same bytes decoded from memory.
  for (const double offset : {0.0, 17.3}) {
    const auto flac = test::Input("blues.00000.flac");
    AudioReadOptions o;
    o.offset_s = offset;
    AudioStream m = AudioStream::FromMemory(test::ReadBytes(flac), "-", o);
    const Waveform file = LoadAudio(flac.string(), o);
    CHECK(ReadAll(m).samples == file.samples);
    CHECK(file.samples.size() == 661794 - static_cast<std::size_t>(offset * 22050));  // soxi -s: 661794
  }
}

TEST_CASE("a WAV streamed to a pipe (placeholder data length) still decodes", "[audio]") {
  test::TempDir dir;
  std::string bytes = test::ReadBytes(test::Input("short_0.3s.wav"));
  const auto pos = bytes.find("data");
  REQUIRE(pos != std::string::npos);
  for (int i = 0; i < 4; ++i) bytes[pos + 4 + i] = '\xff';  // ffmpeg/sox write 0xFFFFFFFF
  test::WriteBytes(dir / "piped.wav", bytes);
  CHECK(LoadAudio((dir / "piped.wav").string()).samples == LoadAudio(test::Input("short_0.3s.wav").string()).samples);
}

TEST_CASE("hostile input raises the right error naming the file", "[audio][errors]") {
  test::TempDir dir;
  const std::string wav = test::ReadBytes(test::Input("short_0.3s.wav"));
  const std::string flac = test::ReadBytes(test::Input("blues.00000.flac"));

  SECTION("missing path") {
    const auto msg = MessageOf<IoError>([&] { LoadAudio((dir / "nope.wav").string()); });
    CHECK(msg == (dir / "nope.wav").string() + ": cannot open: No such file or directory");
  }
  SECTION("a directory") {
    const auto msg = MessageOf<IoError>([&] { LoadAudio(dir.path().string()); });
    CHECK(msg == dir.path().string() + ": is a directory, not an audio file");
  }
  SECTION("an empty file") {
    test::WriteBytes(dir / "empty.wav", "");
    const auto msg = MessageOf<FormatError>([&] { LoadAudio((dir / "empty.wav").string()); });
    CHECK(msg == (dir / "empty.wav").string() + ": empty file (0 bytes)");
  }
  SECTION("random bytes with an audio extension") {
    std::string junk(4096, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 7919 + 13) % 251);
    test::WriteBytes(dir / "junk.mp3", junk);
    test::WriteBytes(dir / "junk.wav", junk);
    for (const char* name : {"junk.mp3", "junk.wav"}) {
      const auto msg = MessageOf<FormatError>([&] { LoadAudio((dir / name).string()); });
      CHECK_THAT(msg, Catch::StartsWith((dir / name).string() + ": not a readable audio file ("));
    }
  }
  SECTION("a truncated WAV") {
    test::WriteBytes(dir / "cut.wav", wav.substr(0, wav.size() / 2));
    const auto msg = MessageOf<FormatError>([&] { LoadAudio((dir / "cut.wav").string()); });
    CHECK(msg == (dir / "cut.wav").string() + ": truncated file: header declares more audio data than the file holds");
  }
  SECTION("a truncated FLAC") {
    test::WriteBytes(dir / "cut.flac", flac.substr(0, flac.size() / 2));
    const auto msg = MessageOf<FormatError>([&] { LoadAudio((dir / "cut.flac").string()); });
    CHECK_THAT(msg, Catch::StartsWith((dir / "cut.flac").string() + ": "));
    CHECK_THAT(msg, Catch::Contains("decode error") || Catch::Contains("truncated"));
  }
  SECTION("a zero-length audio file") {
    SF_INFO info{};
    info.samplerate = 22050;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    sf_close(sf_open((dir / "zero.wav").c_str(), SFM_WRITE, &info));
    const auto msg = MessageOf<InputError>([&] { LoadAudio((dir / "zero.wav").string()); });
    CHECK(msg == (dir / "zero.wav").string() + ": no audio samples (0 frames)");
  }
  SECTION("a header claiming a sample rate far below audio") {
    // Found by fuzz_audio (fuzz/regressions/audio/): an AIFF at 1 Hz made 4.7 KB last 991 s.
    for (int rate : {1, 999}) {
      SF_INFO info{};
      info.samplerate = rate;
      info.channels = 1;
      info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
      const std::string path = (dir / ("rate" + std::to_string(rate) + ".wav")).string();
      SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
      REQUIRE(f);
      const std::vector<short> samples(2000, 1000);
      sf_write_short(f, samples.data(), static_cast<sf_count_t>(samples.size()));
      sf_close(f);
      const auto msg = MessageOf<FormatError>([&] { LoadAudio(path); });
      CHECK(msg ==
            path + ": sample rate " + std::to_string(rate) + " Hz is below 1000 Hz: not audio (a damaged header?)");
    }
    const std::string aiff = (test::DataDir() / "../../fuzz/regressions/audio/aiff-sample-rate-1hz").string();
    CHECK_THAT(MessageOf<FormatError>([&] { LoadAudio(aiff); }), Catch::Contains(" Hz is below 1000 Hz"));
  }
  SECTION("an offset past the end") {
    AudioReadOptions o;
    o.offset_s = 5;
    const auto path = test::Input("short_0.3s.wav").string();
    const auto msg = MessageOf<InputError>([&] { LoadAudio(path, o); });
    CHECK(msg == path + ": offset 5 s is past the end of the audio (0.3 s)");
  }
  SECTION("empty standard input") {
    const auto msg = MessageOf<FormatError>([&] { AudioStream::FromMemory("", "-"); });
    CHECK(msg == "-: empty input (0 bytes)");
  }
}

TEST_CASE("read options are validated with field, value and range", "[audio][errors]") {
  auto message = [](AudioReadOptions o) { return MessageOf<OptionError>([&] { o.Validate(); }); };
  AudioReadOptions o;
  o.offset_s = -1;
  CHECK(message(o) == "offset must be >= 0 s, got -1 s");
  o = {};
  o.duration_s = 0;
  CHECK(message(o) == "duration must be > 0 s (or < 0 for the whole file), got 0 s");
  o = {};
  o.sample_rate = -5;
  CHECK(message(o) == "sample_rate must be 0 (native) or in [1, 384000] Hz, got -5");
  o = {};
  o.block_frames = 0;
  CHECK(message(o) == "block_frames must be >= 1, got 0");
  // LoadAudio validates before touching the file.
  o = {};
  o.offset_s = -0.5;
  CHECK_THROWS_AS(LoadAudio(test::Input("short_0.3s.wav").string(), o), OptionError);
}

TEST_CASE("a float file holding NaN, Inf or absurd values is refused at the first bad sample", "[audio][errors]") {
  // Defect 2 of issue 14: NaN came back as a classification with null confidences.
  test::TempDir dir;
  const int rate = 8000;
  auto file = [&](const std::string& name, std::size_t at, float value) {
    std::vector<float> stereo(2 * 2 * rate, 0.25f);  // 2 s
    stereo[2 * at + 1] = value;                      // the right channel only
    Write(dir / name, SF_FORMAT_WAV | SF_FORMAT_FLOAT, rate, stereo);
    return (dir / name).string();
  };
  const std::string nan = file("nan.wav", rate / 2, std::numeric_limits<float>::quiet_NaN());
  CHECK(MessageOf<InputError>([&] { LoadAudio(nan); }) == nan + ": non-finite sample (NaN) at 0.5 s");
  const std::string inf = file("inf.wav", 3 * rate / 2, -std::numeric_limits<float>::infinity());
  CHECK(MessageOf<InputError>([&] { LoadAudio(inf, {.sample_rate = 22050}); }) ==
        inf + ": non-finite sample (-Inf) at 1.5 s");
  const std::string huge = file("huge.wav", rate, 3e38f);
  CHECK(MessageOf<InputError>([&] { LoadAudio(huge); }) ==
        huge + ": sample value 3e+38 at 1 s is beyond +-10000 (full scale is +-1)");
  // The time counts from the file's start, whatever the offset; loud but sane values pass.
  CHECK(MessageOf<InputError>([&] { LoadAudio(nan, {.sample_rate = 0, .offset_s = 0.25}); }) ==
        nan + ": non-finite sample (NaN) at 0.5 s");
  const Waveform loud = LoadAudio(file("loud.wav", rate, 9000.0f), {.sample_rate = 0});
  CHECK(loud.samples[rate] == Approx((0.25f + 9000.0f) / 2));
}

TEST_CASE("the stream reports the loudest sample it decoded", "[audio]") {
  test::TempDir dir;
  std::vector<float> stereo(2 * 4000, 0.0f);
  stereo[2 * 1000] = -0.5f;  // left -0.5, right 0: mono -0.25
  stereo[2 * 3000 + 1] = 0.1f;
  Write(dir / "p.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, stereo);
  AudioStream s((dir / "p.wav").string(), {.sample_rate = 16000});
  CHECK(s.peak() == 0.0f);
  std::vector<float> out(100000);
  while (s.Read(out.data(), out.size()) > 0) {
  }
  CHECK(s.peak() == Approx(0.25f));
}

}  // namespace genre
