#include "genre/data/dataset.h"

#include <catch2/catch.hpp>

#include <filesystem>

#include "genre/data/msd.h"
#include "genre/error.h"
#include "support.h"

namespace fs = std::filesystem;

namespace genre {

namespace {
void Link(const fs::path& target, const fs::path& link) {
  fs::create_directories(link.parent_path());
  fs::create_symlink(target, link);
}

const Track* Find(const Dataset& d, const std::string& suffix) {
  for (const Track& t : d.tracks)
    if (t.path.size() >= suffix.size() && t.path.compare(t.path.size() - suffix.size(), suffix.size(), suffix) == 0)
      return &t;
  return nullptr;
}
}  // namespace

TEST_CASE("genre folders: label from the folder, group from the stem, several roots", "[data][dataset]") {
  test::TempDir dir;
  Link(test::Input("blues.00000.flac"), dir / "full/blues/blues.00000.flac");
  Link(test::Input("metal.00002.flac"), dir / "full/metal/deep/metal.00002.flac");
  Link(test::Input("short_0.3s.wav"), dir / "full/loose.wav");
  test::WriteBytes(dir / "full/blues/notes.txt", "not audio");
  Link(test::Input("short_0.3s.wav"), dir / "excerpts/blues/blues.00000.wav");

  DatasetOptions o;
  o.sources = {(dir / "full").string(), (dir / "excerpts").string()};
  const Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 3);
  CHECK(d.classes == std::vector<std::string>{"blues", "metal"});
  const Track* metal = Find(d, "metal.00002.flac");
  REQUIRE(metal);
  CHECK(metal->label == "metal");  // nested folders take the top-level genre folder
  CHECK(metal->group == "metal.00002");
  CHECK(Find(d, "full/blues/blues.00000.flac")->group == Find(d, "excerpts/blues/blues.00000.wav")->group);
  REQUIRE(d.skipped.size() == 1);
  CHECK(d.skipped[0].reason == "not inside a genre folder (ROOT/<genre>/file)");
  CHECK(d.ClassIndex("metal") == 1);
  CHECK(d.ClassIndex("rock") == -1);
}

TEST_CASE("hostile sources: a root with no audio, a missing path, an audio file", "[data][dataset][errors]") {
  test::TempDir dir;
  fs::create_directories(dir / "empty/rock");
  test::WriteBytes(dir / "empty/rock/readme.txt", "");
  fs::create_directories(dir / "empty2");
  DatasetOptions o;
  o.sources = {(dir / "empty").string()};
  CHECK_THROWS_WITH(LoadDataset(o), Catch::StartsWith((dir / "empty").string() + ": no audio files (.wav"));
  o.sources = {(dir / "missing").string()};
  CHECK_THROWS_WITH(LoadDataset(o), (dir / "missing").string() + ": cannot open: No such file or directory");
  o.sources = {test::Input("short_0.3s.wav").string()};
  CHECK_THROWS_AS(LoadDataset(o), InputError);
  o.sources = {};
  CHECK_THROWS_AS(LoadDataset(o), OptionError);
  // Only loose files: found, but nothing usable.
  Link(test::Input("short_0.3s.wav"), dir / "loose/a.wav");
  o.sources = {(dir / "loose").string()};
  CHECK_THROWS_WITH(LoadDataset(o),
                    "no usable tracks in the dataset (1 files skipped; first: " + (dir / "loose/a.wav").string() +
                        ": not inside a genre folder (ROOT/<genre>/file))");
}

TEST_CASE("CSV manifests: relative paths, header in any order, bad lines reported", "[data][dataset]") {
  test::TempDir dir;
  fs::create_directories(dir / "lists");
  test::WriteBytes(dir / "lists/m.csv",
                   "path,split,label,group\n"
                   "../audio/a.flac,train,rock,g1\n"
                   "\"../audio/b, live.flac\",test,jazz,\n"
                   "../audio/c.flac,,\n"
                   "../audio/d.flac,holdout,rock,\n"
                   "/abs/e.flac,valid,pop,g1\n");
  const Dataset d = ReadManifest((dir / "lists/m.csv").string());
  REQUIRE(d.tracks.size() == 3);
  CHECK(d.tracks[0].path == (dir / "lists/../audio/a.flac").string());
  CHECK(d.tracks[0].split == Split::kTrain);
  CHECK(d.tracks[0].group == "g1");
  CHECK(d.tracks[1].path == (dir / "lists/../audio/b, live.flac").string());
  CHECK(d.tracks[1].group == "b, live");  // default group: the stem
  CHECK(d.tracks[2].path == "/abs/e.flac");
  CHECK(d.tracks[2].split == Split::kValid);
  REQUIRE(d.notes.size() == 2);
  CHECK(d.notes[0] == (dir / "lists/m.csv").string() + ":4: no label for '../audio/c.flac' (line skipped)");
  CHECK(d.notes[1] ==
        (dir / "lists/m.csv").string() + ":5: split must be train, valid or test, got 'holdout' (line skipped)");

  test::WriteBytes(dir / "plain.csv", "x.wav,rock\ny.wav,pop,grp,test\n");
  const Dataset p = ReadManifest((dir / "plain.csv").string());
  REQUIRE(p.tracks.size() == 2);
  CHECK(p.tracks[1].group == "grp");
  CHECK(p.tracks[1].split == Split::kTest);

  test::WriteBytes(dir / "bad.csv", "path,label\n,\n");
  CHECK_THROWS_WITH(ReadManifest((dir / "bad.csv").string()),
                    (dir / "bad.csv").string() + ": no usable lines (expected path,label[,group][,split])");
}

TEST_CASE("manifests written by WriteManifest read back the same", "[data][dataset]") {
  test::TempDir dir;
  Link(test::Input("blues.00000.flac"), dir / "audio/blues/blues.00000.flac");
  Link(test::Input("metal.00002.flac"), dir / "audio/metal/metal.00002.flac");
  DatasetOptions o;
  o.sources = {(dir / "audio").string()};
  Dataset d = LoadDataset(o);
  d.tracks[0].split = Split::kTest;
  d.tracks[1].split = Split::kTrain;
  fs::create_directories(dir / "runs");
  WriteManifest((dir / "runs/split.csv").string(), d, {1, 0});
  CHECK(test::ReadBytes(dir / "runs/split.csv") ==
        "path,label,group,split,fold\n"
        "../audio/blues/blues.00000.flac,blues,blues.00000,test,1\n"
        "../audio/metal/metal.00002.flac,metal,metal.00002,train,0\n");
  o.sources = {(dir / "runs/split.csv").string()};
  const Dataset back = LoadDataset(o);
  REQUIRE(back.tracks.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(fs::equivalent(back.tracks[i].path, d.tracks[i].path));
    CHECK(back.tracks[i].label == d.tracks[i].label);
    CHECK(back.tracks[i].group == d.tracks[i].group);
    CHECK(back.tracks[i].split == d.tracks[i].split);
  }
}

TEST_CASE("split lists match by stem, absent ids are counted, groups follow", "[data][dataset]") {
  test::TempDir dir;
  Link(test::Input("blues.00000.flac"), dir / "a/blues/blues.00000.flac");
  Link(test::Input("short_0.3s.wav"), dir / "b/blues/blues.00000.wav");
  Link(test::Input("metal.00002.flac"), dir / "a/metal/metal.00002.flac");
  test::WriteBytes(dir / "test.txt", "blues/blues.00000.wav\n\nrock/rock.00099.wav\n  \n");
  CHECK(ReadSplitList((dir / "test.txt").string()) == std::vector<std::string>{"blues.00000", "rock.00099"});
  DatasetOptions o;
  o.sources = {(dir / "a").string(), (dir / "b").string()};
  o.test_list = (dir / "test.txt").string();
  const Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 3);
  CHECK(Find(d, "a/blues/blues.00000.flac")->split == Split::kTest);
  CHECK(Find(d, "b/blues/blues.00000.wav")->split == Split::kTest);
  CHECK(Find(d, "metal.00002.flac")->split == Split::kNone);
  REQUIRE(d.notes.size() == 1);
  CHECK(d.notes[0] == "test list " + (dir / "test.txt").string() + ": 2 ids, 1 found, 1 absent");
  CHECK_THROWS_AS(ReadSplitList((dir / "none.txt").string()), IoError);
}

TEST_CASE("MSD folders: labels joined by track id, unlabelled tracks reported", "[data][dataset][msd]") {
  DatasetOptions o;
  o.sources = {test::Msd("").string()};
  o.label_files = {test::Msd("tagtraum_sample.cls.gz").string()};
  Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 1);
  CHECK(d.tracks[0].track_id == "TRAAABD128F429CF47");
  CHECK(d.tracks[0].label == "Pop_Rock");
  CHECK(d.tracks[0].kind == TrackKind::kMsd);
  CHECK(d.tracks[0].group == "TRAAABD128F429CF47");
  REQUIRE(d.skipped.size() == 1);
  CHECK(d.skipped[0].reason == "no label for track TRAAADZ128F9348C2E");
  // Malformed label lines surface as notes with their line numbers.
  REQUIRE(d.notes.size() >= 4);
  CHECK(d.notes[0] ==
        test::Msd("tagtraum_sample.cls.gz").string() + ":6: 'not-a-track-id' is not an MSD track id (line skipped)");

  o.label_files.push_back(test::Msd("topmagd_sample.cls").string());
  d = LoadDataset(o);
  CHECK(d.tracks.size() == 2);
  CHECK(d.skipped.empty());
  CHECK(d.classes == std::vector<std::string>{"Country", "Pop_Rock"});
  CHECK(d.notes.back().find("1 tracks have conflicting labels (first file wins), e.g. TRAAAAW128F429D538") == 0);
}

TEST_CASE("manifest rows name songs of an MSD file as FILE#N, a bad N is skipped, not fatal",
          "[data][dataset][msd][errors]") {
  test::TempDir dir;
  const std::string file = test::Msd("TRAAABD128F429CF47.h5").string();
  test::WriteBytes(dir / "m.csv", "path,label\n" + file + "#0,rock\n" + file + "#1,rock\n" + file + "#x,rock\n" + file +
                                      "#-1,rock\n" + file + "#99999999999999999999999,rock\n");
  DatasetOptions o;
  o.sources = {(dir / "m.csv").string()};
  const Dataset d = LoadDataset(o);
  REQUIRE(d.tracks.size() == 1);
  CHECK(d.tracks[0].path == file);
  CHECK(d.tracks[0].song == 0);
  CHECK(d.tracks[0].track_id == "TRAAABD128F429CF47");
  REQUIRE(d.skipped.size() == 4);
  CHECK(d.skipped[0].path == file + "#1");
  CHECK(d.skipped[0].reason == "song 1 not in file (1 songs)");
  CHECK(d.skipped[1].reason == "song x not in file (1 songs)");
  CHECK(d.skipped[2].reason == "song -1 not in file (1 songs)");
  CHECK(d.skipped[3].reason == "song 99999999999999999999999 not in file (1 songs)");
}

TEST_CASE("the shared MSD files and the tagtraum labels join", "[data][dataset][msd][shared]") {
  const auto shared = test::SharedDataOrSkip();
  DatasetOptions o;
  o.sources = {(shared / "msd").string()};
  o.label_files = {(shared / "msd" / "msd_tagtraum_cd1.cls.gz").string()};
  const Dataset d = LoadDataset(o);
  CHECK(d.tracks.size() == 3);
  CHECK(d.skipped.size() == 1);  // TRAAADZ128F9348C2E has no tagtraum label
  for (const Track& t : d.tracks) CHECK(t.label == "Pop_Rock");
  // All four files load whole, the unlabelled one included.
  std::size_t loaded = 0;
  for (const auto& e : fs::directory_iterator(shared / "msd")) {
    if (e.path().extension() != ".h5") continue;
    const MsdTrack t = MsdFile::Open(e.path().string()).Read(0);
    CHECK(t.track_id == e.path().stem().string());
    CHECK(t.segments() > 100);
    CHECK(t.timbre.cols == t.segments());
    ++loaded;
  }
  CHECK(loaded == 4);
}

}  // namespace genre
