#include "genre/data/cache.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>

#include "genre/error.h"
#include "genre/features/extract.h"
#include "support.h"

namespace fs = std::filesystem;

namespace genre {

namespace {
std::size_t FilesIn(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST_CASE("feature cache: extract once, reuse, recompute only what changed", "[data][cache]") {
  test::TempDir dir;
  fs::create_directories(dir / "audio");
  fs::copy_file(test::Input("short_0.3s.wav"), dir / "audio/a.wav");
  fs::copy_file(test::Input("synth_8k_mono.wav"), dir / "audio/b.wav");
  fs::copy_file(test::Input("short_0.3s.wav"), dir / "audio/a_copy.wav");  // same content as a
  test::WriteBytes(dir / "audio/bad.wav", "RIFF\x10\x00\x00\x00WAVEjunkjunkjunk");
  const std::vector<std::string> files = {(dir / "audio/a.wav").string(), (dir / "audio/b.wav").string(),
                                          (dir / "audio/a_copy.wav").string(), (dir / "audio/bad.wav").string()};
  const std::string cache = (dir / "cache/feats.h5").string();
  fs::create_directories(dir / "cache");
  CacheOptions o;
  o.threads = 2;

  const CacheReport first = FeatureCache::Update(cache, files, o);
  CHECK(first.written);
  CHECK(first.files == 4);
  CHECK(first.computed == 2);  // a and b; a_copy shares a's entry
  CHECK(first.reused == 0);
  REQUIRE(first.failed.size() == 1);
  CHECK(first.failed[0].path == files[3]);
  CHECK(first.failed[0].reason.rfind(files[3] + ": ", 0) == 0);
  CHECK(FilesIn(dir / "cache") == 1);  // no temporary file left behind

  {
    const FeatureCache c = FeatureCache::Open(cache, &o);
    CHECK(c.size() == 3);
    CHECK(c.Has(files[2]));
    CHECK_FALSE(c.Has(files[3]));
    REQUIRE(c.failed().size() == 1);
    const FeatureSet stored = c.Load(files[1]);
    const Extracted direct = ExtractFile(files[1], FrontEnd(o.front_end), kLogMel | kMfcc);
    CHECK(stored.logmel.data == direct.features.logmel.data);  // float32 stored exactly
    CHECK(stored.mfcc.data == direct.features.mfcc.data);
    CHECK(stored.mel.data.empty());
    CHECK(c.DurationS(files[1]) == Approx(direct.audio.duration_s()));
    CHECK(c.Load(files[2]).logmel.data == c.Load(files[0]).logmel.data);
    CHECK_THROWS_AS(c.Load(files[3]), InputError);
  }

  // Nothing changed: nothing recomputed, the file is not even rewritten.
  const auto stamp = fs::last_write_time(cache);
  const CacheReport again = FeatureCache::Update(cache, files, o);
  CHECK_FALSE(again.written);
  CHECK(again.computed == 0);
  CHECK(again.reused == 3);
  CHECK(again.failed.size() == 1);
  CHECK(fs::last_write_time(cache) == stamp);

  // One file changes: only it is extracted.
  fs::copy_file(test::Input("silence_3s.wav"), dir / "audio/b.wav", fs::copy_options::overwrite_existing);
  const CacheReport changed = FeatureCache::Update(cache, files, o);
  CHECK(changed.written);
  CHECK(changed.computed == 1);
  CHECK(changed.reused == 2);
  CHECK(FeatureCache::Open(cache).DurationS(files[1]) == Approx(3.0).epsilon(1e-3));

  // A file dropped from the list leaves the index.
  const CacheReport fewer = FeatureCache::Update(cache, {files[0], files[1]}, o);
  CHECK(fewer.written);
  CHECK(fewer.computed == 0);
  CHECK(FeatureCache::Open(cache).size() == 2);

  // Other options: the old cache is not used, and reading it with them is refused.
  CacheOptions other = o;
  other.front_end.mel.n_mels = 64;
  CHECK_THROWS_WITH(FeatureCache::Open(cache, &other),
                    Catch::StartsWith(cache + ": feature cache was built with other options"));
  const CacheReport rebuilt = FeatureCache::Update(cache, files, other);
  CHECK(rebuilt.rebuilt == "built with other options");
  CHECK(rebuilt.computed == 2);
  CHECK(FeatureCache::Open(cache, &other).Load(files[0]).logmel.rows == 64);
}

TEST_CASE("feature cache: nothing usable aborts and keeps the previous cache", "[data][cache][errors]") {
  test::TempDir dir;
  test::WriteBytes(dir / "bad1.wav", "junk");
  test::WriteBytes(dir / "bad2.flac", "fLaC junk");
  const std::string cache = (dir / "c.h5").string();
  CacheOptions o;
  const std::vector<std::string> bad = {(dir / "bad1.wav").string(), (dir / "bad2.flac").string(),
                                        (dir / "missing.wav").string()};
  CHECK_THROWS_WITH(FeatureCache::Update(cache, bad, o), "no usable audio: all 3 files failed");
  CHECK_FALSE(fs::exists(cache));

  FeatureCache::Update(cache, {test::Input("short_0.3s.wav").string()}, o);
  const std::string before = test::ReadBytes(cache);
  CHECK_THROWS_AS(FeatureCache::Update(cache, bad, o), InputError);
  CHECK(test::ReadBytes(cache) == before);
  CHECK(FilesIn(dir.path()) == 3);  // bad1, bad2, c.h5: no temporary left

  test::WriteBytes(dir / "notcache.h5", "plain");
  CHECK_THROWS_AS(FeatureCache::Open((dir / "notcache.h5").string()), FormatError);
  CHECK_THROWS_WITH(FeatureCache::Open(test::Golden("short_0.3s").string()),
                    test::Golden("short_0.3s").string() + ": not a genre feature cache");
  o.gzip = 12;
  CHECK_THROWS_AS(FeatureCache::Update(cache, bad, o), OptionError);
}

TEST_CASE("feature cache: a damaged cache is refused by Open and rebuilt by Update", "[data][cache][errors]") {
  test::TempDir dir;
  const std::string cache = (dir / "c.h5").string();
  const std::vector<std::string> files = {test::Input("short_0.3s.wav").string()};
  CacheOptions o;
  FeatureCache::Update(cache, files, o);
  const std::string whole = test::ReadBytes(cache);
  test::WriteBytes(cache, whole.substr(0, whole.size() / 2));  // a copy cut short
  CHECK_THROWS_WITH(FeatureCache::Open(cache), Catch::StartsWith(cache + ": "));
  CHECK_THROWS_AS(FeatureCache::Open(cache), FormatError);
  const CacheReport r = FeatureCache::Update(cache, files, o);
  CHECK_THAT(r.rebuilt, Catch::StartsWith("unreadable: " + cache + ": "));
  CHECK(r.computed == 1);
  CHECK(FeatureCache::Open(cache).Load(files[0]).logmel.rows == static_cast<std::size_t>(o.front_end.mel.n_mels));
}

}  // namespace genre

namespace genre {

TEST_CASE("song vector cache: a function's vectors per file, reused until its id changes", "[data][cache]") {
  test::TempDir dir;
  const std::vector<std::string> files = {test::Input("short_0.3s.wav").string(),
                                          test::Input("synth_8k_mono.wav").string()};
  std::atomic<int> calls{0};
  CacheOptions o;
  o.front_end.sample_rate = 12000;
  o.song_vector = [&](const Waveform& w) {
    ++calls;
    Matrix m(2, 3, 0.0f);
    m(0, 0) = static_cast<float>(w.samples.size());
    m(1, 2) = static_cast<float>(w.sample_rate);
    return m;
  };
  o.song_vector_id = "test v1";
  const std::string cache = (dir / "v.h5").string();
  CHECK(FeatureCache::Update(cache, files, o).computed == 2);
  CHECK(calls == 2);
  CHECK(!FeatureCache::Update(cache, files, o).written);
  CHECK(calls == 2);
  const FeatureCache c = FeatureCache::Open(cache, &o);
  const Matrix m = c.LoadVector(files[0]);
  REQUIRE(m.rows == 2);
  REQUIRE(m.cols == 3);
  CHECK(m(0, 0) == Approx(3600).margin(1));  // 0.3 s at 12 kHz
  CHECK(m(1, 2) == 12000.0f);
  CHECK_THROWS_AS(c.LoadVector("elsewhere.wav"), InputError);
  o.song_vector_id = "test v2";
  const CacheReport again = FeatureCache::Update(cache, files, o);
  CHECK(again.rebuilt == "built with other options");
  CHECK(calls == 4);
  o.song_vector_id.clear();
  CHECK_THROWS_AS(FeatureCache::Update(cache, files, o), OptionError);
}

}  // namespace genre
