#include "genre/train/predictions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "genre/data/dataset.h"
#include "genre/error.h"
#include "genre/util/csv.h"

namespace genre {

PredictionFile ReadPredictions(const std::string& path) {
  CsvFile file(path, /*comments=*/false);
  PredictionFile out;
  out.path = path;
  std::vector<std::string> f;
  const std::vector<std::string> head = {"path", "label", "group", "fold"};
  if (!file.Next(f) || f.size() < head.size() + 2 || !std::equal(head.begin(), head.end(), f.begin()))
    throw FormatError(path + ": not a predictions file (header path,label,group,fold,<genres...>)");
  out.classes.assign(f.begin() + 4, f.end());
  while (file.Next(f)) {
    const std::string where = path + ":" + std::to_string(file.line());
    if (f.size() != out.classes.size() + 4)
      throw FormatError(where + ": expected " + std::to_string(out.classes.size() + 4) + " fields, got " +
                        std::to_string(f.size()));
    PredictionRow r{f[0], f[1], f[2], 0, {}};
    long fold = -1;
    if (!ParseNumber(f[3], fold) || fold < 0) throw FormatError(where + ": fold '" + f[3] + "' is not a number >= 0");
    r.fold = static_cast<int>(fold);
    for (std::size_t k = 4; k < f.size(); ++k) {
      double v = -1;
      const bool number = ParseNumber(f[k], v);
      const auto p = static_cast<float>(v);  // probabilities are float, as the runs wrote them
      if (!number || !(p >= 0.0f && p <= 1.0f))
        throw FormatError(where + ": probability '" + f[k] + "' is not in [0, 1]");
      r.probs.push_back(p);
    }
    out.rows.push_back(std::move(r));
  }
  if (!file.problems().empty()) throw FormatError(file.problems().front());
  if (out.rows.empty()) throw FormatError(path + ": no predictions");
  return out;
}

std::string PredictionsCsv(const std::vector<std::string>& classes, const std::vector<PredictionRow>& rows) {
  std::string out = "path,label,group,fold";
  for (const std::string& c : classes) out.append(",").append(CsvField(c));
  out += "\n";
  char buf[32];
  for (const PredictionRow& r : rows) {
    out += CsvField(r.path) + "," + CsvField(r.label) + "," + CsvField(r.group) + "," + std::to_string(r.fold);
    for (float p : r.probs) {
      std::snprintf(buf, sizeof buf, ",%.7g", static_cast<double>(p));
      out += buf;
    }
    out += "\n";
  }
  return out;
}

namespace {
void MeanStd(const std::vector<double>& v, double& mean, double& sd) {
  mean = sd = 0;
  if (v.empty()) return;
  for (double x : v) mean += x / static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
  sd = std::sqrt(var);
}

int Argmax(const std::vector<float>& p) { return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()); }
}  // namespace

FoldedMetrics ScoreFolds(const std::vector<int>& truth, const std::vector<std::vector<float>>& probs,
                         const std::vector<int>& fold, const std::vector<std::string>& classes) {
  if (truth.size() != probs.size() || truth.size() != fold.size())
    throw OptionError("ScoreFolds: truth, probs and fold differ in length");
  FoldedMetrics m;
  std::vector<int> predicted;
  for (const auto& p : probs) predicted.push_back(Argmax(p));
  std::vector<double> accuracy, f1;
  for (int f : std::set<int>(fold.begin(), fold.end())) {
    std::vector<int> t, p;
    for (std::size_t i = 0; i < truth.size(); ++i)
      if (fold[i] == f) {
        t.push_back(truth[i]);
        p.push_back(predicted[i]);
      }
    m.folds.push_back(ComputeMetrics(t, p, classes));
    m.fold_ids.push_back(f);
    accuracy.push_back(m.folds.back().accuracy);
    f1.push_back(m.folds.back().macro_f1);
  }
  MeanStd(accuracy, m.accuracy_mean, m.accuracy_std);
  MeanStd(f1, m.macro_f1_mean, m.macro_f1_std);
  m.pooled = ComputeMetrics(truth, predicted, classes);
  return m;
}

JoinedPredictions JoinPredictions(const std::vector<PredictionFile>& files) {
  if (files.empty()) throw OptionError("JoinPredictions: no files");
  JoinedPredictions j;
  j.classes = files.front().classes;
  std::vector<std::map<std::string, const PredictionRow*>> by_stem(files.size());
  std::vector<std::vector<std::size_t>> to(files.size());  // file class -> joined class
  for (std::size_t f = 0; f < files.size(); ++f) {
    std::vector<std::string> a = files[f].classes, b = j.classes;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) throw InputError(files[f].path + ": its genres differ from those of " + files.front().path);
    for (const std::string& c : files[f].classes)
      to[f].push_back(static_cast<std::size_t>(std::find(j.classes.begin(), j.classes.end(), c) - j.classes.begin()));
    for (const PredictionRow& r : files[f].rows)
      if (!by_stem[f].emplace(FileStem(r.path), &r).second)
        throw InputError(files[f].path + ": " + FileStem(r.path) + " is predicted twice");
  }
  j.probs.resize(files.size());
  for (const PredictionRow& r : files.front().rows) {
    const std::string stem = FileStem(r.path);
    std::vector<const PredictionRow*> found;
    for (std::size_t f = 0; f < files.size(); ++f) {
      const auto it = by_stem[f].find(stem);
      if (it == by_stem[f].end()) break;
      const PredictionRow& o = *it->second;
      if (o.label != r.label || o.fold != r.fold)
        throw InputError(stem + ": " + files[f].path + " has genre " + o.label + ", fold " + std::to_string(o.fold) +
                         "; " + files.front().path + " genre " + r.label + ", fold " + std::to_string(r.fold) +
                         " (were the runs made with the same --folds-from file?)");
      found.push_back(&o);
    }
    if (found.size() != files.size()) continue;
    const auto label = std::find(j.classes.begin(), j.classes.end(), r.label) - j.classes.begin();
    if (label == static_cast<long>(j.classes.size()))
      throw InputError(files.front().path + ": " + stem + " has genre " + r.label + ", not one of the file's");
    j.rows.push_back(r);
    j.truth.push_back(static_cast<int>(label));
    for (std::size_t f = 0; f < files.size(); ++f) {
      std::vector<float> p(j.classes.size(), 0.0f);
      for (std::size_t k = 0; k < to[f].size(); ++k) p[to[f][k]] = found[f]->probs[k];
      j.probs[f].push_back(std::move(p));
    }
  }
  if (j.rows.empty()) throw InputError("the prediction files share no recording (file stem)");
  return j;
}

std::vector<std::vector<float>> MeanPredictions(const JoinedPredictions& j) {
  std::vector<std::vector<float>> mean(j.rows.size(), std::vector<float>(j.classes.size(), 0.0f));
  for (const auto& file : j.probs)
    for (std::size_t i = 0; i < file.size(); ++i)
      for (std::size_t k = 0; k < j.classes.size(); ++k) mean[i][k] += file[i][k] / static_cast<float>(j.probs.size());
  return mean;
}

}  // namespace genre
