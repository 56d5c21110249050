// The 120 MFCC statistics of Choi et al.'s features, against their published rows.
#include "genre/features/mfcc_stats.h"

#include <catch2/catch.hpp>

#include <cmath>

#include "genre/audio/audio_reader.h"
#include "genre/data/feature_table.h"
#include "genre/error.h"
#include "support.h"

namespace genre {

TEST_CASE("MFCC statistics equal the published rows when resampled as the authors did", "[features][msd]") {
  const FeatureTable published = ReadFeatureTable((test::DataDir() / "msd-convnet" / "published.csv").string());
  for (const FeatureTableRow& row : published.rows) {
    INFO(row.filename);
    AudioReadOptions native;
    native.sample_rate = 22050;
    native.duration_s = 29;
    const std::string clip = FileStem(row.filename) + ".flac";
    std::vector<float> y = test::ResampyResample(LoadAudio(test::Input(clip).string(), native).samples, 22050, 12000,
                                                 test::DataDir() / "msd-convnet" / "resampy-0.2.2-kaiser_best.h5");
    REQUIRE(y.size() == 348000);
    y.push_back(0.0f);  // librosa's length fix: ceil(639450 * (12000 / 22050)) = 348001
    const std::vector<double> stats = MsdMfccStatistics(y);
    REQUIRE(stats.size() == static_cast<std::size_t>(kMsdMfccStats));
    for (int i = 0; i < kMsdMfccStats; ++i) {
      INFO(MsdConvnetColumns()[static_cast<std::size_t>(i)]);
      const double want = row.values[static_cast<std::size_t>(i)];
      CHECK(std::abs(stats[static_cast<std::size_t>(i)] - want) <= 1e-4 * std::max(std::abs(want), 1e-2));
    }
  }
  CHECK(MsdMfccStatistics(std::vector<float>(2048, 0.1f)).size() == 120);         // 5 frames: enough
  CHECK_THROWS_AS(MsdMfccStatistics(std::vector<float>(100, 0.1f)), InputError);  // shorter than n_fft
}

}  // namespace genre
