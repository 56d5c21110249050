#include "support.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "genre/io/h5.h"

namespace genre::test {

std::filesystem::path DataDir() { return GENRE_TEST_DATA_DIR; }
std::filesystem::path Input(const std::string& name) { return DataDir() / "inputs" / name; }
std::filesystem::path Golden(const std::string& stem) { return DataDir() / "librosa-0.10.2" / (stem + ".h5"); }

std::filesystem::path Msd(const std::string& name) { return DataDir() / "msd" / name; }

std::filesystem::path SharedDataOrSkip() {
  const char* env = std::getenv("GENRE_SHARED_DATA");
  const std::filesystem::path dir = env && *env ? env : GENRE_SHARED_DATA_DIR;
  if (!std::filesystem::is_directory(dir / "gtzan")) {
    std::printf("SKIPPED: shared data not found at %s (set GENRE_SHARED_DATA)\n", dir.string().c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
  return dir;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("genre-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}

double MaxAbs(const std::vector<float>& a) {
  double m = 0;
  for (float v : a) m = std::max(m, std::abs(static_cast<double>(v)));
  return m;
}

std::vector<float> ResampyResample(const std::vector<float>& x, int from, int to, const std::filesystem::path& filter) {
  const h5::File f = h5::File::Open(filter.string());
  std::vector<double> win = f.Read("/half_window").values;
  const auto precision = static_cast<long>(f.ReadNumberAttribute("/", "precision"));
  const double ratio = static_cast<double>(to) / from;
  if (ratio < 1)
    for (double& w : win) w *= ratio;
  std::vector<double> delta(win.size(), 0.0);
  for (std::size_t i = 0; i + 1 < win.size(); ++i) delta[i] = win[i + 1] - win[i];
  const auto n_out = static_cast<std::size_t>(static_cast<double>(x.size()) * ratio);
  std::vector<float> y(n_out, 0.0f);
  const double scale = std::min(1.0, ratio), increment = 1.0 / ratio;
  const auto step = static_cast<long>(scale * static_cast<double>(precision));
  const auto nwin = static_cast<long>(win.size()), n_orig = static_cast<long>(x.size());
  double time = 0;
  for (std::size_t t = 0; t < n_out; ++t) {
    const auto n = static_cast<long>(time);
    double frac = scale * (time - static_cast<double>(n));
    double index = frac * static_cast<double>(precision);
    long offset = static_cast<long>(index);
    double eta = index - static_cast<double>(offset);
    const long i_max = std::min(n + 1, (nwin - offset) / step);
    for (long i = 0; i < i_max; ++i) {
      const double w =
          win[static_cast<std::size_t>(offset + i * step)] + eta * delta[static_cast<std::size_t>(offset + i * step)];
      y[t] = static_cast<float>(y[t] + w * x[static_cast<std::size_t>(n - i)]);
    }
    frac = scale - frac;
    index = frac * static_cast<double>(precision);
    offset = static_cast<long>(index);
    eta = index - static_cast<double>(offset);
    const long k_max = std::min(n_orig - n - 1, (nwin - offset) / step);
    for (long k = 0; k < k_max; ++k) {
      const double w =
          win[static_cast<std::size_t>(offset + k * step)] + eta * delta[static_cast<std::size_t>(offset + k * step)];
      y[t] = static_cast<float>(y[t] + w * x[static_cast<std::size_t>(n + k + 1)]);
    }
    time += increment;
  }
  return y;
}

}  // namespace genre::test
