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

namespace genre::test {

std::filesystem::path DataDir() { return GENRE_TEST_DATA_DIR; }
std::filesystem::path Input(const std::string& name) { return DataDir() / "inputs" / name; }
std::filesystem::path Golden(const std::string& stem) {
  return DataDir() / "librosa-0.10.2" / (stem + ".h5");
}

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

}  // namespace genre::test
