#include "genre/data/split.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "genre/error.h"
#include "support.h"

namespace genre {

namespace {

// 6 labels x 40 groups of 1-3 tracks (sizes from a fixed generator).
Dataset Synthetic() {
  Dataset d;
  SplitMix64 rng(7);
  for (int l = 0; l < 6; ++l)
    for (int g = 0; g < 40; ++g) {
      const int size = 1 + static_cast<int>(rng.Below(3));
      for (int t = 0; t < size; ++t) {
        // Built by append: GCC 12 warns falsely (-Wrestrict) on chains of string +.
        Track x;
        x.label.append("label").append(std::to_string(l));
        x.group.append("l").append(std::to_string(l)).append("g").append(std::to_string(g));
        x.path.append(x.group).append("_").append(std::to_string(t)).append(".wav");
        d.tracks.push_back(std::move(x));
      }
    }
  d.UpdateClasses();
  return d;
}

// Every group in exactly one split.
void CheckGroupsWhole(const Dataset& d) {
  std::map<std::string, std::set<Split>> splits;
  for (const Track& t : d.tracks) splits[t.group].insert(t.split);
  for (const auto& [group, s] : splits) {
    INFO("group " << group);
    REQUIRE(s.size() == 1);
    REQUIRE(*s.begin() != Split::kNone);
  }
}

// Per label, each split's share of tracks is within `slack` tracks of its target.
void CheckStratified(const Dataset& d, const SplitOptions& o, double slack) {
  std::map<std::string, std::map<Split, double>> count;
  std::map<std::string, double> total;
  for (const Track& t : d.tracks) {
    ++count[t.label][t.split];
    ++total[t.label];
  }
  for (const auto& [label, c] : count) {
    INFO("label " << label << " of " << total[label] << " tracks");
    CHECK(std::abs(c.count(Split::kValid) ? c.at(Split::kValid) - o.valid * total[label] : o.valid * total[label]) <=
          slack);
    CHECK(std::abs(c.count(Split::kTest) ? c.at(Split::kTest) - o.test * total[label] : o.test * total[label]) <=
          slack);
  }
}

std::size_t MaxGroupSize(const Dataset& d) {
  std::map<std::string, std::size_t> size;
  std::size_t most = 0;
  for (const Track& t : d.tracks) most = std::max(most, ++size[t.group]);
  return most;
}

std::vector<Split> Splits(const Dataset& d) {
  std::vector<Split> s;
  for (const Track& t : d.tracks) s.push_back(t.split);
  return s;
}

}  // namespace

TEST_CASE("SplitMix64 is a fixed sequence, Below is in range", "[data][split]") {
  SplitMix64 a(42), b(42);
  for (int i = 0; i < 100; ++i) REQUIRE(a.Next() == b.Next());
  CHECK(SplitMix64(0).Next() == 0xE220A8397B1DCDAFull);  // SplitMix64's published first output for seed 0
  SplitMix64 r(1);
  for (int i = 0; i < 1000; ++i) REQUIRE(r.Below(7) < 7);
}

TEST_CASE("splits: groups whole, stratified, seeded", "[data][split]") {
  const SplitOptions o{0.15, 0.2, 1234};
  Dataset a = Synthetic(), b = Synthetic(), c = Synthetic();
  AssignSplits(a, o);
  CheckGroupsWhole(a);
  CheckStratified(a, o, static_cast<double>(MaxGroupSize(a)));
  AssignSplits(b, o);
  CHECK(Splits(a) == Splits(b));
  AssignSplits(c, SplitOptions{0.15, 0.2, 99});
  CHECK(Splits(a) != Splits(c));
}

TEST_CASE("pre-assigned tracks keep their split and take their group along", "[data][split]") {
  Dataset d = Synthetic();
  d.tracks[0].split = Split::kTest;  // group l0g0
  AssignSplits(d, {});
  CheckGroupsWhole(d);
  for (const Track& t : d.tracks)
    if (t.group == d.tracks[0].group) CHECK(t.split == Split::kTest);
}

TEST_CASE("folds: groups whole, labels balanced, seeded", "[data][split]") {
  const Dataset d = Synthetic();
  const std::vector<int> f = AssignFolds(d, 5, 3);
  CHECK(f == AssignFolds(d, 5, 3));
  CHECK(f != AssignFolds(d, 5, 4));
  std::map<std::string, std::set<int>> fold_of_group;
  std::map<std::string, std::vector<int>> per_label;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    fold_of_group[d.tracks[i].group].insert(f[i]);
    auto& v = per_label[d.tracks[i].label];
    v.resize(5);
    ++v[static_cast<std::size_t>(f[i])];
  }
  for (const auto& [g, s] : fold_of_group) REQUIRE(s.size() == 1);
  for (const auto& [label, v] : per_label) {
    INFO(label);
    CHECK(*std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()) <= 3);
  }
  CHECK_THROWS_AS(AssignFolds(d, 1), OptionError);
  CHECK_THROWS_AS(AssignFolds(d, 1000), OptionError);
}

TEST_CASE("split options are validated", "[data][split][errors]") {
  Dataset d = Synthetic();
  CHECK_THROWS_WITH(AssignSplits(d, SplitOptions{0.5, 0.5, 1}), "split.valid + split.test must be < 1, got 1.000000");
  CHECK_THROWS_AS(AssignSplits(d, SplitOptions{-0.1, 0.1, 1}), OptionError);
}

TEST_CASE("GTZAN clips + excerpts: no group crosses a split, strata hold, seeds repeat", "[data][split][shared]") {
  const auto shared = test::SharedDataOrSkip();
  DatasetOptions o;
  o.sources = {(shared / "gtzan").string(), (shared / "gtzan-excerpts").string()};
  Dataset a = LoadDataset(o), b = LoadDataset(o);
  REQUIRE(a.tracks.size() == 510);
  REQUIRE(a.classes.size() == 10);
  const SplitOptions so{0.1, 0.1, 2024};
  AssignSplits(a, so);
  AssignSplits(b, so);
  CheckGroupsWhole(a);
  CheckStratified(a, so, static_cast<double>(MaxGroupSize(a)));
  CHECK(Splits(a) == Splits(b));
  const std::vector<int> folds = AssignFolds(a, 5, 2024);
  std::map<std::string, std::set<int>> fold_of_group;
  for (std::size_t i = 0; i < a.tracks.size(); ++i) fold_of_group[a.tracks[i].group].insert(folds[i]);
  for (const auto& [g, s] : fold_of_group) REQUIRE(s.size() == 1);

  // The published artist-filtered lists: listed ids keep their split, the rest is filled in.
  const auto lists = shared / "gtzan-meta" / "splits-fault-filtered";
  o.train_list = (lists / "train_filtered.txt").string();
  o.valid_list = (lists / "valid_filtered.txt").string();
  o.test_list = (lists / "test_filtered.txt").string();
  Dataset c = LoadDataset(o);
  std::size_t listed = 0;
  for (const Track& t : c.tracks) listed += t.split != Split::kNone;
  CHECK(listed > 0);
  REQUIRE(c.notes.size() == 3);
  AssignSplits(c, so);
  CheckGroupsWhole(c);
}

}  // namespace genre
