#include "genre/data/split.h"

#include <algorithm>
#include <map>
#include <set>

#include "genre/error.h"
#include "genre/util/csv.h"
#include "genre/util/hash.h"

namespace genre {

std::uint64_t SplitMix64::Next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::Below(std::uint64_t bound) {
  // Rejection sampling: no modulo bias.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  for (;;)
    if (const std::uint64_t x = Next(); x < limit) return x % bound;
}

double SplitMix64::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

void SplitOptions::Validate() const {
  if (!(valid >= 0 && valid < 1)) throw OptionError("split.valid must be in [0, 1), got " + std::to_string(valid));
  if (!(test >= 0 && test < 1)) throw OptionError("split.test must be in [0, 1), got " + std::to_string(test));
  if (!(valid + test < 1))
    throw OptionError("split.valid + split.test must be < 1, got " + std::to_string(valid + test));
}

namespace {

struct Group {
  std::string name, label;
  std::vector<std::size_t> tracks;
  Split split = Split::kNone;
};

// Groups in name order, each with its majority label (ties: the smaller label).
std::vector<Group> MakeGroups(const Dataset& d) {
  std::map<std::string, Group> by_name;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    Group& g = by_name[d.tracks[i].group];
    g.name = d.tracks[i].group;
    g.tracks.push_back(i);
  }
  std::vector<Group> groups;
  for (auto& [name, g] : by_name) {
    std::map<std::string, std::size_t> votes;
    for (std::size_t i : g.tracks) ++votes[d.tracks[i].label];
    std::size_t best = 0;
    for (const auto& [label, n] : votes)
      if (n > best) {
        best = n;
        g.label = label;
      }
    groups.push_back(std::move(g));
  }
  return groups;
}

// A label's own stream: adding or removing another label leaves this one's split unchanged.
void Shuffle(std::vector<Group*>& v, std::uint64_t seed, const std::string& label) {
  SplitMix64 rng(seed ^ HashBytes(label));
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

}  // namespace

void AssignSplits(Dataset& d, const SplitOptions& o) {
  o.Validate();
  std::vector<Group> groups = MakeGroups(d);
  std::map<std::string, std::vector<Group*>> by_label;
  for (Group& g : groups) {
    // A group takes the split of its first pre-assigned track; all its tracks follow it.
    std::set<Split> given;
    for (std::size_t i : g.tracks)
      if (d.tracks[i].split != Split::kNone) given.insert(d.tracks[i].split);
    if (!given.empty()) {
      g.split = *given.begin();
      if (given.size() > 1)
        d.notes.push_back("group " + g.name + " was pre-assigned to several splits; all its tracks moved to " +
                          ToString(g.split));
    }
    by_label[g.label].push_back(&g);
  }
  const double share[4] = {0, 1.0 - o.valid - o.test, o.valid, o.test};
  for (auto& [label, members] : by_label) {
    double total = 0, count[4] = {0, 0, 0, 0};
    std::vector<Group*> open;
    for (Group* g : members) {
      total += static_cast<double>(g->tracks.size());
      if (g->split != Split::kNone)
        count[static_cast<int>(g->split)] += static_cast<double>(g->tracks.size());
      else
        open.push_back(g);
    }
    Shuffle(open, o.seed, label);
    for (Group* g : open) {
      int best = 1;
      double best_deficit = -1e300;
      for (int s = 1; s <= 3; ++s) {
        if (share[s] <= 0) continue;
        const double deficit = share[s] * total - count[s];
        if (deficit > best_deficit + 1e-9) {
          best_deficit = deficit;
          best = s;
        }
      }
      g->split = static_cast<Split>(best);
      count[best] += static_cast<double>(g->tracks.size());
    }
  }
  for (const Group& g : groups)
    for (std::size_t i : g.tracks) d.tracks[i].split = g.split;
}

std::vector<int> AssignFolds(const Dataset& d, int k, std::uint64_t seed) {
  if (k < 2) throw OptionError("folds must be >= 2, got " + std::to_string(k));
  std::vector<Group> groups = MakeGroups(d);
  if (groups.size() < static_cast<std::size_t>(k))
    throw OptionError("folds (" + std::to_string(k) + ") exceed the number of groups (" +
                      std::to_string(groups.size()) + ")");
  std::map<std::string, std::vector<Group*>> by_label;
  for (Group& g : groups) by_label[g.label].push_back(&g);
  std::vector<double> fold_total(static_cast<std::size_t>(k), 0.0);
  std::vector<int> fold_of(d.tracks.size(), 0);
  for (auto& [label, members] : by_label) {
    Shuffle(members, seed, label);
    // Largest groups first, so the small ones even out the folds.
    std::stable_sort(members.begin(), members.end(),
                     [](const Group* a, const Group* b) { return a->tracks.size() > b->tracks.size(); });
    std::vector<double> count(static_cast<std::size_t>(k), 0.0);
    for (Group* g : members) {
      std::size_t best = 0;
      for (std::size_t f = 1; f < count.size(); ++f)
        if (count[f] < count[best] || (count[f] == count[best] && fold_total[f] < fold_total[best])) best = f;
      count[best] += static_cast<double>(g->tracks.size());
      fold_total[best] += static_cast<double>(g->tracks.size());
      for (std::size_t i : g->tracks) fold_of[i] = static_cast<int>(best);
    }
  }
  return fold_of;
}

FixedFolds FoldsFromFile(const Dataset& d, const std::string& path) {
  CsvFile file(path);
  std::vector<std::string> f;
  if (!file.Next(f)) throw FormatError(path + ": empty folds file");
  int col_path = -1, col_fold = -1, col_split = -1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "path") col_path = static_cast<int>(i);
    if (f[i] == "fold") col_fold = static_cast<int>(i);
    if (f[i] == "split") col_split = static_cast<int>(i);
  }
  const int col = col_fold >= 0 ? col_fold : col_split;
  if (col_path < 0 || col < 0)
    throw FormatError(path + ": a folds file needs a header with path and fold (or split) columns");
  std::map<std::string, int> by_stem;
  FixedFolds out;
  while (file.Next(f)) {
    const auto need = static_cast<std::size_t>(std::max(col_path, col));
    auto bad = [&](const std::string& m) { return FormatError(path + ":" + std::to_string(file.line()) + ": " + m); };
    if (f.size() <= need)
      throw bad("expected " + std::to_string(need + 1) + " fields, got " + std::to_string(f.size()));
    int fold = -1;
    if (col_fold >= 0) {
      long v = -1;
      if (!ParseNumber(f[col], v) || v < 0 || v > 1000) throw bad("fold '" + f[col] + "' is not a number in [0, 1000]");
      fold = static_cast<int>(v);
    } else {
      const Split s = ParseSplit(f[col]);
      if (s == Split::kNone) throw bad("split is empty");
      fold = s == Split::kTrain ? 0 : s == Split::kValid ? 1 : 2;
    }
    const std::string stem = FileStem(f[col_path]);
    if (auto [it, added] = by_stem.emplace(stem, fold); !added && it->second != fold)
      throw bad(stem + " is listed in folds " + std::to_string(it->second) + " and " + std::to_string(fold));
    out.k = std::max(out.k, fold + 1);
  }
  if (!file.problems().empty()) throw FormatError(file.problems().front());
  if (by_stem.empty()) throw FormatError(path + ": no rows");
  // A track's fold: its own row's, else that of another track of its group.
  std::map<std::string, std::pair<int, std::string>> group_fold;  // group -> fold, stem that set it
  for (const Track& t : d.tracks) {
    const std::string stem = TrackStem(t);
    const auto it = by_stem.find(stem);
    if (it == by_stem.end()) continue;
    auto [g, added] = group_fold.emplace(t.group, std::make_pair(it->second, stem));
    if (!added && g->second.first != it->second)
      throw InputError(path + ": " + g->second.second + " (fold " + std::to_string(g->second.first) + ") and " + stem +
                       " (fold " + std::to_string(it->second) + ") are one group (" + t.group +
                       ") and cannot be held out apart");
  }
  for (const Track& t : d.tracks) {
    const auto g = group_fold.find(t.group);
    out.fold.push_back(g == group_fold.end() ? -1 : g->second.first);
    out.absent += g == group_fold.end();
  }
  return out;
}

}  // namespace genre
