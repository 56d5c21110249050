#include "genre/data/labels.h"

#include <catch2/catch.hpp>

#include "genre/error.h"
#include "support.h"

namespace genre {

TEST_CASE("track ids are TR + 16 upper-case letters or digits", "[data][labels]") {
  CHECK(IsTrackId("TRAAABD128F429CF47"));
  CHECK_FALSE(IsTrackId("TRAAABD128F429CF4"));
  CHECK_FALSE(IsTrackId("traaabd128f429cf47"));
  CHECK_FALSE(IsTrackId("XXAAABD128F429CF47"));
}

TEST_CASE("a tagtraum file: labels used, malformed lines reported by number", "[data][labels]") {
  for (const char* name : {"tagtraum_sample.cls", "tagtraum_sample.cls.gz"}) {
    const std::string path = test::Msd(name).string();
    const LabelFile f = ReadLabelFile(path);
    INFO(name);
    CHECK(f.lines == 7);
    CHECK(f.with_minority == 1);
    CHECK(f.labels.size() == 3);
    CHECK(f.labels.at("TRAAABD128F429CF47") == "Pop_Rock");
    CHECK(f.labels.at("TRAAAED128E0783FAB") == "Jazz");  // majority genre, minority ignored
    CHECK(f.labels.at("TRAAAAW128F429D538") == "Rap");   // first listing kept
    REQUIRE(f.problems.size() == 4);
    CHECK(f.problems[0].ToString() == path + ":6: 'not-a-track-id' is not an MSD track id");
    CHECK(f.problems[1].ToString() == path + ":7: expected TRACKID<TAB>GENRE[<TAB>MINORITY], got 1 field(s)");
    CHECK(f.problems[2].line == 8);
    CHECK(f.problems[3].ToString() ==
          path + ":9: TRAAAAW128F429D538 listed again as 'Jazz' (first: 'Rap'), kept the first");
  }
}

TEST_CASE("several label files: first file wins or conflicts are dropped", "[data][labels]") {
  const std::vector<std::string> paths = {test::Msd("tagtraum_sample.cls").string(),
                                          test::Msd("topmagd_sample.cls").string()};
  const LabelSet first = ReadLabels(paths, LabelConflictPolicy::kFirstFile);
  CHECK(first.labels.at("TRAAAAW128F429D538") == "Rap");
  CHECK(first.labels.at("TRAAADZ128F9348C2E") == "Country");   // only in the second file
  CHECK(first.labels.at("TRAAABD128F429CF47") == "Pop_Rock");  // both agree: no conflict
  REQUIRE(first.conflicts.size() == 1);
  CHECK(first.conflicts[0].track_id == "TRAAAAW128F429D538");
  REQUIRE(first.conflicts[0].votes.size() == 2);
  CHECK(first.conflicts[0].votes[0].second == "Rap");
  CHECK(first.conflicts[0].votes[1].second == "Electronic");
  CHECK(first.problems.size() == 4);

  const LabelSet drop = ReadLabels(paths, LabelConflictPolicy::kDrop);
  CHECK(drop.labels.count("TRAAAAW128F429D538") == 0);
  CHECK(drop.labels.size() == first.labels.size() - 1);
}

TEST_CASE("the real tagtraum CD1 file reads whole", "[data][labels][shared]") {
  const auto shared = test::SharedDataOrSkip();
  const LabelFile f = ReadLabelFile((shared / "msd" / "msd_tagtraum_cd1.cls.gz").string());
  CHECK(f.labels.size() == 133676);  // data/README.md: 133,676 tracks
  CHECK(f.problems.empty());
  CHECK(f.labels.at("TRAAABD128F429CF47") == "Pop_Rock");
}

TEST_CASE("label file errors name the file", "[data][labels][errors]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(ReadLabelFile((dir / "none.cls").string()),
                    (dir / "none.cls").string() + ": cannot open: No such file or directory");
  CHECK_THROWS_AS(ReadLabelFile(dir.path().string()), IoError);
  CHECK_THROWS_AS(ParseConflictPolicy("vote"), OptionError);
}

}  // namespace genre
