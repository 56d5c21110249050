// Audio augmentation for training on the MSD convnet's features: random variants of
// a song (gain, EQ tilt, pitch shift, time stretch, added noise, an MP3 round trip
// through libsndfile), each drawn from a seed so a variant is the same every run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace genre {

struct AudioAugmentOptions {
  double gain_db = 6.0;          // gain uniform in [-gain_db, gain_db]
  double tilt_db = 6.0;          // EQ tilt: lows and highs (split at 1 kHz) moved oppositely by up to this
  double pitch_semitones = 2.0;  // pitch shift uniform in [-, +] (time kept: stretch, then resample)
  double stretch = 0.1;          // time-stretch rate uniform in [1 - stretch, 1 + stretch]
  double noise_snr_db = 20.0;    // white noise at an SNR uniform in [noise_snr_db, noise_snr_db + 20] dB
  double mp3_share = 0.5;        // share of variants that go through MP3 (128 kbit/s, libsndfile + LAME)
  void Validate() const;         // throws OptionError naming the field
  std::string Text() const;      // the options as one line of JSON (what identifies cached variants)
};

// One variant of a mono signal at `sample_rate`: every transform above, each with
// amounts drawn from `seed`. Throws InputError for an empty signal.
std::vector<float> AugmentAudio(const std::vector<float>& samples, int sample_rate, std::uint64_t seed,
                                const AudioAugmentOptions& options = {});

// The transforms, one by one.
// Phase-vocoder time stretch (librosa.effects.time_stretch: n_fft 2048, hop 512):
// `rate` > 1 is faster; about n / rate samples come out.
std::vector<float> TimeStretch(const std::vector<float>& y, double rate);
// Pitch shift by `semitones`, the length kept (time stretch, then resampling with libsoxr).
std::vector<float> PitchShift(const std::vector<float>& y, int sample_rate, double semitones);
// Lows (one-pole low-pass at 1 kHz) scaled by -db/2 dB, the rest by +db/2 dB.
void Tilt(std::vector<float>& y, int sample_rate, double db);
// White noise (seeded) at `snr_db` below the signal's power.
void AddNoise(std::vector<float>& y, double snr_db, std::uint64_t seed);
// Encodes to MP3 and decodes back (libsndfile); throws FormatError when this
// libsndfile cannot encode MP3, IoError when no temporary file can be made.
std::vector<float> Mp3RoundTrip(const std::vector<float>& y, int sample_rate);

}  // namespace genre
