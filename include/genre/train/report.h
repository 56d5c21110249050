// What a training run leaves behind: per-epoch history (CSV), learning curves and
// the confusion matrix drawn by gnuplot (SVG, through a pipe).
#pragma once

#include <string>
#include <vector>

#include "genre/train/metrics.h"

namespace genre {

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  double valid_loss = 0, valid_accuracy = 0, valid_track_accuracy = 0;  // 0 without validation
  double lr = 0, seconds = 0, windows_per_second = 0;
  bool best = false;
};

// epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,valid_track_accuracy,lr,seconds,windows_per_second,best
std::string HistoryCsv(const std::vector<EpochStats>& history);

// Writes a text file atomically; throws IoError.
void WriteTextFile(const std::string& path, const std::string& text);

// Draw with gnuplot (gnuplot-nox); return false, writing nothing, when gnuplot is
// not installed or fails, so a run without it still succeeds.
bool PlotLearningCurves(const std::string& svg_path, const std::vector<EpochStats>& history, const std::string& title);
bool PlotConfusion(const std::string& svg_path, const Metrics& metrics, const std::string& title);

}  // namespace genre
