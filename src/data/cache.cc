#include "genre/data/cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <unordered_map>

#include "genre/error.h"
#include "genre/features/extract.h"
#include "genre/features/options_json.h"
#include "genre/io/h5.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"
#include "genre/util/isolate.h"
#include "genre/util/parallel.h"

namespace genre {

namespace {
constexpr const char* kFormat = "genre-feature-cache";
constexpr std::int64_t kFormatVersion = 1;

struct IndexEntry {
  std::string hash;
  double size = 0, duration_s = 0;
};

struct FailedEntry {
  std::string hash, error;
};

struct Contents {
  std::unordered_map<std::string, IndexEntry> index;  // path -> entry
  std::unordered_map<std::string, FailedEntry> failed;
  std::string options;
};

Contents ReadContents(const h5::File& f) {
  Contents c;
  if (!f.HasAttribute("/", "format") || f.ReadStringAttribute("/", "format") != kFormat)
    throw FormatError(f.path() + ": not a genre feature cache");
  const auto version = static_cast<std::int64_t>(f.ReadNumberAttribute("/", "format_version"));
  if (version != kFormatVersion)
    throw FormatError(f.path() + ": feature cache format_version " + std::to_string(version) +
                      " is not supported (this build reads " + std::to_string(kFormatVersion) + ")");
  c.options = f.ReadStringAttribute("/", "options");
  const h5::Table index = f.ReadTable("/index");
  for (std::size_t r = 0; r < index.rows(); ++r)
    c.index[index.String(r, "path")] = {index.String(r, "hash"), index.Number(r, "size"),
                                        index.Number(r, "duration_s")};
  if (f.Exists("/failed")) {
    const h5::Table failed = f.ReadTable("/failed");
    for (std::size_t r = 0; r < failed.rows(); ++r)
      c.failed[failed.String(r, "path")] = {failed.String(r, "hash"), failed.String(r, "error")};
  }
  return c;
}

// libhdf5 crashes or hangs on some damaged files (fuzz/third-party/README.md). Before a
// cache is read here, a reader process opens it, reads its attributes and tables and walks
// every object's header, where such a file costs a FormatError naming it, not the tool.
// (The matrices' data are read here only, through the deflate filter, whose damage libhdf5
// reports as an error.)
void CheckInReader(const std::string& path) {
  RunIsolated(
      1,
      [&](std::size_t) {
        const h5::File f = h5::File::Open(path);
        ReadContents(f);
        f.List();
        return std::string();
      },
      [](std::size_t, const std::string&, const std::exception_ptr& error) {
        if (error) std::rethrow_exception(error);
      },
      [&](std::size_t) { return path; }, "libhdf5", {}, &h5::LibraryMutex());
}

}  // namespace

void CacheOptions::Validate() const {
  front_end.Validate();
  if (song_vector && song_vector_id.empty()) throw OptionError("a song vector cache needs song_vector_id");
  if (!song_vector && (features == 0 || features >= (1u << FeatureNames().size())))
    throw OptionError("cache.features must name at least one feature, got mask " + std::to_string(features));
  if (gzip < 0 || gzip > 9) throw OptionError("cache.gzip must be in [0, 9], got " + std::to_string(gzip));
  if (threads < 0) throw OptionError("cache.threads must be >= 0, got " + std::to_string(threads));
}

std::string CacheOptionsText(const CacheOptions& o) {
  if (o.song_vector)
    return "cache_format=" + std::to_string(kFormatVersion) +
           ";sample_rate=" + std::to_string(o.front_end.sample_rate) + ";song_vector=" + o.song_vector_id;
  FrontEndOptions f = o.front_end;
  f.mel.fmax_hz = f.mel.FmaxHz(f.sample_rate);  // "sr / 2" and its value make the same features
  std::string features;
  for (const FeatureName& n : FeatureNames())
    if (o.features & n.feature) features += std::string(features.empty() ? "" : ",") + n.name;
  return "cache_format=" + std::to_string(kFormatVersion) + ";features=" + features + ";front_end=" + ToJson(f).dump();
}

CacheReport FeatureCache::Update(const std::string& path, const std::vector<std::string>& input,
                                 const CacheOptions& o) {
  o.Validate();
  const auto start = std::chrono::steady_clock::now();
  const std::string options_text = CacheOptionsText(o);
  CacheReport report;

  // Distinct paths, in first-seen order.
  std::vector<std::string> files;
  {
    std::set<std::string> seen;
    for (const std::string& p : input)
      if (seen.insert(p).second) files.push_back(p);
  }
  report.files = files.size();

  // 1. Content hashes, in parallel (pure file reads).
  std::vector<std::string> hashes(files.size());
  std::vector<double> sizes(files.size(), 0.0);
  std::vector<std::string> errors(files.size());
  ParallelFor(files.size(), o.threads, [&](std::size_t i) {
    try {
      struct stat st {};
      if (::stat(files[i].c_str(), &st) != 0) throw IoError(files[i] + ": cannot open: " + std::strerror(errno));
      if (S_ISDIR(st.st_mode)) throw IoError(files[i] + ": is a directory");
      sizes[i] = static_cast<double>(st.st_size);
      hashes[i] = ToHex(HashFile(files[i]));
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  });

  // 2. What the previous cache holds.
  std::unique_ptr<h5::File> old;
  Contents previous;
  if (::access(path.c_str(), F_OK) == 0) {
    try {
      CheckInReader(path);
      old = std::make_unique<h5::File>(h5::File::Open(path));
      previous = ReadContents(*old);
      if (previous.options != options_text) {
        report.rebuilt = "built with other options";
        old.reset();
        previous = {};
      }
    } catch (const Error& e) {
      report.rebuilt = std::string("unreadable: ") + e.what();
      old.reset();
      previous = {};
    }
  }
  std::set<std::string> old_hashes;
  for (const auto& [p, e] : previous.index) old_hashes.insert(e.hash);
  std::unordered_map<std::string, std::string> known_failure;  // hash -> error
  for (const auto& [p, e] : previous.failed) known_failure[e.hash] = e.error;

  // 3. Work to do: each new content once; known failures of unchanged content stay failed.
  std::vector<std::size_t> todo;
  std::set<std::string> planned;
  std::vector<std::string> failure(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!errors[i].empty()) {
      failure[i] = errors[i];
    } else if (auto k = known_failure.find(hashes[i]); k != known_failure.end() && !old_hashes.count(hashes[i])) {
      failure[i] = k->second;
    } else if (!old_hashes.count(hashes[i]) && planned.insert(hashes[i]).second) {
      todo.push_back(i);
    }
  }

  // Nothing new and the same paths: the cache is already right.
  auto same_as_before = [&] {
    if (!todo.empty() || !report.rebuilt.empty() || !old) return false;
    std::size_t ok = 0, bad = 0;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (failure[i].empty()) {
        auto it = previous.index.find(files[i]);
        if (it == previous.index.end() || it->second.hash != hashes[i]) return false;
        ++ok;
      } else {
        auto it = previous.failed.find(files[i]);
        if (it == previous.failed.end() || it->second.hash != hashes[i]) return false;
        ++bad;
      }
    }
    return ok == previous.index.size() && bad == previous.failed.size();
  };
  std::unordered_map<std::string, double> durations;  // hash -> seconds
  for (const auto& [p, e] : previous.index) durations[e.hash] = e.duration_s;

  if (same_as_before()) {
    report.reused = files.size() - previous.failed.size();
    for (std::size_t i = 0; i < files.size(); ++i)
      if (!failure[i].empty()) report.failed.push_back({files[i], failure[i]});
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }

  // 4. A new file beside the old one: copy what is reused, extract the rest.
  WriteAtomically(path, [&](const std::string& tmp) {
    h5::File out = h5::File::Create(tmp);
    std::set<std::string> copied;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (!failure[i].empty() || !old_hashes.count(hashes[i])) continue;
      if (copied.insert(hashes[i]).second) out.CopyFrom(*old, "/entries/" + hashes[i], "/entries/" + hashes[i]);
      ++report.reused;
    }
    old.reset();

    const FrontEnd front_end(o.front_end);
    Progress progress("extracting", todo.size(), o.progress);
    ParallelFor(todo.size(), o.threads, [&](std::size_t k) {
      const std::size_t i = todo[k];
      FeatureSet features;
      double duration = 0;
      std::string error;
      Matrix vector;
      try {
        if (o.song_vector) {
          AudioReadOptions read;
          read.sample_rate = o.front_end.sample_rate;
          const Waveform w = LoadAudio(files[i], read);
          duration = w.duration_s();
          try {
            vector = o.song_vector(w);
          } catch (const Error& e) {
            e.RethrowWithContext(files[i]);
          }
        } else {
          Extracted x = ExtractFile(files[i], front_end, o.features);
          duration = x.audio.duration_s();
          features = std::move(x.features);
        }
      } catch (const Error& e) {
        error = e.what();
      }
      std::lock_guard lock(h5::LibraryMutex());  // HDF5 is not thread-safe: one writer at a time
      if (error.empty()) {
        const std::string group = "/entries/" + hashes[i];
        if (o.song_vector)
          out.WriteMatrix(group + "/vector", vector, o.gzip);
        else
          for (const FeatureName& n : FeatureNames())
            if (o.features & n.feature) out.WriteMatrix(group + "/" + n.name, features.Get(n.feature), o.gzip);
        out.SetAttribute(group, "duration_s", duration);
        durations[hashes[i]] = duration;
        ++report.computed;
      } else {
        failure[i] = error;
      }
      progress.Advance();
    });

    // Files whose content equals one just extracted (copies) share its entry.
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (!failure[i].empty() || old_hashes.count(hashes[i])) continue;
      if (std::find(todo.begin(), todo.end(), i) != todo.end()) continue;
      const auto first = std::find_if(todo.begin(), todo.end(), [&](std::size_t j) { return hashes[j] == hashes[i]; });
      if (first != todo.end() && !failure[*first].empty()) failure[i] = failure[*first];
    }

    h5::Column c_path{"path", h5::Column::kString}, c_size{"size"}, c_hash{"hash", h5::Column::kString},
        c_duration{"duration_s"};
    h5::Column f_path{"path", h5::Column::kString}, f_hash{"hash", h5::Column::kString},
        f_error{"error", h5::Column::kString};
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (failure[i].empty()) {
        c_path.strings.push_back(files[i]);
        c_size.numbers.push_back(sizes[i]);
        c_hash.strings.push_back(hashes[i]);
        c_duration.numbers.push_back(durations[hashes[i]]);
      } else {
        f_path.strings.push_back(files[i]);
        f_hash.strings.push_back(hashes[i]);
        f_error.strings.push_back(failure[i]);
        report.failed.push_back({files[i], failure[i]});
      }
    }
    if (c_path.strings.empty())
      throw InputError("no usable audio: all " + std::to_string(files.size()) + " files failed");
    out.WriteTable("/index", {c_path, c_size, c_hash, c_duration});
    if (!f_path.strings.empty()) out.WriteTable("/failed", {f_path, f_hash, f_error});
    out.SetAttribute("/", "format", std::string(kFormat));
    out.SetAttribute("/", "format_version", kFormatVersion);
    out.SetAttribute("/", "options", options_text);
    out.SetAttribute("/", "options_hash", ToHex(HashBytes(options_text)));
    out.Close();
  });
  report.written = true;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

struct FeatureCache::Impl {
  h5::File file;
  Contents contents;
  std::vector<Skipped> failed;
};

FeatureCache::FeatureCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeatureCache::~FeatureCache() = default;
FeatureCache::FeatureCache(FeatureCache&&) noexcept = default;
FeatureCache& FeatureCache::operator=(FeatureCache&&) noexcept = default;

FeatureCache FeatureCache::Open(const std::string& path, const CacheOptions* expected) {
  CheckInReader(path);
  h5::File file = h5::File::Open(path);
  Contents contents = ReadContents(file);
  if (expected && contents.options != CacheOptionsText(*expected))
    throw FormatError(path + ": feature cache was built with other options (" + contents.options + ")");
  std::vector<Skipped> failed;
  for (const auto& [p, e] : contents.failed) failed.push_back({p, e.error});
  std::sort(failed.begin(), failed.end(), [](const Skipped& a, const Skipped& b) { return a.path < b.path; });
  return FeatureCache(std::unique_ptr<Impl>(new Impl{std::move(file), std::move(contents), std::move(failed)}));
}

const std::string& FeatureCache::options_text() const { return impl_->contents.options; }
std::size_t FeatureCache::size() const { return impl_->contents.index.size(); }
bool FeatureCache::Has(const std::string& path) const { return impl_->contents.index.count(path) > 0; }
const std::vector<Skipped>& FeatureCache::failed() const { return impl_->failed; }

double FeatureCache::DurationS(const std::string& path) const {
  auto it = impl_->contents.index.find(path);
  if (it == impl_->contents.index.end()) throw InputError(path + ": not in feature cache " + impl_->file.path());
  return it->second.duration_s;
}

FeatureSet FeatureCache::Load(const std::string& path) const {
  auto it = impl_->contents.index.find(path);
  if (it == impl_->contents.index.end()) throw InputError(path + ": not in feature cache " + impl_->file.path());
  FeatureSet out;
  const std::string group = "/entries/" + it->second.hash;
  for (const FeatureName& n : FeatureNames())
    if (impl_->file.Exists(group + "/" + n.name)) out.Get(n.feature) = impl_->file.ReadMatrix(group + "/" + n.name);
  return out;
}

Matrix FeatureCache::LoadVector(const std::string& path) const {
  auto it = impl_->contents.index.find(path);
  if (it == impl_->contents.index.end()) throw InputError(path + ": not in feature cache " + impl_->file.path());
  const std::string at = "/entries/" + it->second.hash + "/vector";
  if (!impl_->file.Exists(at)) throw FormatError(impl_->file.path() + ": " + path + " has no song vector");
  return impl_->file.ReadMatrix(at);
}

}  // namespace genre
