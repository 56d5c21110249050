// genre-train data ...: inspect, summary, split, cache, to-msd.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "common.h"
#include "genre/audio/audio_reader.h"
#include "genre/data/cache.h"
#include "genre/data/msd.h"
#include "genre/data/summary.h"
#include "genre/io/h5.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"
#include "genre/util/parallel.h"

namespace genre_train {

namespace {

// ---- inspect -----------------------------------------------------------------

int Inspect(const std::vector<std::string>& files) {
  int status = kExitOk;
  for (const std::string& path : files) {
    try {
      const std::vector<genre::h5::ObjectInfo> objects = genre::h5::InspectFile(path);
      std::cout << path << "\n";
      for (const genre::h5::ObjectInfo& o : objects) {
        std::cout << "  " << o.path;
        if (o.is_group) {
          std::cout << "/  group";
        } else {
          std::string shape, max;
          for (std::size_t i = 0; i < o.shape.size(); ++i) {
            if (i > 0) {
              shape += ", ";
              max += ", ";
            }
            shape += std::to_string(o.shape[i]);
            max += o.max_shape[i] < 0 ? std::string("inf") : std::to_string(o.max_shape[i]);
          }
          std::cout << "  " << o.type << " [" << (o.shape.empty() ? "scalar" : shape) << "]";
          if (max != shape) std::cout << " max [" << max << "]";
        }
        if (o.attributes) std::cout << "  (" << o.attributes << " attributes)";
        std::cout << "\n";
        for (const auto& [name, type] : o.fields) std::cout << "      ." << name << "  " << type << "\n";
      }
    } catch (const genre::Error& e) {
      std::cerr << "genre-train: " << e.what() << "\n";
      status = kExitSkipped;
    }
  }
  return status;
}

// ---- summary / split ---------------------------------------------------------

void PrintSummary(const genre::Dataset& d, const genre::DatasetSummary& s, const DatasetArgs& a,
                  const std::vector<int>& folds) {
  std::size_t width = 5;
  for (const auto& row : s.rows) width = std::max(width, row.label.size());
  std::cout << "dataset: " << s.total.total_tracks() << " tracks, " << d.classes.size() << " labels, "
            << Fixed(s.total.total_seconds() / 60.0, 1) << " min; split seed " << a.split.seed << " (valid "
            << a.split.valid << ", test " << a.split.test << "; listed or pre-assigned tracks keep theirs)\n\n";
  std::cout << Pad("label", width, true);
  for (const char* h : {"train", "valid", "test", "all"}) std::cout << "  " << Pad(h, 6) << Pad("seconds", 10);
  std::cout << "\n";
  auto line = [&](const genre::SummaryRow& r) {
    std::cout << Pad(r.label, width, true);
    for (std::size_t sp = 1; sp <= 3; ++sp)
      std::cout << "  " << Pad(std::to_string(r.tracks[sp]), 6) << Pad(Fixed(r.seconds[sp], 1), 10);
    std::cout << "  " << Pad(std::to_string(r.total_tracks()), 6) << Pad(Fixed(r.total_seconds(), 1), 10) << "\n";
  };
  for (const auto& r : s.rows) line(r);
  line(s.total);
  if (!folds.empty()) {
    const auto counts = genre::FoldCounts(d, folds, a.folds);
    std::cout << "\n" << Pad("label", width, true);
    for (int f = 0; f < a.folds; ++f) std::cout << Pad("fold" + std::to_string(f), 7);
    std::cout << "\n";
    std::vector<std::size_t> totals(static_cast<std::size_t>(a.folds), 0);
    for (std::size_t c = 0; c < counts.size(); ++c) {
      std::cout << Pad(d.classes[c], width, true);
      for (std::size_t f = 0; f < counts[c].size(); ++f) {
        std::cout << Pad(std::to_string(counts[c][f]), 7);
        totals[f] += counts[c][f];
      }
      std::cout << "\n";
    }
    std::cout << Pad("total", width, true);
    for (std::size_t t : totals) std::cout << Pad(std::to_string(t), 7);
    std::cout << "\n";
  }
  std::cout << "\nskipped: " << d.skipped.size() << " file(s)\n";
  for (const genre::Skipped& sk : d.skipped) std::cout << "  " << sk.Line() << "\n";
  if (!d.notes.empty()) {
    std::cout << "notes:\n";
    for (const std::string& n : d.notes) std::cout << "  " << n << "\n";
  }
}

nlohmann::json SummaryJson(const genre::Dataset& d, const genre::DatasetSummary& s, const DatasetArgs& a,
                           const std::vector<int>& folds) {
  auto row = [](const genre::SummaryRow& r) {
    nlohmann::json j = {{"label", r.label}};
    const char* names[] = {"unassigned", "train", "valid", "test"};
    for (std::size_t sp = 0; sp < 4; ++sp) j[names[sp]] = {{"tracks", r.tracks[sp]}, {"seconds", r.seconds[sp]}};
    j["all"] = {{"tracks", r.total_tracks()}, {"seconds", r.total_seconds()}};
    return j;
  };
  nlohmann::json j = {{"classes", d.classes}, {"seed", a.split.seed}, {"valid", a.split.valid}, {"test", a.split.test}};
  j["labels"] = nlohmann::json::array();
  for (const auto& r : s.rows) j["labels"].push_back(row(r));
  j["total"] = row(s.total);
  j["skipped"] = nlohmann::json::array();
  for (const auto& sk : d.skipped) j["skipped"].push_back({{"path", sk.path}, {"reason", sk.reason}});
  j["notes"] = d.notes;
  if (!folds.empty()) j["folds"] = genre::FoldCounts(d, folds, a.folds);
  return j;
}

int Summary(DatasetArgs& a, const std::string& format, const std::string& out) {
  genre::Dataset d;
  std::vector<double> seconds;
  std::vector<int> folds;
  try {
    a.Resolve();
    d = genre::LoadDataset(a.dataset);
    std::unique_ptr<genre::FeatureCache> cache;
    if (!a.cache.empty()) cache = std::make_unique<genre::FeatureCache>(genre::FeatureCache::Open(a.cache));
    seconds = genre::TrackDurations(d, cache.get(), a.threads);
    if (d.tracks.empty()) throw genre::InputError("no usable tracks: every file was skipped");
    genre::AssignSplits(d, a.split);
    if (a.folds) folds = genre::AssignFolds(d, a.folds, a.split.seed);
  } catch (const genre::Error& e) {
    PrintSkipped(d);
    return ErrorExit(e);
  }
  if (!out.empty()) {
    genre::WriteManifest(out, d, folds);
  }
  if (format == "json")
    std::cout << SummaryJson(d, genre::Summarize(d, seconds), a, folds).dump(2) << "\n";
  else
    PrintSummary(d, genre::Summarize(d, seconds), a, folds);
  PrintSkipped(d);
  return d.skipped.empty() ? kExitOk : kExitSkipped;
}

// ---- cache -------------------------------------------------------------------

int Cache(DatasetArgs& a, genre::CacheOptions& co, const std::string& features, bool quiet) {
  genre::Dataset d;
  genre::CacheReport r;
  try {
    a.Resolve();
    co.features = genre::ParseFeatureList(features);
    co.threads = a.threads;
    co.progress = !quiet && genre::Progress::StderrIsTerminal();
    co.Validate();
    d = genre::LoadDataset(a.dataset);
    std::vector<std::string> files;
    for (const genre::Track& t : d.tracks)
      if (t.kind == genre::TrackKind::kAudio) files.push_back(t.path);
    if (files.empty()) throw genre::InputError("no audio files to cache (MSD tracks carry their own features)");
    r = genre::FeatureCache::Update(a.cache, files, co);
  } catch (const genre::Error& e) {
    PrintSkipped(d);
    return ErrorExit(e);
  }
  PrintSkipped(d);
  for (const genre::Skipped& s : r.failed) std::cerr << "genre-train: skipped " << s.reason << "\n";
  if (!r.rebuilt.empty()) std::cerr << "genre-train: previous cache not used: " << r.rebuilt << "\n";
  std::cout << a.cache << ": " << r.files << " files: " << r.computed << " extracted, " << r.reused << " reused, "
            << r.failed.size() << " failed; " << (r.written ? "written" : "up to date, not rewritten") << " in "
            << Fixed(r.seconds, 2) << " s\n";
  return d.skipped.empty() && r.failed.empty() ? kExitOk : kExitSkipped;
}

// ---- to-msd ------------------------------------------------------------------

int ToMsd(DatasetArgs& a, std::vector<std::string> positional, const genre::MsdAnalysisOptions& mo, bool quiet) {
  if (positional.size() < 2) {
    std::cerr << "genre-train: to-msd needs SOURCE... OUTDIR\n";
    return kExitUsage;
  }
  const std::string outdir = positional.back();
  positional.pop_back();
  a.dataset.sources = positional;
  genre::Dataset d;
  try {
    a.Resolve();
    mo.Validate();
    d = genre::LoadDataset(a.dataset);
  } catch (const genre::Error& e) {
    PrintSkipped(d);
    return ErrorExit(e);
  }
  std::vector<std::size_t> audio;
  std::vector<std::string> out_paths;
  std::set<std::string> used;
  for (std::size_t i = 0; i < d.tracks.size(); ++i) {
    if (d.tracks[i].kind != genre::TrackKind::kAudio) continue;
    const genre::Track& t = d.tracks[i];
    std::string name = (fs::path(outdir) / t.label / genre::FileStem(t.path)).string();
    std::string candidate = name + ".h5";
    for (int n = 1; !used.insert(candidate).second; ++n) candidate = name + "~" + std::to_string(n) + ".h5";
    audio.push_back(i);
    out_paths.push_back(candidate);
  }
  std::mutex h5_mutex;
  std::vector<std::string> failed(audio.size());
  std::vector<char> output_failed(audio.size(), 0);  // the MSD file could not be written
  std::size_t written = 0;
  genre::Progress progress("analysing", audio.size(), !quiet && genre::Progress::StderrIsTerminal());
  genre::ParallelFor(audio.size(), a.threads, [&](std::size_t k) {
    const genre::Track& t = d.tracks[audio[k]];
    try {
      genre::AudioReadOptions read;
      read.sample_rate = mo.front_end.sample_rate;
      const genre::Waveform w = genre::LoadAudio(t.path, read);
      genre::MsdTrack m;
      try {
        m = genre::AnalyzeAudio(w, genre::HashFile(t.path), mo);
      } catch (const genre::Error& e) {
        e.RethrowWithContext(t.path);
      }
      m.genre = t.label;
      m.group = t.group;
      m.title = genre::FileStem(t.path);
      std::lock_guard lock(h5_mutex);
      genre::MakeDirectories(fs::path(out_paths[k]).parent_path().string());
      genre::WriteMsdFile(out_paths[k], {m});
      ++written;
    } catch (const genre::Error& e) {
      failed[k] = e.what();
      output_failed[k] = dynamic_cast<const genre::OutputError*>(&e) != nullptr;
    }
    progress.Advance();
  });
  PrintSkipped(d);
  std::size_t n_failed = 0;
  bool output_error = false;
  for (std::size_t k = 0; k < audio.size(); ++k)
    if (!failed[k].empty()) {
      ++n_failed;
      output_error |= output_failed[k] != 0;
      std::cerr << "genre-train: skipped " << failed[k] << "\n";
    }
  std::cout << outdir << ": " << written << " MSD-layout files written, " << n_failed << " failed\n";
  if (written == 0) return output_error ? kExitOutput : kExitNoData;
  return n_failed || !d.skipped.empty() ? kExitSkipped : kExitOk;
}

}  // namespace

void AddDataCommands(CLI::App* data, Action& action) {
  struct State {
    std::vector<std::string> inspect_files;
    DatasetArgs summary_args, split_args, cache_args, msd_args;
    std::string format = "table", split_out, split_file, features = "logmel,mfcc";
    genre::CacheOptions cache_options;
    bool quiet = false, msd_quiet = false;
    std::vector<std::string> msd_positional;
    genre::MsdAnalysisOptions msd_options;
  };
  auto s = std::make_shared<State>();
  data->require_subcommand(1);

  CLI::App* inspect =
      data->add_subcommand("inspect", "Print an HDF5 file's tree: groups, datasets, shapes, types, compound fields");
  inspect->add_option("files", s->inspect_files, "HDF5 files")->required();
  inspect->callback([s, &action] { action = [s] { return Inspect(s->inspect_files); }; });

  CLI::App* summary = data->add_subcommand("summary", "Tracks and seconds per label per split, and skipped files");
  s->summary_args.AddTo(summary, true);
  summary->add_option("--cache", s->summary_args.cache, "Feature cache to take durations and failures from");
  summary->add_option("--format", s->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  summary->add_option("--save-split", s->split_out, "Also write the split as a CSV manifest");
  summary->callback([s, &action] { action = [s] { return Summary(s->summary_args, s->format, s->split_out); }; });

  CLI::App* split = data->add_subcommand("split", "Write a seeded, grouped, stratified split as a CSV manifest");
  s->split_args.AddTo(split, true);
  split->add_option("-o,--out", s->split_file, "Manifest to write (path,label,group,split[,fold])")->required();
  split->callback([s, &action] {
    action = [s] {
      const int status = Summary(s->split_args, "table", s->split_file);
      if (status <= kExitSkipped) std::cout << "split written to " << s->split_file << "\n";
      return status;
    };
  });

  CLI::App* cache =
      data->add_subcommand("cache", "Extract features of all audio into an HDF5 cache (only new or changed files)");
  s->cache_args.AddTo(cache, false);
  cache->add_option("--cache", s->cache_args.cache, "Cache file (HDF5)")->required();
  cache
      ->add_option("--features", s->features,
                   "Comma-separated: power,mel,logmel,mfcc,centroid,bandwidth,rolloff,rms,zcr")
      ->capture_default_str();
  genre::FrontEndOptions& fe = s->cache_options.front_end;
  cache->add_option("--sr", fe.sample_rate, "Sample rate, Hz")->capture_default_str();
  cache->add_option("--n-fft", fe.stft.n_fft, "FFT size")->capture_default_str();
  cache->add_option("--hop", fe.stft.hop_length, "Hop length")->capture_default_str();
  cache->add_option("--n-mels", fe.mel.n_mels, "Mel bands")->capture_default_str();
  cache->add_option("--n-mfcc", fe.mfcc.n_mfcc, "MFCCs")->capture_default_str();
  cache->add_option("--gzip", s->cache_options.gzip, "Deflate level 0-9")->capture_default_str();
  cache->add_flag("-q,--quiet", s->quiet, "No progress line");
  cache->callback(
      [s, &action] { action = [s] { return Cache(s->cache_args, s->cache_options, s->features, s->quiet); }; });

  CLI::App* to_msd = data->add_subcommand(
      "to-msd", "Write one MSD-layout HDF5 per audio file (features APPROXIMATE the Echo Nest analysis)");
  s->msd_args.AddTo(to_msd, false);
  to_msd->remove_option(to_msd->get_option("sources"));
  to_msd->add_option("paths", s->msd_positional, "SOURCE... OUTDIR")->required();
  to_msd->add_option("--segment", s->msd_options.segment_s, "Segment grid step, seconds")->capture_default_str();
  to_msd->add_flag("-q,--quiet", s->msd_quiet, "No progress line");
  to_msd->callback(
      [s, &action] { action = [s] { return ToMsd(s->msd_args, s->msd_positional, s->msd_options, s->msd_quiet); }; });
}

}  // namespace genre_train
