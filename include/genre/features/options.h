// Front-end options. Every default is librosa 0.10's, so a default-constructed
// FrontEndOptions computes what librosa.feature.melspectrogram / mfcc compute.
#pragma once

#include <string>

namespace genre {

// How frames reaching past either end of the signal are filled when centred.
enum class PadMode {
  kConstant,  // zeros (librosa's stft default since 0.10)
  kReflect,   // numpy 'reflect': x[-i] = x[i], the edge sample not repeated
  kEdge,      // numpy 'edge': the first / last sample repeated
};
std::string ToString(PadMode mode);
PadMode ParsePadMode(const std::string& name);  // "constant" | "reflect" | "edge"; throws OptionError

struct StftOptions {
  int n_fft = 2048;      // samples per frame and FFT size
  int hop_length = 512;  // samples between frame starts, in (0, n_fft]
  bool center = true;    // pad n_fft/2 samples each side: frame t is centred on sample t*hop
  PadMode pad_mode = PadMode::kConstant;
  // Window: periodic Hann, 0.5 - 0.5 cos(2 pi n / n_fft) (scipy 'hann', fftbins=True).
  void Validate() const;  // throws OptionError
};

struct MelOptions {
  int n_mels = 128;         // bands, >= 1
  double fmin_hz = 0.0;     // lowest band edge, [0, fmax)
  double fmax_hz = -1.0;    // highest band edge; < 0 means sample_rate / 2
  bool htk = false;         // false: Slaney mel scale (librosa default); true: HTK formula
  bool slaney_norm = true;  // scale each band by 2 / (f[m+2] - f[m]) (librosa norm='slaney')
  double FmaxHz(int sample_rate) const { return fmax_hz < 0 ? sample_rate / 2.0 : fmax_hz; }
  void Validate(int sample_rate) const;  // throws OptionError
};

// power_to_db: 10 log10(max(amin, S)) - 10 log10(max(amin, ref)), floored at max - top_db.
struct DbOptions {
  double ref = 1.0;       // reference power (ignored when ref_max)
  bool ref_max = false;   // use the maximum of the input as reference (librosa ref=np.max)
  double amin = 1e-10;    // floor on S and ref, > 0
  double top_db = 80.0;   // dynamic range below the peak, in dB; <= 0 disables the floor
  void Validate() const;  // throws OptionError
};

struct MfccOptions {
  int n_mfcc = 20;  // coefficients kept, in [1, n_mels]; orthonormal DCT-II, no lifter
};

struct SpectralOptions {
  double rolloff_percent = 0.85;  // roll-off: lowest bin with cumulative magnitude >= this share
};

struct FrontEndOptions {
  int sample_rate = 22050;  // Hz of the signal the front end is given
  StftOptions stft;
  double power = 2.0;  // exponent on |STFT| for the mel spectrogram (1 magnitude, 2 power)
  MelOptions mel;
  DbOptions db;
  MfccOptions mfcc;
  SpectralOptions spectral;
  void Validate() const;  // validates every nested struct; throws OptionError
};

}  // namespace genre
