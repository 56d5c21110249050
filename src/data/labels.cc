#include "genre/data/labels.h"

#include <zlib.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <memory>

#include "genre/error.h"

namespace genre {

std::string LineProblem::ToString() const { return file + ":" + std::to_string(line) + ": " + message; }

bool IsTrackId(const std::string& s) {
  if (s.size() != 18 || s[0] != 'T' || s[1] != 'R') return false;
  for (std::size_t i = 2; i < s.size(); ++i)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return false;
  return true;
}

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

std::vector<std::string> SplitFields(const std::string& line) {
  // Tabs separate fields; genre names never contain tabs but may contain spaces
  // ("New Age"), so spaces split only when the line has no tab at all.
  const char sep = line.find('\t') != std::string::npos ? '\t' : ' ';
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = line.find(sep, start);
    std::string f = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!f.empty() || sep == '\t') fields.push_back(std::move(f));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return fields;
}

}  // namespace

LabelFile ReadLabelFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory, not a label file");
  std::unique_ptr<gzFile_s, GzCloser> gz(gzopen(path.c_str(), "rb"));
  if (!gz) throw IoError(path + ": cannot open: " + std::strerror(errno));
  gzbuffer(gz.get(), 1 << 17);

  LabelFile out;
  out.path = path;
  std::string line;
  char buffer[4096];
  std::size_t number = 0;
  bool eof = false;
  while (!eof) {
    line.clear();
    // Read one whole line, however long.
    for (;;) {
      if (!gzgets(gz.get(), buffer, sizeof buffer)) {
        int err = 0;
        const char* msg = gzerror(gz.get(), &err);
        if (err != Z_OK && err != Z_STREAM_END)
          throw FormatError(path + ": cannot decompress after line " + std::to_string(number) + ": " + msg);
        eof = true;
        break;
      }
      line += buffer;
      if (!line.empty() && line.back() == '\n') break;
    }
    if (eof && line.empty()) break;
    ++number;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    ++out.lines;
    auto problem = [&](std::string message) { out.problems.push_back({path, number, std::move(message)}); };
    const std::vector<std::string> fields = SplitFields(line);
    if (fields.size() < 2 || fields.size() > 3) {
      problem("expected TRACKID<TAB>GENRE[<TAB>MINORITY], got " + std::to_string(fields.size()) + " field(s)");
      continue;
    }
    if (!IsTrackId(fields[0])) {
      problem("'" + fields[0] + "' is not an MSD track id");
      continue;
    }
    if (fields[1].empty()) {
      problem("empty genre");
      continue;
    }
    if (fields.size() == 3 && !fields[2].empty()) ++out.with_minority;
    auto [it, inserted] = out.labels.emplace(fields[0], fields[1]);
    if (!inserted && it->second != fields[1])
      problem(fields[0] + " listed again as '" + fields[1] + "' (first: '" + it->second + "'), kept the first");
  }
  return out;
}

LabelSet MergeLabels(const std::vector<LabelFile>& files, LabelConflictPolicy policy) {
  LabelSet set;
  std::unordered_map<std::string, std::size_t> conflict_index;
  for (const LabelFile& f : files) {
    set.files.push_back(f.path);
    set.problems.insert(set.problems.end(), f.problems.begin(), f.problems.end());
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    for (const auto& [id, genre] : files[i].labels) {
      auto [it, inserted] = set.labels.emplace(id, genre);
      if (inserted || it->second == genre) {
        if (!inserted && conflict_index.count(id))
          set.conflicts[conflict_index[id]].votes.emplace_back(files[i].path, genre);
        continue;
      }
      auto c = conflict_index.find(id);
      if (c == conflict_index.end()) {
        LabelConflict conflict{id, {}};
        for (std::size_t j = 0; j < i; ++j)
          if (auto l = files[j].labels.find(id); l != files[j].labels.end())
            conflict.votes.emplace_back(files[j].path, l->second);
        c = conflict_index.emplace(id, set.conflicts.size()).first;
        set.conflicts.push_back(std::move(conflict));
      }
      set.conflicts[c->second].votes.emplace_back(files[i].path, genre);
    }
  }
  if (policy == LabelConflictPolicy::kDrop)
    for (const LabelConflict& c : set.conflicts) set.labels.erase(c.track_id);
  return set;
}

LabelSet ReadLabels(const std::vector<std::string>& paths, LabelConflictPolicy policy) {
  std::vector<LabelFile> files;
  for (const std::string& p : paths) files.push_back(ReadLabelFile(p));
  return MergeLabels(files, policy);
}

LabelConflictPolicy ParseConflictPolicy(const std::string& name) {
  if (name == "first") return LabelConflictPolicy::kFirstFile;
  if (name == "drop") return LabelConflictPolicy::kDrop;
  throw OptionError("label conflict policy must be first or drop, got '" + name + "'");
}

}  // namespace genre
