#include "genre/train/calibration.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "genre/error.h"

namespace genre {

namespace {

// Throws InputError naming what is wrong; `what` names the caller.
void CheckInput(const std::vector<std::vector<float>>& probs, const std::vector<int>& truth, const char* what) {
  const std::string w = what;
  if (probs.empty()) throw InputError(w + ": no predictions");
  if (probs.size() != truth.size())
    throw InputError(w + ": " + std::to_string(probs.size()) + " predictions but " + std::to_string(truth.size()) +
                     " true classes");
  const std::size_t k = probs.front().size();
  if (k == 0) throw InputError(w + ": predictions with no classes");
  for (std::size_t i = 0; i < probs.size(); ++i) {
    if (probs[i].size() != k)
      throw InputError(w + ": prediction " + std::to_string(i) + " has " + std::to_string(probs[i].size()) +
                       " classes, the first " + std::to_string(k));
    for (float p : probs[i])
      if (!std::isfinite(p) || p < 0.0f)
        throw InputError(w + ": prediction " + std::to_string(i) + " holds probability " + std::to_string(p) +
                         " (must be finite and >= 0)");
    if (truth[i] < 0 || static_cast<std::size_t>(truth[i]) >= k)
      throw InputError(w + ": true class " + std::to_string(truth[i]) + " of prediction " + std::to_string(i) +
                       " is not in [0, " + std::to_string(k) + ")");
  }
}

// log(max(p, floor)) per class.
std::vector<double> Logits(const std::vector<float>& probs) {
  std::vector<double> l(probs.size());
  for (std::size_t k = 0; k < probs.size(); ++k)
    l[k] = std::log(std::max(static_cast<double>(probs[k]), kCalibrationFloor));
  return l;
}

// Mean -ln softmax(logits / T)[truth] over the tracks.
double MeanNll(const std::vector<std::vector<double>>& logits, const std::vector<int>& truth, double temperature) {
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const std::vector<double>& l = logits[i];
    const double top = *std::max_element(l.begin(), l.end()) / temperature;
    double z = 0;
    for (double v : l) z += std::exp(v / temperature - top);
    sum += top + std::log(z) - l[static_cast<std::size_t>(truth[i])] / temperature;
  }
  return sum / static_cast<double>(logits.size());
}

}  // namespace

std::vector<float> ApplyTemperature(const std::vector<float>& probs, double temperature) {
  if (!std::isfinite(temperature) || temperature <= 0)
    throw OptionError("temperature must be finite and > 0, got " + std::to_string(temperature));
  std::vector<float> out(probs.size());
  if (probs.empty()) return out;
  if (temperature == 1.0) {
    double sum = 0;
    for (float p : probs) sum += std::max(0.0, static_cast<double>(p));
    for (std::size_t k = 0; k < probs.size(); ++k)
      out[k] = sum > 0 ? static_cast<float>(std::max(0.0, static_cast<double>(probs[k])) / sum)
                       : 1.0f / static_cast<float>(probs.size());
    return out;
  }
  const std::vector<double> l = Logits(probs);
  const double top = *std::max_element(l.begin(), l.end());
  std::vector<double> e(l.size());
  double z = 0;
  for (std::size_t k = 0; k < l.size(); ++k) z += e[k] = std::exp((l[k] - top) / temperature);
  for (std::size_t k = 0; k < l.size(); ++k) out[k] = static_cast<float>(e[k] / z);
  return out;
}

double FitTemperature(const std::vector<std::vector<float>>& probs, const std::vector<int>& truth) {
  CheckInput(probs, truth, "FitTemperature");
  std::vector<std::vector<double>> logits;
  logits.reserve(probs.size());
  for (const auto& p : probs) logits.push_back(Logits(p));
  auto nll = [&](double log_t) { return MeanNll(logits, truth, std::exp(log_t)); };

  // A grid over log T (the NLL is unimodal in it), then golden-section search
  // between the neighbours of the best grid point.
  const double lo = std::log(kMinTemperature), hi = std::log(kMaxTemperature);
  constexpr int kGrid = 64;
  const double step = (hi - lo) / kGrid;
  int best = 0;
  double best_nll = nll(lo);
  for (int g = 1; g <= kGrid; ++g) {
    const double v = nll(lo + step * g);
    if (v < best_nll) {
      best_nll = v;
      best = g;
    }
  }
  double a = lo + step * std::max(0, best - 1), b = lo + step * std::min(kGrid, best + 1);
  const double r = (std::sqrt(5.0) - 1) / 2;  // 0.618...
  double c = b - r * (b - a), d = a + r * (b - a);
  double fc = nll(c), fd = nll(d);
  for (int it = 0; it < 60 && b - a > 1e-9; ++it) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - r * (b - a);
      fc = nll(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + r * (b - a);
      fd = nll(d);
    }
  }
  double x = (a + b) / 2;
  if (nll(x) > best_nll) x = lo + step * best;  // a flat objective: keep the grid's point
  return std::min(kMaxTemperature, std::max(kMinTemperature, std::exp(x)));
}

CalibrationReport Calibration(const std::vector<std::vector<float>>& probs, const std::vector<int>& truth, int bins) {
  if (bins < 1) throw OptionError("calibration bins must be >= 1, got " + std::to_string(bins));
  CheckInput(probs, truth, "Calibration");
  std::vector<double> bin_conf(static_cast<std::size_t>(bins), 0.0), bin_correct(static_cast<std::size_t>(bins), 0.0);
  std::vector<std::size_t> bin_n(static_cast<std::size_t>(bins), 0);
  std::size_t right = 0;
  double nll_sum = 0;
  for (std::size_t i = 0; i < probs.size(); ++i) {
    const std::vector<float> p = ApplyTemperature(probs[i], 1.0);
    const auto top = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    const double conf = p[top];
    const bool correct = top == static_cast<std::size_t>(truth[i]);
    const auto b = static_cast<std::size_t>(std::min(bins - 1, static_cast<int>(conf * bins)));
    bin_conf[b] += conf;
    bin_correct[b] += correct ? 1.0 : 0.0;
    ++bin_n[b];
    right += correct;
    nll_sum -= std::log(std::max(static_cast<double>(p[static_cast<std::size_t>(truth[i])]), kCalibrationFloor));
  }
  const double n = static_cast<double>(probs.size());
  CalibrationReport r;
  r.accuracy = static_cast<double>(right) / n;
  r.nll = nll_sum / n;
  for (std::size_t b = 0; b < bin_n.size(); ++b)
    if (bin_n[b]) r.ece += std::abs(bin_correct[b] - bin_conf[b]) / n;  // |acc - conf| * n_b / n
  return r;
}

CalibrationFile ReadCalibrationFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  CalibrationFile c;
  try {
    c.record = nlohmann::json::parse(in);
    c.temperature = c.record.at("temperature").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": not a calibration file: " + e.what());
  }
  if (!(c.temperature > 0 && std::isfinite(c.temperature)))
    throw FormatError(path + ": temperature must be > 0, got " + std::to_string(c.temperature));
  c.record.erase("temperature");
  return c;
}

}  // namespace genre
