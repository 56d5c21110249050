// Genre label files of the Million Song Dataset: tagtraum CD1 / CD2 / CD2C
// (`msd_tagtraum_cd*.cls`) and Top-MAGD / MASD assignments (`msd-topMAGD-*.cls`,
// `msd-MASD-*.cls`). All share one line format:
//
//   # comment lines start with '#'
//   TRAAAAK128F9318786<TAB>Pop_Rock[<TAB>minority genre]
//
// A file may be gzip-compressed (read transparently, whatever its name).
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace genre {

// A line that could not be used; the rest of the file still is.
struct LineProblem {
  std::string file;
  std::size_t line = 0;  // 1-based
  std::string message;
  std::string ToString() const;  // "file:line: message"
};

struct LabelFile {
  std::string path;
  std::unordered_map<std::string, std::string> labels;  // track id -> majority genre
  std::size_t lines = 0;                                // non-comment, non-empty lines seen
  std::size_t with_minority = 0;                        // lines that carried a third (minority-genre) column
  std::vector<LineProblem> problems;
};

// True for an MSD track id: "TR" followed by 16 upper-case letters or digits.
bool IsTrackId(const std::string& s);

// Reads one label file. Malformed lines (not 2 or 3 fields, a bad track id, an
// empty genre, a track listed twice with another genre) are recorded in
// `problems` with their line number and skipped. Throws IoError when the file
// cannot be read.
LabelFile ReadLabelFile(const std::string& path);

// How several label files are unified.
enum class LabelConflictPolicy {
  kFirstFile,  // a track takes the genre of the first file (in the order given) that lists it
  kDrop,       // a track whose files disagree is left unlabelled
};

struct LabelConflict {
  std::string track_id;
  std::vector<std::pair<std::string, std::string>> votes;  // (file, genre) in file order
};

struct LabelSet {
  std::unordered_map<std::string, std::string> labels;
  std::vector<LabelConflict> conflicts;  // tracks with different genres in different files
  std::vector<LineProblem> problems;     // of all files
  std::vector<std::string> files;
};

// Genres are compared exactly as written (tagtraum's "Pop_Rock" and Top-MAGD's
// "Pop_Rock" agree; CD2's "Rock" and CD1's "Pop_Rock" do not).
LabelSet MergeLabels(const std::vector<LabelFile>& files, LabelConflictPolicy policy = LabelConflictPolicy::kFirstFile);
LabelSet ReadLabels(const std::vector<std::string>& paths,
                    LabelConflictPolicy policy = LabelConflictPolicy::kFirstFile);

LabelConflictPolicy ParseConflictPolicy(const std::string& name);  // "first" | "drop"

}  // namespace genre
