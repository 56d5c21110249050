// Labelled track lists from the ways users hold music:
//   - genre folder trees  ROOT/<genre>/**/*.<audio ext>  (GTZAN layout), several roots at once;
//   - CSV manifests       path,label[,group][,split]  (paths relative to the manifest);
//   - feature tables      filename,length,...,label  (the GTZAN feature table layout);
//   - MSD HDF5 files      single files, or trees of them, labelled from tagtraum /
//                         Top-MAGD / MASD label files (or their own metadata genre);
// plus split lists (`blues/blues.00012.wav` per line) that pre-assign tracks to
// train / valid / test by file stem.
//
// The group of a track is the unit a split never cuts: by default its file stem
// (`blues.00012` under two roots is one recording: a full clip and its excerpt).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "genre/data/labels.h"

namespace genre {

enum class Split { kNone, kTrain, kValid, kTest };
std::string ToString(Split split);          // "", "train", "valid", "test"
Split ParseSplit(const std::string& name);  // also "validation", "val"; throws OptionError

// kFeatures: a row of a feature table (genre/data/feature_table.h), its values in Track::features.
enum class TrackKind { kAudio, kMsd, kFeatures };
// The column layout of a feature table (see genre/data/feature_table.h).
enum class TableLayout { kGtzan, kMsdConvnet, kMsdConvnetGtzan };

struct Track {
  std::string path;  // as found (joined with the root / manifest folder)
  std::string label;
  std::string group;  // tracks of one group always share a split / fold
  Split split = Split::kNone;
  TrackKind kind = TrackKind::kAudio;
  std::size_t song = 0;          // row in an MSD file (aggregate files hold many songs)
  std::string track_id;          // MSD track id; empty for audio
  std::vector<double> features;  // kFeatures: the row's values (in its table's layout)
  TableLayout table_layout = TableLayout::kGtzan;
};

// A file that was found but cannot be used, and why.
struct Skipped {
  std::string path;
  std::string reason;
  // "path: reason", or the reason alone when it already starts with the path.
  std::string Line() const;
};

struct Dataset {
  std::vector<Track> tracks;
  std::vector<std::string> classes;                // sorted unique labels of `tracks`
  std::vector<Skipped> skipped;                    // unusable files: corrupt, unlabelled, ...
  std::vector<std::string> notes;                  // what a user should know: absent split-list ids, conflicts
  int ClassIndex(const std::string& label) const;  // -1 if absent
  void UpdateClasses();
};

// File extensions (lower case, with dot) taken as audio when walking folders.
const std::vector<std::string>& AudioExtensions();
bool IsAudioPath(const std::string& path);  // by extension, any case
bool IsH5Path(const std::string& path);     // .h5 / .hdf5, any case
// Every regular file below `root`, sorted. Throws IoError when root is missing,
// not a folder, or cannot be listed.
std::vector<std::string> ListFiles(const std::string& root, bool follow_symlinks = true);

struct DatasetOptions {
  // Folders (genre trees, or trees of MSD .h5 files), manifests (.csv), feature
  // tables (.csv starting "filename,") and MSD files (.h5), mixed freely.
  std::vector<std::string> sources;
  // tagtraum / Top-MAGD / MASD label files for MSD tracks, unified by `conflicts`.
  std::vector<std::string> label_files;
  LabelConflictPolicy conflicts = LabelConflictPolicy::kFirstFile;
  // Split lists; tracks whose stem is listed get that split, and so does every
  // other track of their group.
  std::string train_list, valid_list, test_list;
  bool follow_symlinks = true;
};

// Throws IoError (a source is missing), InputError (a folder has no audio or
// MSD files, or nothing usable is left at the end), FormatError (a manifest
// without usable lines). Unusable files go to `skipped`, not to an exception.
Dataset LoadDataset(const DatasetOptions& options);

// Pieces of LoadDataset, public for tests and tools.
Dataset ScanFolder(const std::string& root, bool follow_symlinks = true);
Dataset ReadManifest(const std::string& path);
// Lines "genre/stem.ext" (or bare stems); returns stems in file order.
// Throws IoError when unreadable.
std::vector<std::string> ReadSplitList(const std::string& path);
// Assigns `split` to every track whose path stem is listed and to the rest of
// its group; returns how many listed ids matched no track.
std::size_t ApplySplitList(Dataset& dataset, const std::vector<std::string>& stems, Split split);

// Writes path,label,group,split[,fold] as a manifest that ReadManifest reads
// back (paths relative to the manifest's folder where possible); atomic.
void WriteManifest(const std::string& path, const Dataset& dataset, const std::vector<int>& folds = {});

// "a/blues.00012.flac" -> "blues.00012"; "t.csv#blues.00012.wav" (a feature-table row) -> "blues.00012"
std::string FileStem(const std::string& path);
// What names a track's recording across sources: an MSD track's id, else FileStem(path).
std::string TrackStem(const Track& track);

}  // namespace genre
