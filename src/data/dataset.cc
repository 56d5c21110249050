#include "genre/data/dataset.h"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "genre/data/feature_table.h"
#include "genre/data/msd.h"
#include "genre/error.h"
#include "genre/util/atomic_file.h"
#include "genre/util/csv.h"

namespace fs = std::filesystem;

namespace genre {

std::string ToString(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValid:
      return "valid";
    case Split::kTest:
      return "test";
    default:
      return "";
  }
}

Split ParseSplit(const std::string& name) {
  if (name.empty() || name == "-") return Split::kNone;
  if (name == "train") return Split::kTrain;
  if (name == "valid" || name == "validation" || name == "val") return Split::kValid;
  if (name == "test") return Split::kTest;
  throw OptionError("split must be train, valid or test, got '" + name + "'");
}

int Dataset::ClassIndex(const std::string& label) const {
  auto it = std::lower_bound(classes.begin(), classes.end(), label);
  return it != classes.end() && *it == label ? static_cast<int>(it - classes.begin()) : -1;
}

void Dataset::UpdateClasses() {
  std::set<std::string> labels;
  for (const Track& t : tracks) labels.insert(t.label);
  classes.assign(labels.begin(), labels.end());
}

const std::vector<std::string>& AudioExtensions() {
  static const std::vector<std::string> ext = {".wav", ".wave", ".flac", ".ogg",  ".oga", ".opus",
                                               ".mp3", ".au",   ".snd",  ".aiff", ".aif", ".aifc"};
  return ext;
}

std::string FileStem(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (auto hash = name.find('#'); hash != std::string::npos && name.find(".h5") < hash)
    name.erase(hash);  // "x.h5#3" names song 3 of x.h5
  else if (hash != std::string::npos && name.rfind(".csv", hash) == hash - 4)
    name.erase(0, hash + 1);  // "table.csv#blues.00012.wav" names a row of a feature table
  const std::size_t dot = name.rfind('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string TrackStem(const Track& t) {
  return t.kind == TrackKind::kMsd && !t.track_id.empty() ? t.track_id : FileStem(t.path);
}

std::string Skipped::Line() const { return reason.rfind(path, 0) == 0 ? reason : path + ": " + reason; }

namespace {
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

bool IsAudioPath(const std::string& path) {
  const std::string ext = Lower(fs::path(path).extension().string());
  const auto& all = AudioExtensions();
  return std::find(all.begin(), all.end(), ext) != all.end();
}

bool IsH5Path(const std::string& path) {
  const std::string ext = Lower(fs::path(path).extension().string());
  return ext == ".h5" || ext == ".hdf5";
}

std::vector<std::string> ListFiles(const std::string& root, bool follow_symlinks) {
  std::error_code ec;
  const fs::file_status st = fs::status(root, ec);
  if (ec || !fs::exists(st)) throw IoError(root + ": cannot open: No such file or directory");
  if (!fs::is_directory(st)) throw IoError(root + ": not a folder");
  std::vector<std::string> files;
  auto options = fs::directory_options::skip_permission_denied;
  if (follow_symlinks) options |= fs::directory_options::follow_directory_symlink;
  for (fs::recursive_directory_iterator it(root, options, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  if (ec) throw IoError(root + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

// "file.h5#3": song 3 of an aggregate file (built by append: GCC 12 warns
// falsely on '"#" + std::string' under -O3).
std::string SongRef(const std::string& path, std::size_t song) {
  std::string ref = path;
  ref += '#';
  ref += std::to_string(song);
  return ref;
}

void Append(Dataset& into, Dataset&& from) {
  std::move(from.tracks.begin(), from.tracks.end(), std::back_inserter(into.tracks));
  std::move(from.skipped.begin(), from.skipped.end(), std::back_inserter(into.skipped));
  std::move(from.notes.begin(), from.notes.end(), std::back_inserter(into.notes));
}

// One recording reached through several sources (a clip, its excerpt, its row of a
// feature table) is one group: groups that share a track stem are merged, named
// after the group seen first, so that a split or fold never cuts them apart.
void MergeGroupsByStem(Dataset& d) {
  std::map<std::string, std::string> parent;  // union-find over group names
  std::function<std::string(const std::string&)> find = [&](const std::string& g) -> std::string {
    auto it = parent.find(g);
    if (it == parent.end() || it->second == g) return g;
    return it->second = find(it->second);
  };
  std::map<std::string, std::string> by_stem;  // stem -> a group holding it
  std::map<std::string, std::size_t> first;    // group -> index of its first track
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    const Track& t = d.tracks[i];
    first.emplace(t.group, i);
    const std::string stem = TrackStem(t);
    auto [it, added] = by_stem.emplace(stem, t.group);
    if (added) continue;
    std::string a = find(it->second), b = find(t.group);
    if (a == b) continue;
    if (first[b] < first[a]) std::swap(a, b);  // the earlier group names the merged one
    parent[b] = a;
  }
  for (Track& t : d.tracks) t.group = find(t.group);
}

// Fills in the values of feature-table rows that a manifest names ("table.csv#clip.wav"),
// reading each table once; rows not in their table are skipped.
void ResolveTableRows(Dataset& d) {
  std::map<std::string, std::map<std::string, const FeatureTableRow*>> index;
  std::map<std::string, FeatureTable> tables;
  std::vector<Track> kept;
  for (Track& t : d.tracks) {
    if (t.kind != TrackKind::kFeatures || !t.features.empty()) {
      kept.push_back(std::move(t));
      continue;
    }
    const std::size_t hash = t.path.rfind('#');
    const std::string file = t.path.substr(0, hash), name = t.path.substr(hash + 1);
    try {
      if (!tables.count(file)) {
        tables[file] = ReadFeatureTable(file);
        for (const FeatureTableRow& r : tables[file].rows) index[file][r.filename] = &r;
      }
    } catch (const Error& e) {
      d.skipped.push_back({t.path, e.what()});
      continue;
    }
    const auto it = index[file].find(name);
    if (it == index[file].end()) {
      d.skipped.push_back({t.path, "no row '" + name + "' in " + file});
      continue;
    }
    t.features = it->second->values;
    kept.push_back(std::move(t));
  }
  d.tracks = std::move(kept);
}

// Expands MSD tracks: opens files whose label or song list is not known yet,
// one track per song, labelled from the label set, else the file's own genre.
void ResolveMsd(Dataset& d, const LabelSet& labels) {
  constexpr std::size_t kAll = static_cast<std::size_t>(-1);
  struct Open {
    std::string file;
    std::size_t only_song = kAll;
  };
  // Tracks whose file must be opened (aggregate files, or labels only the file knows).
  std::vector<std::optional<Open>> open(d.tracks.size());
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    Track& t = d.tracks[i];
    if (t.kind != TrackKind::kMsd) continue;
    const std::string stem = FileStem(t.path);
    const bool per_track_file = IsTrackId(stem) && t.path.find('#') == std::string::npos;
    if (per_track_file) {
      const auto it = labels.labels.find(stem);
      if (!t.label.empty() || it != labels.labels.end()) {  // the manifest or a label file knows it
        t.track_id = stem;
        if (t.label.empty()) t.label = it->second;
        if (t.group.empty()) t.group = stem;
        continue;
      }
    }
    Open o{t.path};
    if (auto hash = t.path.rfind('#'); hash != std::string::npos && IsH5Path(t.path.substr(0, hash))) {
      o.file = t.path.substr(0, hash);
      const std::string song = t.path.substr(hash + 1);
      char* end = nullptr;
      o.only_song = std::strtoull(song.c_str(), &end, 10);
      // Not a number: a song no file has (reported "not in file" below).
      if (song.empty() || *end != '\0' || song[0] == '-' || o.only_song == kAll) o.only_song = kAll - 1;
    }
    open[i] = o;
    paths.push_back(o.file);
  }
  // Every file in one reader process: a file that crashes libhdf5 is skipped, not fatal.
  std::vector<MsdListing> listings(paths.size());
  std::vector<std::string> errors(paths.size());
  ListMsdFiles(paths, [&](std::size_t k, MsdListing* listing, const std::exception_ptr& error) {
    try {
      if (error) std::rethrow_exception(error);
      listings[k] = std::move(*listing);
    } catch (const Error& e) {
      errors[k] = e.what();
    }
  });

  std::vector<Track> out;
  std::size_t k = 0;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    Track& t = d.tracks[i];
    if (!open[i]) {
      out.push_back(std::move(t));
      continue;
    }
    const auto& [file_path, only_song] = *open[i];
    const MsdListing& file = listings[k];
    if (!errors[k++].empty()) {
      d.skipped.push_back({file_path, errors[k - 1]});
      continue;
    }
    for (std::size_t s = 0; s < file.size(); ++s) {
      if (only_song != kAll && s != only_song) continue;
      Track song = t;
      song.path = file_path;
      song.song = s;
      song.track_id = file.track_ids[s];
      if (song.label.empty()) {
        auto it = labels.labels.find(song.track_id);
        song.label = it != labels.labels.end() ? it->second : file.genres[s];
      }
      if (song.label.empty()) {
        d.skipped.push_back(
            {file.size() > 1 ? SongRef(file_path, s) : file_path, "no label for track " + song.track_id});
        continue;
      }
      if (song.group.empty()) song.group = !file.group.empty() ? file.group : song.track_id;
      out.push_back(std::move(song));
    }
    if (only_song != kAll && only_song >= file.size())
      d.skipped.push_back({t.path, "song " + t.path.substr(t.path.rfind('#') + 1) + " not in file (" +
                                       std::to_string(file.size()) + " songs)"});
  }
  d.tracks = std::move(out);
}

}  // namespace

Dataset ScanFolder(const std::string& root, bool follow_symlinks) {
  const std::vector<std::string> files = ListFiles(root, follow_symlinks);
  Dataset d;
  std::size_t audio = 0, h5 = 0;
  for (const std::string& file : files) {
    const fs::path rel = fs::path(file).lexically_relative(root);
    const bool in_subfolder = std::distance(rel.begin(), rel.end()) >= 2;
    if (IsAudioPath(file)) {
      ++audio;
      if (!in_subfolder) {
        d.skipped.push_back({file, "not inside a genre folder (ROOT/<genre>/file)"});
        continue;
      }
      Track t;
      t.path = file;
      t.label = rel.begin()->string();
      t.group = FileStem(file);
      d.tracks.push_back(std::move(t));
    } else if (IsH5Path(file)) {
      ++h5;
      Track t;
      t.path = file;
      t.kind = TrackKind::kMsd;
      d.tracks.push_back(std::move(t));  // label from label files or the file (ResolveMsd)
    }
  }
  if (audio == 0 && h5 == 0) {
    std::string exts;
    for (const std::string& e : AudioExtensions()) exts += " " + e;
    throw InputError(root + ": no audio files (" + exts.substr(1) + ") and no MSD .h5 files");
  }
  return d;
}

Dataset ReadManifest(const std::string& path) {
  CsvFile csv(path);
  const fs::path base = fs::path(path).parent_path();
  Dataset d;
  int col_path = 0, col_label = 1, col_group = 2, col_split = 3;
  std::size_t used = 0;
  std::vector<std::string> f;
  while (csv.Next(f)) {
    const std::size_t number = csv.line();
    auto problem = [&](const std::string& m) { csv.Skip(m); };
    if (used == 0 && Lower(f[0]) == "path") {  // header: columns by name, any order
      col_label = col_group = col_split = -1;
      for (std::size_t i = 0; i < f.size(); ++i) {
        const std::string name = Lower(f[i]);
        if (name == "label" || name == "genre") col_label = static_cast<int>(i);
        if (name == "group") col_group = static_cast<int>(i);
        if (name == "split") col_split = static_cast<int>(i);
      }
      if (col_label < 0) throw FormatError(path + ":" + std::to_string(number) + ": header has no 'label' column");
      continue;
    }
    auto field = [&](int c) {
      return c >= 0 && static_cast<std::size_t>(c) < f.size() ? f[static_cast<std::size_t>(c)] : std::string();
    };
    Track t;
    const std::string p = field(col_path);
    t.label = field(col_label);
    if (p.empty()) {
      problem("empty path");
      continue;
    }
    if (t.label.empty()) {
      problem("no label for '" + p + "'");
      continue;
    }
    try {
      t.split = ParseSplit(field(col_split));
    } catch (const Error& e) {
      problem(e.what());
      continue;
    }
    t.path = fs::path(p).is_absolute() ? p : (base / p).string();
    t.group = field(col_group);
    const std::string file_part =
        t.path.substr(0, t.path.rfind('#') == std::string::npos ? t.path.size() : t.path.rfind('#'));
    if (IsH5Path(file_part)) {
      t.kind = TrackKind::kMsd;
    } else if (file_part.size() < t.path.size() && Lower(fs::path(file_part).extension().string()) == ".csv") {
      t.kind = TrackKind::kFeatures;  // a row of a feature table, read by LoadDataset
      if (t.group.empty()) t.group = FileStem(t.path.substr(file_part.size() + 1));
    } else if (t.group.empty()) {
      t.group = FileStem(t.path);
    }
    d.tracks.push_back(std::move(t));
    ++used;
  }
  d.notes = std::move(csv.problems());
  if (used == 0) throw FormatError(path + ": no usable lines (expected path,label[,group][,split])");
  return d;
}

std::vector<std::string> ReadSplitList(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::vector<std::string> stems;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    std::size_t start = 0;
    while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
    if (start == line.size() || line[start] == '#') continue;
    stems.push_back(FileStem(line.substr(start)));
  }
  return stems;
}

std::size_t ApplySplitList(Dataset& d, const std::vector<std::string>& stems, Split split) {
  std::unordered_map<std::string, bool> wanted;  // stem -> matched
  for (const std::string& s : stems) wanted.emplace(s, false);
  std::set<std::string> groups;
  for (const Track& t : d.tracks) {
    const std::string stem = TrackStem(t);
    if (auto it = wanted.find(stem); it != wanted.end()) {
      it->second = true;
      groups.insert(t.group);
    }
  }
  for (Track& t : d.tracks)
    if (groups.count(t.group)) t.split = split;
  std::size_t absent = 0;
  for (const auto& [stem, matched] : wanted) absent += !matched;
  return absent;
}

Dataset LoadDataset(const DatasetOptions& o) {
  if (o.sources.empty()) throw OptionError("a dataset needs at least one source");
  LabelSet labels;
  Dataset d;
  if (!o.label_files.empty()) {
    labels = ReadLabels(o.label_files, o.conflicts);
    constexpr std::size_t kShown = 20;
    for (std::size_t i = 0; i < labels.problems.size() && i < kShown; ++i)
      d.notes.push_back(labels.problems[i].ToString() + " (line skipped)");
    if (labels.problems.size() > kShown)
      d.notes.push_back("... and " + std::to_string(labels.problems.size() - kShown) + " more malformed label lines");
    if (!labels.conflicts.empty()) {
      std::string example;
      for (const auto& [file, genre] : labels.conflicts.front().votes)
        example += (example.empty() ? "" : ", ") + genre + " in " + file;
      d.notes.push_back(std::to_string(labels.conflicts.size()) + " tracks have conflicting labels (" +
                        (o.conflicts == LabelConflictPolicy::kDrop ? "dropped" : "first file wins") + "), e.g. " +
                        labels.conflicts.front().track_id + ": " + example);
    }
  }
  for (const std::string& source : o.sources) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) throw IoError(source + ": cannot open: " + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) {
      Append(d, ScanFolder(source, o.follow_symlinks));
    } else if (Lower(fs::path(source).extension().string()) == ".csv") {
      Append(d, IsFeatureTable(source) ? TableDataset(ReadFeatureTable(source)) : ReadManifest(source));
    } else if (IsH5Path(source)) {
      Track t;
      t.path = source;
      t.kind = TrackKind::kMsd;
      d.tracks.push_back(std::move(t));
    } else {
      throw InputError(source + ": not a dataset source (a genre folder, a .csv manifest or an MSD .h5 file)");
    }
  }
  ResolveMsd(d, labels);
  ResolveTableRows(d);

  // The same file reached twice (overlapping sources) counts once.
  std::set<std::pair<std::string, std::size_t>> seen;
  std::vector<Track> unique;
  std::size_t duplicates = 0;
  for (Track& t : d.tracks) {
    if (seen.emplace(fs::path(t.path).lexically_normal().string(), t.song).second)
      unique.push_back(std::move(t));
    else
      ++duplicates;
  }
  d.tracks = std::move(unique);
  if (duplicates) d.notes.push_back(std::to_string(duplicates) + " files were listed twice and counted once");
  MergeGroupsByStem(d);

  const std::pair<const std::string*, Split> lists[] = {
      {&o.train_list, Split::kTrain}, {&o.valid_list, Split::kValid}, {&o.test_list, Split::kTest}};
  for (const auto& [list, split] : lists) {
    if (list->empty()) continue;
    const std::vector<std::string> stems = ReadSplitList(*list);
    const std::size_t absent = ApplySplitList(d, stems, split);
    d.notes.push_back(ToString(split) + " list " + *list + ": " + std::to_string(stems.size()) + " ids, " +
                      std::to_string(stems.size() - absent) + " found, " + std::to_string(absent) + " absent");
  }
  d.UpdateClasses();
  if (d.tracks.empty()) {
    std::string message = "no usable tracks in the dataset";
    if (!d.skipped.empty()) {
      message += " (" + std::to_string(d.skipped.size()) + " files skipped; first: " + d.skipped.front().Line() + ")";
    }
    throw InputError(message);
  }
  return d;
}

void WriteManifest(const std::string& path, const Dataset& d, const std::vector<int>& folds) {
  if (!folds.empty() && folds.size() != d.tracks.size())
    throw OptionError("WriteManifest: one fold per track expected");
  const fs::path base = fs::absolute(fs::path(path).parent_path()).lexically_normal();
  WriteAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw OutputError(path + ": cannot open for writing");
    out << "path,label,group,split" << (folds.empty() ? "" : ",fold") << '\n';
    for (std::size_t i = 0; i < d.tracks.size(); ++i) {
      const Track& t = d.tracks[i];
      std::string p = fs::absolute(t.path).lexically_normal().lexically_relative(base).string();
      if (p.empty()) p = fs::absolute(t.path).string();
      if (t.kind == TrackKind::kMsd && (t.song > 0 || FileStem(t.path) != t.track_id)) p = SongRef(p, t.song);
      out << CsvField(p) << ',' << CsvField(t.label) << ',' << CsvField(t.group) << ',' << ToString(t.split);
      if (!folds.empty()) out << ',' << folds[i];
      out << '\n';
    }
    out.flush();
    if (!out) throw OutputError(path + ": write failed");
  });
}

}  // namespace genre
