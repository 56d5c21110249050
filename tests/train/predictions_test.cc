#include "genre/train/predictions.h"

#include <catch2/catch.hpp>

#include "genre/error.h"
#include "support.h"

namespace genre {

namespace {
const std::string kHeader = "path,label,group,fold,a,b\n";
}

TEST_CASE("CV predictions: read, joined by recording, averaged, scored per fold", "[train][predictions]") {
  test::TempDir dir;
  // Run 1 (audio): x and y in fold 0, z in fold 1; w only here. Run 2 (table rows,
  // genres in another order): the same recordings by stem.
  test::WriteBytes(dir / "1.csv", kHeader +
                                      "clips/a/x.flac,a,x,0,0.9,0.1\nclips/b/y.flac,b,y,0,0.6,0.4\n"
                                      "clips/b/z.flac,b,z,1,0.2,0.8\nclips/a/w.flac,a,w,1,0.5,0.5\n");
  test::WriteBytes(dir / "2.csv",
                   "path,label,group,fold,b,a\nt.csv#x.wav,a,x,0,0.3,0.7\nt.csv#y.wav,b,y,0,0.8,0.2\n"
                   "t.csv#z.wav,b,z,1,0.6,0.4\n");
  const PredictionFile one = ReadPredictions((dir / "1.csv").string());
  CHECK(one.classes == std::vector<std::string>{"a", "b"});
  REQUIRE(one.rows.size() == 4);
  CHECK(one.rows[2].fold == 1);
  CHECK(one.rows[2].probs == std::vector<float>{0.2f, 0.8f});

  const JoinedPredictions j = JoinPredictions({one, ReadPredictions((dir / "2.csv").string())});
  REQUIRE(j.rows.size() == 3);  // w is not in both
  CHECK(j.truth == std::vector<int>{0, 1, 1});
  CHECK(j.probs[1][0] == std::vector<float>{0.7f, 0.3f});  // mapped to a, b
  const auto mean = MeanPredictions(j);
  CHECK(mean[1][0] == Approx(0.4));  // (0.6 + 0.2) / 2: y goes to b only in the mean
  CHECK(mean[2][1] == Approx(0.7));

  // Run 1 alone: x right, y wrong (fold 0: 1/2), z right (fold 1: 1/1).
  const FoldedMetrics m1 = ScoreFolds(j.truth, j.probs[0], {0, 0, 1}, j.classes);
  REQUIRE(m1.folds.size() == 2);
  CHECK(m1.folds[0].accuracy == Approx(0.5));
  CHECK(m1.accuracy_mean == Approx(0.75));
  CHECK(m1.accuracy_std == Approx(0.25));
  CHECK(m1.pooled.accuracy == Approx(2.0 / 3));
  // The mean: all three right.
  const FoldedMetrics mm = ScoreFolds(j.truth, mean, {0, 0, 1}, j.classes);
  CHECK(mm.pooled.accuracy == Approx(1.0));
  CHECK(mm.macro_f1_mean == Approx(1.0));

  // Written back, read the same.
  test::WriteBytes(dir / "3.csv", PredictionsCsv(j.classes, j.rows));
  CHECK(ReadPredictions((dir / "3.csv").string()).rows.size() == 3);

  // Disagreeing runs and bad files are refused with the file (and line).
  test::WriteBytes(dir / "4.csv", kHeader + "q/x.flac,a,x,1,0.5,0.5\n");
  CHECK_THAT(test::MessageOf<InputError>([&] {
               JoinPredictions({one, ReadPredictions((dir / "4.csv").string())});
             }),
             Catch::Contains("same --folds-from file"));
  test::WriteBytes(dir / "5.csv", kHeader + "q/x.flac,a,x,0,0.5\n");
  CHECK(test::MessageOf<FormatError>([&] { ReadPredictions((dir / "5.csv").string()); }) ==
        (dir / "5.csv").string() + ":2: expected 6 fields, got 5");
  test::WriteBytes(dir / "6.csv", kHeader + "q/x.flac,a,x,0,1.5,0\n");
  CHECK(test::MessageOf<FormatError>([&] { ReadPredictions((dir / "6.csv").string()); }) ==
        (dir / "6.csv").string() + ":2: probability '1.5' is not in [0, 1]");
  test::WriteBytes(dir / "7.csv", "path,label\nx,a\n");
  CHECK_THROWS_AS(ReadPredictions((dir / "7.csv").string()), FormatError);
  test::WriteBytes(dir / "8.csv", kHeader + "q/other.flac,a,o,0,0.5,0.5\n");
  CHECK_THAT(test::MessageOf<InputError>([&] {
               JoinPredictions({one, ReadPredictions((dir / "8.csv").string())});
             }),
             Catch::Contains("share no recording"));
}

}  // namespace genre
