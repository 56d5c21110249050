// Classification metrics: accuracy, per-class precision / recall / F1, macro-F1
// and the confusion matrix, with text, CSV and JSON renderings.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace genre {

struct ClassMetrics {
  std::string label;
  double precision = 0, recall = 0, f1 = 0;  // 0 where undefined (no predictions / no support)
  std::size_t support = 0;                   // true examples of the class
};

struct Metrics {
  std::vector<std::string> classes;
  std::vector<std::vector<std::size_t>> confusion;  // [true class][predicted class]
  std::size_t n = 0;
  double accuracy = 0;
  double macro_f1 = 0;  // mean F1 over classes with support > 0
  std::vector<ClassMetrics> per_class;
};

// truth and predicted hold class indices in [0, classes.size()); throws OptionError otherwise.
Metrics ComputeMetrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                       const std::vector<std::string>& classes);

std::string ConfusionTable(const Metrics& m);  // aligned text, rows = true, columns = predicted
std::string ConfusionCsv(const Metrics& m);    // "true\\predicted,<classes...>" header
std::string ClassReport(const Metrics& m);     // per-class P/R/F1/support + accuracy + macro-F1
nlohmann::json ToJson(const Metrics& m);

}  // namespace genre
