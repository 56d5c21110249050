#include "genre/train/schedule.h"

#include <algorithm>
#include <string>

#include "genre/error.h"

namespace genre {

EarlyStopping::EarlyStopping(const EarlyStoppingOptions& options) : options_(options) {
  if (options.patience < 1)
    throw OptionError("early_stopping.patience must be >= 1, got " + std::to_string(options.patience));
  if (options.min_delta < 0)
    throw OptionError("early_stopping.min_delta must be >= 0, got " + std::to_string(options.min_delta));
}

bool EarlyStopping::Update(double loss, int epoch) {
  if (loss < best_ - options_.min_delta) {
    best_ = loss;
    best_epoch_ = epoch;
    wait_ = 0;
    return true;
  }
  ++wait_;
  return false;
}

void EarlyStopping::Restore(double best, int best_epoch, int wait) {
  best_ = best;
  best_epoch_ = best_epoch;
  wait_ = wait;
}

PlateauScheduler::PlateauScheduler(const PlateauOptions& options) : options_(options) {
  if (!(options.factor > 0 && options.factor < 1))
    throw OptionError("plateau.factor must be in (0, 1), got " + std::to_string(options.factor));
  if (options.patience < 0) throw OptionError("plateau.patience must be >= 0, got " + std::to_string(options.patience));
  if (options.min_lr < 0) throw OptionError("plateau.min_lr must be >= 0, got " + std::to_string(options.min_lr));
}

double PlateauScheduler::Step(double loss, double lr) {
  if (loss < best_ * (1.0 - options_.threshold)) {
    best_ = loss;
    bad_ = 0;
    return lr;
  }
  if (++bad_ > options_.patience) {
    bad_ = 0;
    return std::max(lr * options_.factor, options_.min_lr);
  }
  return lr;
}

void PlateauScheduler::Restore(double best, int bad_epochs) {
  best_ = best;
  bad_ = bad_epochs;
}

std::vector<double> BalancedClassWeights(const std::vector<int>& labels, int k) {
  if (k < 1) throw OptionError("class weights need k >= 1 classes, got " + std::to_string(k));
  std::vector<std::size_t> count(static_cast<std::size_t>(k), 0);
  for (int l : labels) {
    if (l < 0 || l >= k)
      throw OptionError("class index " + std::to_string(l) + " outside [0, " + std::to_string(k) + ")");
    ++count[static_cast<std::size_t>(l)];
  }
  std::vector<double> w(static_cast<std::size_t>(k), 0.0);
  for (std::size_t c = 0; c < w.size(); ++c)
    if (count[c]) w[c] = static_cast<double>(labels.size()) / (static_cast<double>(k) * static_cast<double>(count[c]));
  return w;
}

}  // namespace genre
