#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "genre/error.h"
#include "genre/util/csv.h"
#include "genre/util/hash.h"
#include "genre/util/parallel.h"
#include "support.h"

namespace genre {

TEST_CASE("content hash: stable, sensitive, streaming equals one shot", "[util]") {
  const std::string a(1000, 'x');
  std::string b = a;
  b[999] = 'y';
  CHECK(HashBytes(a) == HashBytes(a));
  CHECK(HashBytes(a) != HashBytes(b));
  CHECK(HashBytes("") != HashBytes(std::string(1, '\0')));
  Hasher h;
  for (std::size_t i = 0; i < a.size(); i += 7) h.Update(a.data() + i, std::min<std::size_t>(7, a.size() - i));
  CHECK(h.Digest() == HashBytes(a));
  test::TempDir dir;
  test::WriteBytes(dir / "f", a);
  CHECK(HashFile((dir / "f").string()) == HashBytes(a));
  CHECK_THROWS_AS(HashFile((dir / "missing").string()), IoError);
  CHECK(ToHex(0x00ff) == "00000000000000ff");
  // Lengths around the 32-byte stripe give distinct hashes.
  std::set<std::uint64_t> seen;
  for (std::size_t n = 0; n < 70; ++n) seen.insert(HashBytes(std::string(n, 'a')));
  CHECK(seen.size() == 70);
}

TEST_CASE("ParallelFor visits every index once and rethrows", "[util]") {
  std::vector<std::atomic<int>> hits(1000);
  ParallelFor(hits.size(), 4, [&](std::size_t i) { ++hits[i]; });
  for (const auto& h : hits) REQUIRE(h == 1);
  CHECK_THROWS_AS(ParallelFor(100, 3,
                              [](std::size_t i) {
                                if (i == 50) throw InputError("boom");
                              }),
                  InputError);
  CHECK(ResolveThreads(3) == 3);
  CHECK(ResolveThreads(0) >= 1);
}

TEST_CASE("CSV fields round-trip through quoting", "[util]") {
  CHECK(CsvField("plain") == "plain");
  CHECK(CsvField("a,b") == "\"a,b\"");
  CHECK(CsvField("say \"hi\"") == "\"say \"\"hi\"\"\"");
  const auto f = ParseCsvLine("plain,\"a,b\",\"say \"\"hi\"\"\",\r");
  REQUIRE(f.size() == 4);
  CHECK(f[1] == "a,b");
  CHECK(f[2] == "say \"hi\"");
  CHECK(f[3].empty());
  CHECK_THROWS_AS(ParseCsvLine("\"open"), FormatError);
}

}  // namespace genre
