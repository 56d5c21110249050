#include "genre/features/options.h"

#include <cmath>
#include <sstream>

#include "genre/error.h"

namespace genre {
namespace {

std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

std::string ToString(PadMode mode) {
  switch (mode) {
    case PadMode::kConstant:
      return "constant";
    case PadMode::kReflect:
      return "reflect";
    case PadMode::kEdge:
      return "edge";
  }
  return "?";
}

PadMode ParsePadMode(const std::string& name) {
  if (name == "constant") return PadMode::kConstant;
  if (name == "reflect") return PadMode::kReflect;
  if (name == "edge") return PadMode::kEdge;
  throw OptionError("pad_mode must be one of constant, reflect, edge; got '" + name + "'");
}

void StftOptions::Validate() const {
  if (n_fft < 2 || n_fft > (1 << 20)) throw OptionError("n_fft must be in [2, 1048576], got " + std::to_string(n_fft));
  if (hop_length < 1 || hop_length > n_fft)
    throw OptionError("hop_length must be in [1, n_fft = " + std::to_string(n_fft) + "], got " +
                      std::to_string(hop_length));
}

void MelOptions::Validate(int sample_rate) const {
  if (n_mels < 1 || n_mels > 4096) throw OptionError("n_mels must be in [1, 4096], got " + std::to_string(n_mels));
  const double nyquist = sample_rate / 2.0;
  const double fmax = FmaxHz(sample_rate);
  if (!(fmax <= nyquist) || !(fmax > 0))
    throw OptionError("fmax must be in (0, sample_rate / 2 = " + Num(nyquist) + "] Hz, got " + Num(fmax_hz));
  if (!(fmin_hz >= 0) || !(fmin_hz < fmax))
    throw OptionError("fmin must be in [0, fmax = " + Num(fmax) + ") Hz, got " + Num(fmin_hz));
}

void DbOptions::Validate() const {
  if (!(amin > 0)) throw OptionError("amin must be > 0, got " + Num(amin));
  if (!ref_max && !(ref > 0)) throw OptionError("ref must be > 0, got " + Num(ref));
  if (std::isnan(top_db)) throw OptionError("top_db must be a number (<= 0 disables), got nan");
}

void FrontEndOptions::Validate() const {
  if (sample_rate < 1 || sample_rate > 384000)
    throw OptionError("sample_rate must be in [1, 384000] Hz, got " + std::to_string(sample_rate));
  stft.Validate();
  if (!(power > 0) || !std::isfinite(power)) throw OptionError("power must be > 0, got " + Num(power));
  mel.Validate(sample_rate);
  db.Validate();
  if (mfcc.n_mfcc < 1 || mfcc.n_mfcc > mel.n_mels)
    throw OptionError("n_mfcc must be in [1, n_mels = " + std::to_string(mel.n_mels) + "], got " +
                      std::to_string(mfcc.n_mfcc));
  if (!(spectral.rolloff_percent > 0 && spectral.rolloff_percent < 1))
    throw OptionError("rolloff_percent must be in (0, 1), got " + Num(spectral.rolloff_percent));
}

}  // namespace genre
