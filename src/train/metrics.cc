#include "genre/train/metrics.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "genre/error.h"

namespace genre {

Metrics ComputeMetrics(const std::vector<int>& truth, const std::vector<int>& predicted,
                       const std::vector<std::string>& classes) {
  if (truth.size() != predicted.size())
    throw OptionError("metrics: " + std::to_string(truth.size()) + " labels but " + std::to_string(predicted.size()) +
                      " predictions");
  const std::size_t k = classes.size();
  Metrics m;
  m.classes = classes;
  m.confusion.assign(k, std::vector<std::size_t>(k, 0));
  m.n = truth.size();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || predicted[i] < 0 || static_cast<std::size_t>(truth[i]) >= k ||
        static_cast<std::size_t>(predicted[i]) >= k)
      throw OptionError("metrics: class index out of range at example " + std::to_string(i));
    ++m.confusion[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(predicted[i])];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = m.n ? static_cast<double>(correct) / static_cast<double>(m.n) : 0.0;
  double f1_sum = 0;
  std::size_t with_support = 0;
  for (std::size_t c = 0; c < k; ++c) {
    ClassMetrics cm;
    cm.label = classes[c];
    std::size_t predicted_c = 0;
    for (std::size_t t = 0; t < k; ++t) {
      cm.support += m.confusion[c][t];
      predicted_c += m.confusion[t][c];
    }
    const double tp = static_cast<double>(m.confusion[c][c]);
    cm.precision = predicted_c ? tp / static_cast<double>(predicted_c) : 0.0;
    cm.recall = cm.support ? tp / static_cast<double>(cm.support) : 0.0;
    cm.f1 = cm.precision + cm.recall > 0 ? 2 * cm.precision * cm.recall / (cm.precision + cm.recall) : 0.0;
    if (cm.support > 0) {
      f1_sum += cm.f1;
      ++with_support;
    }
    m.per_class.push_back(cm);
  }
  m.macro_f1 = with_support ? f1_sum / static_cast<double>(with_support) : 0.0;
  return m;
}

std::string ConfusionTable(const Metrics& m) {
  const std::size_t k = m.classes.size();
  std::size_t first = 9;  // "true\pred"
  for (const std::string& c : m.classes) first = std::max(first, c.size());
  std::vector<std::size_t> width(k, 0);
  for (std::size_t p = 0; p < k; ++p) {
    width[p] = m.classes[p].size();
    for (std::size_t t = 0; t < k; ++t) width[p] = std::max(width[p], std::to_string(m.confusion[t][p]).size());
  }
  std::ostringstream os;
  auto right = [](const std::string& s, std::size_t w) { return std::string(w + 2 - std::min(w, s.size()), ' ') + s; };
  os << "true\\pred" << std::string(first - 9, ' ');
  for (std::size_t p = 0; p < k; ++p) os << right(m.classes[p], width[p]);
  os << '\n';
  for (std::size_t t = 0; t < k; ++t) {
    os << m.classes[t] << std::string(first - m.classes[t].size(), ' ');
    for (std::size_t p = 0; p < k; ++p) os << right(std::to_string(m.confusion[t][p]), width[p]);
    os << '\n';
  }
  return os.str();
}

std::string ConfusionCsv(const Metrics& m) {
  std::ostringstream os;
  os << "true\\predicted";
  for (const std::string& c : m.classes) os << ',' << c;
  os << '\n';
  for (std::size_t t = 0; t < m.classes.size(); ++t) {
    os << m.classes[t];
    for (std::size_t v : m.confusion[t]) os << ',' << v;
    os << '\n';
  }
  return os.str();
}

std::string ClassReport(const Metrics& m) {
  std::size_t width = 9;
  for (const std::string& c : m.classes) width = std::max(width, c.size());
  std::ostringstream os;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %8s\n", static_cast<int>(width), "class", "precision", "recall",
                "f1", "support");
  os << buf;
  for (const ClassMetrics& c : m.per_class) {
    std::snprintf(buf, sizeof buf, "%-*s %9.3f %9.3f %9.3f %8zu\n", static_cast<int>(width), c.label.c_str(),
                  c.precision, c.recall, c.f1, c.support);
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "accuracy %.4f, macro-F1 %.4f over %zu examples\n", m.accuracy, m.macro_f1, m.n);
  os << buf;
  return os.str();
}

nlohmann::json ToJson(const Metrics& m) {
  nlohmann::json per_class = nlohmann::json::array();
  for (const ClassMetrics& c : m.per_class)
    per_class.push_back(
        {{"label", c.label}, {"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}});
  return {{"n", m.n},
          {"accuracy", m.accuracy},
          {"macro_f1", m.macro_f1},
          {"classes", m.classes},
          {"confusion", m.confusion},
          {"per_class", per_class}};
}

}  // namespace genre
