// Tests of whole-experiment helpers: examples handed to their splits, the card's data record.
#include "genre/train/experiment.h"

#include <catch2/catch.hpp>

#include "genre/train/record.h"

namespace genre {

TEST_CASE("TakeSplits moves each example to its track's split, once, and the record counts them before",
          "[train][experiment]") {
  PreparedData data;
  const Split splits[] = {Split::kTrain, Split::kNone, Split::kValid, Split::kTest, Split::kTrain};
  for (int i = 0; i < 5; ++i) {
    Track t;
    t.path = "t" + std::to_string(i) + ".wav";
    t.label = i % 2 ? "jazz" : "rock";
    t.split = splits[i];
    data.dataset.tracks.push_back(t);
  }
  data.dataset.UpdateClasses();
  std::vector<const float*> buffers;
  for (int i : {0, 1, 2, 4}) {  // track 3 (test) had no usable input
    Example e;
    e.x = Matrix(2, 3);
    e.label = i % 2;
    e.path = data.dataset.tracks[static_cast<std::size_t>(i)].path;
    buffers.push_back(e.x.data.data());
    data.examples.examples.push_back(std::move(e));
    data.examples.track.push_back(static_cast<std::size_t>(i));
  }
  data.examples.skipped.push_back({"t3.wav", "no features"});

  DatasetOptions from;
  from.sources = {"songs/"};
  const nlohmann::json record = DataRecord(data, from);
  CHECK(record["tracks"] == 4);
  CHECK(record["skipped"] == 1);
  CHECK(record["per_class"]["rock"]["train"] == 2);  // a track without a split trains
  CHECK(record["per_class"]["rock"]["valid"] == 1);
  CHECK(record["per_class"]["jazz"]["train"] == 1);

  const SplitExamples s = TakeSplits(data);
  REQUIRE(s.train.size() == 3);
  REQUIRE(s.valid.size() == 1);
  CHECK(s.test.empty());
  CHECK(s.train[0].path == "t0.wav");
  CHECK(s.train[1].path == "t1.wav");
  CHECK(s.train[2].path == "t4.wav");
  CHECK(s.valid[0].path == "t2.wav");
  // Moved, not copied: the inputs are the very buffers the examples held.
  CHECK(s.train[0].x.data.data() == buffers[0]);
  CHECK(s.valid[0].x.data.data() == buffers[2]);
  CHECK(data.examples.examples.empty());
  CHECK(data.examples.track.empty());
  CHECK(data.examples.skipped.size() == 1);  // what was skipped is still reported

  TrainingRecord r;
  r.data = record;
  r.command = "genre-train train songs/";
  const nlohmann::json card = TrainingJson(TrainOptions{}, RunOutcome{}, r);
  CHECK(card["data"] == record);
  CHECK(card["command"] == "genre-train train songs/");
}

}  // namespace genre
