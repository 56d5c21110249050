#include "genre/data/msd.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "genre/error.h"
#include "genre/io/h5.h"
#include "support.h"

namespace genre {

// Expected values as h5dump prints them: 6 significant digits, so a relative
// tolerance of 5e-6 (half a unit in the 6th digit) is as tight as they allow.
constexpr double kDump = 5e-6;

TEST_CASE("a real MSD track file reads as h5dump shows it", "[data][msd]") {
  const MsdFile f = MsdFile::Open(test::Msd("TRAAABD128F429CF47.h5").string());
  REQUIRE(f.size() == 1);
  CHECK(f.TrackId(0) == "TRAAABD128F429CF47");
  CHECK(f.Genre(0).empty());
  const MsdTrack t = f.Read(0);
  CHECK(t.track_id == "TRAAABD128F429CF47");
  CHECK(t.artist == "The Box Tops");
  CHECK(t.title == "Soul Deep");
  CHECK(t.duration_s == Approx(148.035).epsilon(kDump));
  CHECK(t.tempo_bpm == Approx(121.274).epsilon(kDump));
  CHECK(t.loudness_db == Approx(-9.843).epsilon(kDump));
  CHECK(t.key == 6);
  CHECK(t.mode == 0);
  CHECK(t.time_signature == 4);
  REQUIRE(t.segments() == 550);
  REQUIRE(t.timbre.rows == 12);
  REQUIRE(t.timbre.cols == 550);
  CHECK(t.timbre(0, 0) == 0.0f);
  CHECK(t.timbre(1, 0) == Approx(171.13).epsilon(kDump));
  CHECK(t.timbre(11, 0) == Approx(-7.228).epsilon(kDump));
  CHECK(t.timbre(5, 1) == Approx(195.091).epsilon(kDump));
  CHECK(t.pitches(9, 549) == 1.0f);
  CHECK(t.pitches(0, 549) == Approx(0.77).epsilon(kDump));
  CHECK(t.segments_start[1] == Approx(0.14803).epsilon(kDump));
  CHECK(t.segments_loudness_max[0] == -60.0);
  CHECK(t.segments_loudness_max[1] == Approx(-14.269).epsilon(kDump));

  const MsdTrack u = MsdFile::Open(test::Msd("TRAAADZ128F9348C2E.h5").string()).Read(0);
  CHECK(u.duration_s == Approx(177.475).epsilon(kDump));
  CHECK(u.tempo_bpm == Approx(100.07).epsilon(kDump));
  CHECK(u.key == 8);
  CHECK(u.mode == 1);
  CHECK(u.time_signature == 1);
}

TEST_CASE("MSD files written by genre read back, aggregate slices included", "[data][msd]") {
  test::TempDir dir;
  const MsdTrack a = MsdFile::Open(test::Msd("TRAAABD128F429CF47.h5").string()).Read(0);
  MsdTrack b = MsdFile::Open(test::Msd("TRAAADZ128F9348C2E.h5").string()).Read(0);
  b.genre = "Country";
  const std::string path = (dir / "aggregate.h5").string();
  WriteMsdFile(path, {a, b});
  const MsdFile f = MsdFile::Open(path);
  REQUIRE(f.size() == 2);
  CHECK(f.Genre(1) == "Country");
  const MsdTrack a2 = f.Read(0), b2 = f.Read(1);
  CHECK(a2.track_id == a.track_id);
  CHECK(b2.track_id == b.track_id);
  CHECK(a2.artist == "The Box Tops");
  CHECK(a2.segments() == a.segments());
  CHECK(b2.segments() == b.segments());
  CHECK(a2.timbre.data == a.timbre.data);
  CHECK(b2.pitches.data == b.pitches.data);
  CHECK(b2.segments_start == b.segments_start);
  CHECK(b2.duration_s == b.duration_s);
  CHECK(b2.key == b.key);
  CHECK_THROWS_AS(f.Read(2), FormatError);
}

TEST_CASE("an HDF5 file that is not MSD layout: the error names the missing dataset", "[data][msd][errors]") {
  const std::string golden = test::Golden("blues.00000").string();
  CHECK_THROWS_WITH(MsdFile::Open(golden), golden + ": not MSD layout: no dataset '/analysis/songs'");
  test::TempDir dir;
  const std::string partial = (dir / "partial.h5").string();
  {
    auto f = h5::File::Create(partial);
    h5::Column id("track_id", h5::Column::kString);
    id.strings = {"TRAAABD128F429CF47"};
    f.WriteTable("/analysis/songs", {id});
    f.WriteArray("/analysis/segments_start", {0.0}, {1});
  }
  CHECK_THROWS_WITH(MsdFile::Open(partial), partial + ": not MSD layout: no dataset '/analysis/segments_timbre'");
  test::WriteBytes(dir / "text.h5", "plain text");
  CHECK_THROWS_AS(MsdFile::Open((dir / "text.h5").string()), FormatError);
}

// Inputs of fuzz/: `folder` regressions (genre's bugs, fixed) or third-party.
std::string FuzzInput(const std::string& folder, const std::string& name) {
  return (test::DataDir() / "../../fuzz" / folder / name).lexically_normal().string();
}

TEST_CASE("a segment dataset that holds one value, not rows, is a FormatError", "[data][msd][errors]") {
  // Found by fuzz_msd (fork mode, 2026-12-04): the row count was taken as shape.at(0) of a
  // scalar dataset, and std::out_of_range ended the process.
  const std::string path = FuzzInput("regressions/msd", "segments-scalar-dataset");
  REQUIRE(std::filesystem::exists(path));
  const MsdFile file = MsdFile::Open(path);
  CHECK_THROWS_WITH(file.Read(0), path + ": /analysis/segments_pitches holds one value, not rows of segments");
}

// Files that break libhdf5 itself (fuzz/third-party/README.md): a SIGSEGV inside its
// compound conversion, an endless loop in its global heap.
std::string ThirdParty(const std::string& name) { return FuzzInput("third-party", name); }

TEST_CASE("MSD files that crash or hang libhdf5 cost a FormatError naming them, not the process",
          "[data][msd][errors]") {
  const std::string segv = ThirdParty("hdf5-compound-conversion-segv.h5");
  const std::string hang = ThirdParty("hdf5-global-heap-hang.h5");
  const std::string good = test::Msd("TRAAABD128F429CF47.h5").string();
  REQUIRE(std::filesystem::exists(segv));
  REQUIRE(std::filesystem::exists(hang));
  CHECK_THROWS_WITH(ReadMsdSong(segv, 0), Catch::StartsWith(segv + ": libhdf5 crashed reading it (") ||
                                              Catch::StartsWith(segv + ": libhdf5 ended while reading it"));
  CHECK_THROWS_AS(ListMsdFile(segv), FormatError);
  IsolateOptions quick;
  quick.timeout_s = 2;
  CHECK_THROWS_WITH(ListMsdFile(hang, quick), hang + ": libhdf5 did not finish reading it within 2 s");

  // In a batch, each bad file costs its own song only.
  std::vector<std::string> got;
  ReadMsdSongs(
      {{segv, 0}, {good, 0}, {hang, 0}, {good, 0}},
      [&](std::size_t, MsdTrack* t, const std::exception_ptr& error) {
        if (t) return got.push_back(t->track_id);
        try {
          std::rethrow_exception(error);
        } catch (const FormatError& e) {
          got.push_back(std::string(e.what()).substr(0, std::string(e.what()).find(':')));
        }
      },
      quick);
  CHECK(got == std::vector<std::string>{segv, "TRAAABD128F429CF47", hang, "TRAAABD128F429CF47"});

  // What the reader process hands back equals the in-process reader.
  const MsdFile file = MsdFile::Open(good);
  const MsdTrack direct = file.Read(0), isolated = ReadMsdSong(good, 0);
  CHECK(isolated.track_id == direct.track_id);
  CHECK(isolated.artist == direct.artist);
  CHECK(isolated.title == direct.title);
  CHECK(isolated.duration_s == direct.duration_s);
  CHECK(isolated.key == direct.key);
  CHECK(isolated.segments_start == direct.segments_start);
  CHECK(isolated.segments_loudness_max == direct.segments_loudness_max);
  CHECK(isolated.timbre.data == direct.timbre.data);
  CHECK(isolated.pitches.cols == direct.pitches.cols);
  CHECK(isolated.pitches.data == direct.pitches.data);
  const MsdListing listing = ListMsdFile(good);
  CHECK(listing.track_ids == std::vector<std::string>{file.TrackId(0)});
  CHECK(listing.genres == std::vector<std::string>{file.Genre(0)});
  CHECK(listing.group == file.Group());
  // Errors of the reader keep their type and text.
  const std::string golden = test::Golden("blues.00000").string();
  CHECK_THROWS_WITH(ListMsdFile(golden), golden + ": not MSD layout: no dataset '/analysis/songs'");
  CHECK_THROWS_AS(ReadMsdSong(good, 5), FormatError);
}

TEST_CASE("audio analysed into MSD layout: shapes, ranges, a tempo", "[data][msd]") {
  const Waveform w = LoadAudio(test::Input("blues.00000.flac").string());
  const MsdTrack t = AnalyzeAudio(w, 0x0123456789abcdefull);
  CHECK(t.track_id == "TR0123456789ABCDEF");
  CHECK(t.duration_s == Approx(w.duration_s()));
  CHECK(t.segments() == static_cast<std::size_t>(std::ceil(w.duration_s() / 0.25)));
  CHECK(t.timbre.rows == 12);
  CHECK(t.timbre.cols == t.segments());
  for (float p : t.pitches.data) REQUIRE((p >= 0.0f && p <= 1.0f));
  for (double l : t.segments_loudness_max) REQUIRE((l <= 0.0 && l >= -100.0));
  CHECK(t.tempo_bpm >= 40);
  CHECK(t.tempo_bpm <= 240);
  CHECK(t.loudness_db < 0);
  CHECK(t.key >= 0);
  CHECK(t.key < 12);
  MsdAnalysisOptions bad;
  bad.segment_s = 0;
  CHECK_THROWS_AS(AnalyzeAudio(w, 1, bad), OptionError);
}

}  // namespace genre
