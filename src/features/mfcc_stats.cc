#include "genre/features/mfcc_stats.h"

#include <cmath>

#include "genre/error.h"
#include "genre/features/frontend.h"

namespace genre {

FrontEndOptions MsdMfccFrontEnd() {
  FrontEndOptions o;
  o.sample_rate = kMsdSampleRate;
  o.stft.n_fft = 2048;
  o.stft.hop_length = 512;
  o.stft.pad_mode = PadMode::kReflect;
  o.mel.n_mels = 128;
  o.mfcc.n_mfcc = 20;
  return o;
}

std::vector<double> MsdMfccStatistics(std::span<const float> signal) {
  static const FrontEnd front_end(MsdMfccFrontEnd());
  const Matrix mfcc = front_end.Compute(signal, kMfcc).mfcc;  // [20, T]
  const std::size_t n = mfcc.rows, T = mfcc.cols;
  if (T < 3) throw InputError("too short for MFCC statistics: " + std::to_string(T) + " frames, need 3");
  std::vector<double> out(6 * n);
  std::vector<double> x(T), d(T - 1), dd(T - 2);
  auto stats = [](const std::vector<double>& v, double& mean, double& sd) {
    double s = 0, q = 0;
    for (double a : v) s += a;
    mean = s / static_cast<double>(v.size());
    for (double a : v) q += (a - mean) * (a - mean);
    sd = std::sqrt(q / static_cast<double>(v.size()));
  };
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t t = 0; t < T; ++t) x[t] = mfcc(r, t);
    for (std::size_t t = 0; t + 1 < T; ++t) d[t] = x[t + 1] - x[t];
    for (std::size_t t = 0; t + 1 < T - 1; ++t) dd[t] = d[t + 1] - d[t];
    stats(x, out[r], out[n + r]);
    stats(d, out[2 * n + r], out[3 * n + r]);
    stats(dd, out[4 * n + r], out[5 * n + r]);
  }
  return out;
}

}  // namespace genre
