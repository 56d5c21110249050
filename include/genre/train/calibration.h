// Temperature scaling of class probabilities (Guo et al. 2017, "On Calibration of
// Modern Neural Networks"), fitted on held-out predictions, and the measures of
// calibration: expected calibration error (ECE), negative log-likelihood, accuracy.
//
// The models write probabilities, not logits; log(p) is a logit vector up to a
// constant per track, so softmax(log(p) / T) is the temperature-scaled prediction.
// T > 1 flattens (an over-confident model), T < 1 sharpens; the argmax never moves.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace genre {

// Probabilities below this are taken as it before the log (a 0 stays finite).
inline constexpr double kCalibrationFloor = 1e-12;
// The range FitTemperature searches.
inline constexpr double kMinTemperature = 0.05, kMaxTemperature = 20.0;

// softmax(log(max(p, 1e-12)) / T). T == 1 returns probs divided by their sum
// (uniform where they sum to 0). Empty in, empty out. Throws OptionError unless T is
// finite and > 0.
std::vector<float> ApplyTemperature(const std::vector<float>& probs, double temperature);

// The T in [0.05, 20] that minimises the mean negative log-likelihood of the true
// class after ApplyTemperature: a grid over log T, then golden-section search around
// the best grid point (deterministic). probs[i] holds track i's class probabilities,
// truth[i] its class index. Throws InputError on empty input, a size mismatch, rows
// of different lengths, a probability that is negative or not finite, or a truth
// index out of range.
double FitTemperature(const std::vector<std::vector<float>>& probs, const std::vector<int>& truth);

struct CalibrationReport {
  double ece = 0;       // expected calibration error of the top-1 confidence, in [0, 1]
  double nll = 0;       // mean -ln p(true class), natural log, p floored at 1e-12
  double accuracy = 0;  // share of tracks whose argmax (first on ties) is the true class
};

// Each row divided by its sum first (as ApplyTemperature with T = 1 does). ECE over
// `bins` equal-width bins of the top-1 confidence (bin b holds [b/bins, (b+1)/bins),
// confidence 1 in the last): sum over bins of |accuracy - mean confidence| * n_bin / n.
// Throws InputError as FitTemperature does, OptionError unless bins >= 1.
CalibrationReport Calibration(const std::vector<std::vector<float>>& probs, const std::vector<int>& truth,
                              int bins = 15);

// A calibration.json of `genre-train calibrate`: the temperature, and the rest of the
// record (how it was fitted: tracks, ECE / NLL / accuracy before and after) for a card.
// Throws IoError (unreadable), FormatError (not JSON, no temperature > 0).
struct CalibrationFile {
  double temperature = 1.0;
  nlohmann::json record = nlohmann::json::object();
};
CalibrationFile ReadCalibrationFile(const std::string& path);

}  // namespace genre
