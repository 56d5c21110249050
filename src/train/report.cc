#include "genre/train/report.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "genre/error.h"
#include "genre/util/atomic_file.h"

namespace genre {

std::string HistoryCsv(const std::vector<EpochStats>& history) {
  std::ostringstream os;
  os << "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,valid_track_accuracy,lr,seconds,"
        "windows_per_second,best\n";
  char buf[320];
  for (const EpochStats& s : history) {
    std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.8g,%.3f,%.1f,%d\n", s.epoch, s.train_loss,
                  s.train_accuracy, s.valid_loss, s.valid_accuracy, s.valid_track_accuracy, s.lr, s.seconds,
                  s.windows_per_second, s.best ? 1 : 0);
    os << buf;
  }
  return os.str();
}

void WriteTextFile(const std::string& path, const std::string& text) {
  WriteAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.flush();
    if (!out) throw OutputError(path + ": cannot write");
  });
}

namespace {

std::string Quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

// Feeds a script to gnuplot; the plot goes to a temporary file renamed into place.
bool RunGnuplot(const std::string& svg_path, const std::string& script) {
  const std::string tmp = TempPathFor(svg_path);
  FILE* pipe = ::popen("gnuplot 2>/dev/null", "w");
  if (!pipe) return false;
  const std::string full = "set terminal svg size 900,600 dynamic font 'sans,12'\nset output " + Quote(tmp) + "\n" +
                           script + "\nset output\n";
  std::fwrite(full.data(), 1, full.size(), pipe);
  const int status = ::pclose(pipe);
  if (status != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  try {
    CommitTemp(tmp, svg_path);
  } catch (const Error&) {
    return false;
  }
  return true;
}

}  // namespace

bool PlotLearningCurves(const std::string& svg_path, const std::vector<EpochStats>& history, const std::string& title) {
  if (history.empty()) return false;
  std::ostringstream data;
  for (const EpochStats& s : history)
    data << s.epoch << ' ' << s.train_loss << ' ' << s.valid_loss << ' ' << s.train_accuracy << ' ' << s.valid_accuracy
         << ' ' << s.valid_track_accuracy << '\n';
  const std::string block = "$h << EOD\n" + data.str() + "EOD\n";
  std::string script =
      block + "set multiplot layout 1,2 title " + Quote(title) +
      "\nset xlabel 'epoch'\nset xtics 1\nset format x '%.0f'\nset grid\nset key top right\nset title 'loss'\n"
      "plot $h using 1:2 with linespoints title 'train', $h using 1:3 with linespoints title 'valid'\n"
      "set title 'accuracy'\nset yrange [0:1]\nset key bottom right\n"
      "plot $h using 1:4 with linespoints title 'train (windows)', "
      "$h using 1:5 with linespoints title 'valid (windows)', "
      "$h using 1:6 with linespoints title 'valid (tracks)'\nunset multiplot\n";
  return RunGnuplot(svg_path, script);
}

bool PlotConfusion(const std::string& svg_path, const Metrics& m, const std::string& title) {
  const std::size_t k = m.classes.size();
  if (k == 0) return false;
  std::ostringstream data, labels;
  for (std::size_t t = 0; t < k; ++t) {
    std::size_t support = 0;
    for (std::size_t v : m.confusion[t]) support += v;
    for (std::size_t p = 0; p < k; ++p)
      data << p << ' ' << t << ' '
           << (support ? static_cast<double>(m.confusion[t][p]) / static_cast<double>(support) : 0.0) << ' '
           << m.confusion[t][p] << '\n';
    data << '\n';
  }
  for (std::size_t c = 0; c < k; ++c) labels << (c ? ", " : "") << Quote(m.classes[c]) << ' ' << c;
  const std::string script =
      "$m << EOD\n" + data.str() + "EOD\nset title " + Quote(title) +
      "\nset xlabel 'predicted'\nset ylabel 'true'\nset xtics (" + labels.str() + ") rotate by -45 left\nset ytics (" +
      labels.str() + ")\nset yrange [" + std::to_string(k) + "-0.5:-0.5]\nset xrange [-0.5:" + std::to_string(k) +
      "-0.5]\nset cbrange [0:1]\nset cblabel 'share of the true class'\nset palette defined (0 'white', 1 '#08306b')\n"
      "set size ratio -1\nset bmargin 8\nset lmargin 14\nplot $m using 1:2:3 with image pixels notitle, $m using "
      "1:2:(sprintf('%d', $4)) with labels notitle\n";
  return RunGnuplot(svg_path, script);
}

}  // namespace genre
