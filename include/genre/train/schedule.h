// Training control that needs no tensors: early stopping, ReduceLROnPlateau and
// balanced class weights. Their state is plain numbers, saved in checkpoints.
#pragma once

#include <limits>
#include <vector>

namespace genre {

// Stops when the monitored loss has not improved by more than min_delta for
// `patience` epochs in a row (Keras EarlyStopping on val_loss).
struct EarlyStoppingOptions {
  int patience = 8;          // epochs without improvement before stopping, >= 1
  double min_delta = 1e-3;   // an improvement must lower the loss by more than this
  bool restore_best = true;  // end with the weights of the best epoch
};

class EarlyStopping {
 public:
  explicit EarlyStopping(const EarlyStoppingOptions& options = {});
  // Records one epoch's loss; returns true when it is a new best.
  bool Update(double loss, int epoch);
  bool ShouldStop() const { return wait_ >= options_.patience; }
  double best() const { return best_; }
  int best_epoch() const { return best_epoch_; }
  int wait() const { return wait_; }
  void Restore(double best, int best_epoch, int wait);  // from a checkpoint

 private:
  EarlyStoppingOptions options_;
  double best_ = std::numeric_limits<double>::infinity();
  int best_epoch_ = -1, wait_ = 0;
};

// torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min", threshold_mode="rel",
// cooldown=0): after `patience` epochs without a relative improvement of
// `threshold`, the learning rate is multiplied by `factor` (not below min_lr).
struct PlateauOptions {
  double factor = 0.5;      // in (0, 1)
  int patience = 3;         // epochs, >= 0
  double threshold = 1e-4;  // relative improvement that counts
  double min_lr = 1e-5;
};

class PlateauScheduler {
 public:
  explicit PlateauScheduler(const PlateauOptions& options = {});
  // Records one epoch's loss; returns the learning rate to use next.
  double Step(double loss, double lr);
  double best() const { return best_; }
  int bad_epochs() const { return bad_; }
  void Restore(double best, int bad_epochs);

 private:
  PlateauOptions options_;
  double best_ = std::numeric_limits<double>::infinity();
  int bad_ = 0;
};

// sklearn's class_weight="balanced": w_c = n / (k * n_c). A class without
// examples gets weight 0. labels hold indices in [0, k).
std::vector<double> BalancedClassWeights(const std::vector<int>& labels, int k);

}  // namespace genre
