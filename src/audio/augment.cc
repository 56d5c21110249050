#include "genre/audio/augment.h"

#include <sndfile.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <complex>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "genre/audio/audio_reader.h"
#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/features/fft.h"

namespace genre {

std::string AudioAugmentOptions::Text() const {
  return nlohmann::json{{"gain_db", gain_db}, {"tilt_db", tilt_db},           {"pitch_semitones", pitch_semitones},
                        {"stretch", stretch}, {"noise_snr_db", noise_snr_db}, {"mp3_share", mp3_share}}
      .dump();
}

void AudioAugmentOptions::Validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw OptionError(what);
  };
  need(gain_db >= 0 && gain_db <= 40, "augment gain_db must be in [0, 40], got " + std::to_string(gain_db));
  need(tilt_db >= 0 && tilt_db <= 24, "augment tilt_db must be in [0, 24], got " + std::to_string(tilt_db));
  need(pitch_semitones >= 0 && pitch_semitones <= 12,
       "augment pitch_semitones must be in [0, 12], got " + std::to_string(pitch_semitones));
  need(stretch >= 0 && stretch < 0.5, "augment stretch must be in [0, 0.5), got " + std::to_string(stretch));
  need(noise_snr_db >= 0, "augment noise_snr_db must be >= 0, got " + std::to_string(noise_snr_db));
  need(mp3_share >= 0 && mp3_share <= 1, "augment mp3_share must be in [0, 1], got " + std::to_string(mp3_share));
}

std::vector<float> TimeStretch(const std::vector<float>& y, double rate) {
  if (!(rate > 0)) throw OptionError("time-stretch rate must be > 0");
  constexpr int n_fft = 2048, hop = 512, bins = n_fft / 2 + 1;
  if (y.empty()) return {};
  const RealFft fft(n_fft);
  std::vector<double> window(n_fft);
  for (int i = 0; i < n_fft; ++i) window[static_cast<std::size_t>(i)] = 0.5 - 0.5 * std::cos(2 * M_PI * i / n_fft);
  // Centred STFT (zero padding), as librosa.
  const auto n = static_cast<long>(y.size());
  const long frames = 1 + n / hop;
  auto sample = [&](long i) { return i >= 0 && i < n ? static_cast<double>(y[static_cast<std::size_t>(i)]) : 0.0; };
  AlignedBuffer<double> frame(n_fft);
  AlignedBuffer<std::complex<double>> spec(bins);
  std::vector<std::vector<std::complex<double>>> S(static_cast<std::size_t>(frames));
  for (long t = 0; t < frames; ++t) {
    for (int i = 0; i < n_fft; ++i)
      frame[static_cast<std::size_t>(i)] = window[static_cast<std::size_t>(i)] * sample(t * hop - n_fft / 2 + i);
    fft.Forward(frame.data(), spec.data());
    S[static_cast<std::size_t>(t)].assign(spec.data(), spec.data() + bins);
  }
  // Phase vocoder (librosa.phase_vocoder): magnitudes interpolated, phases advanced.
  std::vector<double> advance(bins), phase(bins);
  for (int k = 0; k < bins; ++k) {
    advance[static_cast<std::size_t>(k)] = M_PI * hop * k / (n_fft / 2);
    phase[static_cast<std::size_t>(k)] = std::arg(S[0][static_cast<std::size_t>(k)]);
  }
  std::vector<std::vector<std::complex<double>>> out;
  std::vector<std::complex<double>> zero(bins);
  for (double step = 0; step < static_cast<double>(frames); step += rate) {
    const auto t = static_cast<std::size_t>(step);
    const double alpha = step - static_cast<double>(t);
    const auto& c0 = S[t];
    const auto& c1 = t + 1 < S.size() ? S[t + 1] : zero;
    std::vector<std::complex<double>> col(bins);
    for (std::size_t k = 0; k < static_cast<std::size_t>(bins); ++k) {
      const double mag = (1 - alpha) * std::abs(c0[k]) + alpha * std::abs(c1[k]);
      col[k] = std::polar(mag, phase[k]);
      double dphase = std::arg(c1[k]) - std::arg(c0[k]) - advance[k];
      dphase -= 2 * M_PI * std::round(dphase / (2 * M_PI));
      phase[k] += advance[k] + dphase;
    }
    out.push_back(std::move(col));
  }
  // Inverse STFT: overlap-add with the window, normalised by the summed squared window.
  const auto length = static_cast<std::size_t>(std::lround(static_cast<double>(n) / rate));
  const std::size_t span = out.size() * hop + n_fft;
  std::vector<std::pair<double, double>> acc(span, {0.0, 0.0});  // overlap-added signal, summed squared window
  AlignedBuffer<double> time(n_fft);
  for (std::size_t t = 0; t < out.size(); ++t) {
    std::copy(out[t].begin(), out[t].end(), spec.data());
    fft.Inverse(spec.data(), time.data());
    for (int i = 0; i < n_fft; ++i) {
      const std::size_t at = t * hop + static_cast<std::size_t>(i);
      acc[at].first += window[static_cast<std::size_t>(i)] * time[static_cast<std::size_t>(i)] / n_fft;
      acc[at].second += window[static_cast<std::size_t>(i)] * window[static_cast<std::size_t>(i)];
    }
  }
  std::vector<float> result(length, 0.0f);
  for (std::size_t i = 0; i < length; ++i) {
    const std::size_t at = i + n_fft / 2;  // undo the centring
    if (at < span && acc[at].second > 1e-8) result[i] = static_cast<float>(acc[at].first / acc[at].second);
  }
  return result;
}

std::vector<float> PitchShift(const std::vector<float>& y, int sample_rate, double semitones) {
  const double rate = std::pow(2.0, -semitones / 12.0);
  return Resample(TimeStretch(y, rate), sample_rate / rate, sample_rate, y.size());
}

void Tilt(std::vector<float>& y, int sample_rate, double db) {
  const double a = std::exp(-2 * M_PI * 1000.0 / sample_rate);  // one-pole low-pass at 1 kHz
  const double low = std::pow(10.0, -db / 40.0), high = std::pow(10.0, db / 40.0);
  double lp = 0;
  for (float& v : y) {
    lp = (1 - a) * v + a * lp;
    v = static_cast<float>(low * lp + high * (v - lp));
  }
}

void AddNoise(std::vector<float>& y, double snr_db, std::uint64_t seed) {
  double power = 0;
  for (float v : y) power += static_cast<double>(v) * v;
  power /= std::max<std::size_t>(y.size(), 1);
  const double sd = std::sqrt(power * std::pow(10.0, -snr_db / 10.0));
  SplitMix64 rng(seed);
  for (float& v : y) {  // Box-Muller
    const double u1 = std::max(rng.Uniform(), 1e-300), u2 = rng.Uniform();
    v = static_cast<float>(v + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
}

std::vector<float> Mp3RoundTrip(const std::vector<float>& y, int sample_rate) {
  struct TempFile {
    std::string path;
    ~TempFile() {
      if (!path.empty()) std::filesystem::remove(path);
    }
  } tmp;
  std::string name = (std::filesystem::temp_directory_path() / "genre-mp3-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw IoError("cannot make a temporary file for the MP3 round trip");
  ::close(fd);
  tmp.path = name;
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  {
    std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> f(sf_open(tmp.path.c_str(), SFM_WRITE, &info), sf_close);
    if (!f) throw FormatError(std::string("MP3 encoding is not available: ") + sf_strerror(nullptr));
    double quality = 0.5;  // LAME VBR quality in [0, 1]
    sf_command(f.get(), SFC_SET_VBR_ENCODING_QUALITY, &quality, sizeof quality);
    if (sf_writef_float(f.get(), y.data(), static_cast<sf_count_t>(y.size())) != static_cast<sf_count_t>(y.size()))
      throw FormatError(std::string("MP3 encoding failed: ") + sf_strerror(f.get()));
  }
  AudioReadOptions read;
  read.sample_rate = sample_rate;
  std::vector<float> out = LoadAudio(tmp.path, read).samples;
  out.resize(y.size(), 0.0f);  // the codec's padding trimmed, a short tail padded
  return out;
}

std::vector<float> AugmentAudio(const std::vector<float>& samples, int sample_rate, std::uint64_t seed,
                                const AudioAugmentOptions& o) {
  o.Validate();
  if (samples.empty()) throw InputError("nothing to augment: no samples");
  SplitMix64 rng(seed);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * rng.Uniform(); };
  const double gain = uniform(-o.gain_db, o.gain_db), tilt = uniform(-o.tilt_db, o.tilt_db);
  const double semitones = uniform(-o.pitch_semitones, o.pitch_semitones);
  const double rate = uniform(1 - o.stretch, 1 + o.stretch);
  const double snr = uniform(o.noise_snr_db, o.noise_snr_db + 20);
  const bool mp3 = rng.Uniform() < o.mp3_share;
  const std::uint64_t noise_seed = rng.Next();
  std::vector<float> y = o.pitch_semitones > 0 ? PitchShift(samples, sample_rate, semitones) : samples;
  if (o.stretch > 0) y = TimeStretch(y, rate);
  Tilt(y, sample_rate, tilt);
  const float g = static_cast<float>(std::pow(10.0, gain / 20.0));
  for (float& v : y) v *= g;
  AddNoise(y, snr, noise_seed);
  if (mp3) y = Mp3RoundTrip(y, sample_rate);
  return y;
}

}  // namespace genre
