// Shared helpers for the test suite: fixture paths, temporary folders, error metrics.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "genre/features/matrix.h"

namespace genre::test {

// tests/data, compiled in; every golden used by the suite lives under it.
std::filesystem::path DataDir();
std::filesystem::path Input(const std::string& name);   // tests/data/inputs/<name>
std::filesystem::path Golden(const std::string& stem);  // tests/data/librosa-0.10.2/<stem>.h5
std::filesystem::path Msd(const std::string& name);     // tests/data/msd/<name>

// ../shared/data (or $GENRE_SHARED_DATA). When it is absent the test process
// prints why and exits with 77, which ctest reports as "Skipped" (tests tagged
// [shared] run one per process, with SKIP_RETURN_CODE 77): never a silent pass.
std::filesystem::path SharedDataOrSkip();

// A fresh directory removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void WriteBytes(const std::filesystem::path& path, const std::string& bytes);
std::string ReadBytes(const std::filesystem::path& path);

// The message of the E that fn throws; fails the test if fn throws nothing.
template <class E>
std::string MessageOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception");
  return {};
}

// resampy 0.2.2's kaiser_best resampler (what Choi et al.'s librosa used to make their
// published features), from its filter table (tests/data/msd-convnet/resampy-0.2.2-
// kaiser_best.h5: half_window, attribute precision): int(n * (to / from)) samples, the
// table interpolated linearly and scaled by the ratio when downsampling, float32
// accumulation as resampy's numba loop. Test-only: the product resamples with libsoxr.
std::vector<float> ResampyResample(const std::vector<float>& x, int from, int to, const std::filesystem::path& filter);

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b);
double MaxAbs(const std::vector<float>& a);

}  // namespace genre::test
