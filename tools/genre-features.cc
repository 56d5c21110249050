// genre-features: extract front-end features from audio files for pipelines.
//
//   genre-features song.flac other.wav --kind logmel --out feats.h5
//   cat song.flac | genre-features - --kind mfcc --format csv
//   genre-features --kind gtzan-vector music/ -o table.csv   (the GTZAN feature table's columns)
//   genre-features --kind msd-convnet song.mp3 [--per-window]  (the MSD convnet's 160 features)
//   genre-features --kind msd-table music/ -o feats.csv  (Choi et al.'s gtzan_features.csv columns)
//
// Exit codes: 0 every input written; 1 some inputs failed (the rest are written);
// 2 usage error or invalid option; 4 the output could not be written.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli_common.h"
#include "genre/data/dataset.h"
#include "genre/data/feature_table.h"
#include "genre/error.h"
#include "genre/features/extract.h"
#include "genre/features/gtzan_vector.h"
#include "genre/features/mfcc_stats.h"
#include "genre/infer/network.h"
#include "genre/io/h5.h"
#include "genre/util/atomic_file.h"
#include "genre/util/csv.h"
#include "genre/util/parallel.h"

namespace {

using genre::kExitOk, genre::kExitUsage, genre::kExitModel, genre::kExitOutput;
constexpr int kExitInputFailed = genre::kExitPartial;
constexpr const char* kVersion = GENRE_VERSION;  // from CMake's project()
// Not front-end features: one row per file (tables) or per window (the MSD convnet).
constexpr unsigned kGtzanVector = ~0u, kMsdTable = ~0u - 1, kMsdConvnet = ~0u - 2, kMsdTags = ~0u - 3;

struct KindInfo {
  unsigned feature;  // 0 = the waveform itself
  const char* column;
};

const std::map<std::string, KindInfo>& Kinds() {
  static const std::map<std::string, KindInfo> kinds = {
      {"waveform", {0, "y"}},
      {"power", {genre::kPower, "power"}},
      {"mel", {genre::kMel, "mel"}},
      {"logmel", {genre::kLogMel, "logmel"}},
      {"mfcc", {genre::kMfcc, "mfcc"}},
      {"centroid", {genre::kCentroid, "centroid"}},
      {"bandwidth", {genre::kBandwidth, "bandwidth"}},
      {"rolloff", {genre::kRolloff, "rolloff"}},
      {"rms", {genre::kRms, "rms"}},
      {"zcr", {genre::kZcr, "zcr"}},
      {"gtzan-vector", {kGtzanVector, "gtzan"}},
      {"msd-table", {kMsdTable, "msd"}},
      {"msd-convnet", {kMsdConvnet, "msd_convnet"}},
      {"msd-tags", {kMsdTags, "tag"}},
  };
  return kinds;
}

struct Result {
  std::string path;
  genre::Matrix values;
  genre::AudioInfo info;
  double duration_s = 0;
  std::string error;
};

nlohmann::json OptionsJson(const std::string& kind, const genre::FrontEndOptions& o, const genre::AudioReadOptions& r) {
  return {{"kind", kind},
          {"sample_rate", o.sample_rate},
          {"n_fft", o.stft.n_fft},
          {"hop_length", o.stft.hop_length},
          {"center", o.stft.center},
          {"pad_mode", genre::ToString(o.stft.pad_mode)},
          {"window", "hann"},
          {"power", o.power},
          {"n_mels", o.mel.n_mels},
          {"fmin", o.mel.fmin_hz},
          {"fmax", o.mel.FmaxHz(o.sample_rate)},
          {"htk", o.mel.htk},
          {"mel_norm", o.mel.slaney_norm ? "slaney" : "none"},
          {"ref", o.db.ref_max ? std::string("max") : std::to_string(o.db.ref)},
          {"amin", o.db.amin},
          {"top_db", o.db.top_db},
          {"n_mfcc", o.mfcc.n_mfcc},
          {"rolloff_percent", o.spectral.rolloff_percent},
          {"offset", r.offset_s},
          {"duration", r.duration_s}};
}

// Writes to a temporary file beside `out` and renames it into place, so a
// failed run never leaves a half-written file under the final name.
void WriteH5(const std::string& out, const std::vector<Result>& results, const nlohmann::json& opts) {
  genre::WriteAtomically(out, [&](const std::string& tmp) {
    auto file = genre::h5::File::Create(tmp);
    file.SetAttribute("/", "genre_version", std::string(kVersion));
    std::map<std::string, int> used;
    for (const Result& r : results) {
      if (!r.error.empty()) continue;
      std::string name = r.path == "-" ? "stdin" : std::filesystem::path(r.path).filename().string();
      if (int n = used[name]++; n > 0) name += "~" + std::to_string(n);
      const std::string ds = "/" + name;
      file.WriteMatrix(ds, r.values);
      file.SetAttribute(ds, "path", r.path);
      file.SetAttribute(ds, "format", r.info.format);
      file.SetAttribute(ds, "native_sample_rate", static_cast<std::int64_t>(r.info.native_sample_rate));
      file.SetAttribute(ds, "native_channels", static_cast<std::int64_t>(r.info.channels));
      file.SetAttribute(ds, "duration_s", r.duration_s);
      for (const auto& [key, value] : opts.items()) {
        if (value.is_string())
          file.SetAttribute(ds, key, value.get<std::string>());
        else if (value.is_array())
          file.SetAttribute(ds, key, value.dump());  // e.g. row names, as JSON
        else if (value.is_boolean())
          file.SetAttribute(ds, key, static_cast<std::int64_t>(value.get<bool>()));
        else if (value.is_number_integer())
          file.SetAttribute(ds, key, value.get<std::int64_t>());
        else
          file.SetAttribute(ds, key, value.get<double>());
      }
    }
    file.Close();
  });
}

// Columns are named `column`_<row>, or by `names` when given (one per row).
void WriteCsv(std::ostream& os, const std::vector<Result>& results, const std::string& column, double frame_seconds,
              const std::vector<std::string>& names = {}) {
  bool header = false;
  for (const Result& r : results) {
    if (!r.error.empty()) continue;
    const genre::Matrix& m = r.values;
    if (!header) {
      os << "path,frame,time_s";
      if (names.size() == m.rows)
        for (const std::string& n : names) os << ',' << genre::CsvField(n);
      else if (m.rows == 1)
        os << ',' << column;
      else
        for (std::size_t b = 0; b < m.rows; ++b) os << ',' << column << '_' << b;
      os << '\n';
      header = true;
    }
    const std::string path = genre::CsvField(r.path);
    char buf[32];
    for (std::size_t t = 0; t < m.cols; ++t) {
      std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(t) * frame_seconds);
      os << path << ',' << t << ',' << buf;
      for (std::size_t b = 0; b < m.rows; ++b) {
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(m(b, t)));
        os << ',' << buf;
      }
      os << '\n';
    }
  }
}

nlohmann::json ToJson(const std::vector<Result>& results, const nlohmann::json& opts) {
  nlohmann::json files = nlohmann::json::array();
  for (const Result& r : results) {
    if (!r.error.empty()) {
      files.push_back({{"path", r.path}, {"status", "error"}, {"error", r.error}});
      continue;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (std::size_t b = 0; b < r.values.rows; ++b)
      rows.push_back(std::vector<float>(r.values.row(b), r.values.row(b) + r.values.cols));
    files.push_back({{"path", r.path},
                     {"status", "ok"},
                     {"duration_s", r.duration_s},
                     {"shape", {r.values.rows, r.values.cols}},
                     {"data", std::move(rows)}});
  }
  return {{"genre_version", kVersion}, {"options", opts}, {"files", std::move(files)}};
}

// Writes `write(os)` to `out` through a temporary file (or to stdout when out is "").
void WriteText(const std::string& out, const std::function<void(std::ostream&)>& write) {
  if (out.empty()) {
    write(std::cout);
    std::cout.flush();
    if (!std::cout) throw genre::IoError("stdout: write failed");
    return;
  }
  genre::WriteAtomically(out, [&](const std::string& tmp) {
    std::ofstream file(tmp, std::ios::binary);
    if (!file) throw genre::IoError(out + ": cannot open for writing");
    write(file);
    file.flush();
    if (!file) throw genre::IoError(out + ": write failed");
  });
}

// ---- --kind gtzan-vector: one row per file, the GTZAN feature table's columns ----

struct VectorRow {
  std::string path, filename, label, error;
  std::vector<double> values;
};

// Files of the command line: audio files below folders (sorted, labelled with the
// first folder under the given one, or the given folder's own name for files
// directly in it); other arguments as they are, unlabelled.
std::vector<VectorRow> CollectRows(const std::vector<std::string>& inputs, const std::string& label) {
  namespace fs = std::filesystem;
  std::vector<VectorRow> rows;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (in != "-" && fs::is_directory(in, ec)) {
      std::vector<std::string> files;
      try {
        files = genre::ListFiles(in);
      } catch (const genre::Error& e) {
        rows.push_back({in, fs::path(in).filename().string(), label, e.what(), {}});
        continue;
      }
      const fs::path root = fs::path(in).lexically_normal();
      const std::string root_name = (root.has_filename() ? root : root.parent_path()).filename().string();
      for (const std::string& f : files) {
        if (!genre::IsAudioPath(f)) continue;
        const fs::path rel = fs::path(f).lexically_relative(root);
        const std::string from_folder = std::distance(rel.begin(), rel.end()) > 1 ? rel.begin()->string() : root_name;
        rows.push_back({f, fs::path(f).filename().string(), label.empty() ? from_folder : label, "", {}});
      }
      if (files.empty() || std::none_of(files.begin(), files.end(), genre::IsAudioPath))
        rows.push_back({in, root_name, label, in + ": no audio files in this folder", {}});
    } else {
      rows.push_back({in, in == "-" ? "stdin" : fs::path(in).filename().string(), label, "", {}});
    }
  }
  return rows;
}

std::string FormatNumber(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  return std::string(buf, r.ptr);
}

// One table layout: its kind name, value columns and how a row is computed.
struct TableKind {
  std::string name;
  genre::TableLayout layout;
  const std::vector<std::string>* columns;
  int sample_rate;
  std::function<std::vector<double>(const genre::Waveform&)> compute;
};

void WriteVectorCsv(std::ostream& os, const std::vector<VectorRow>& rows, const TableKind& kind) {
  const bool gtzan = kind.layout == genre::TableLayout::kGtzan;
  os << "filename" << (gtzan ? "" : ",label");
  for (const std::string& c : *kind.columns) os << ',' << c;
  os << (gtzan ? ",label\n" : "\n");
  for (const VectorRow& r : rows) {
    if (!r.error.empty()) continue;
    os << genre::CsvField(r.filename);
    if (!gtzan) os << ',' << genre::CsvField(r.label);
    for (std::size_t i = 0; i < r.values.size(); ++i)
      os << ',' << (gtzan && i == 0 ? std::to_string(static_cast<long long>(r.values[0])) : FormatNumber(r.values[i]));
    if (gtzan) os << ',' << genre::CsvField(r.label);
    os << '\n';
  }
}

nlohmann::json VectorJson(const std::vector<VectorRow>& rows, const TableKind& kind) {
  nlohmann::json files = nlohmann::json::array();
  for (const VectorRow& r : rows) {
    if (!r.error.empty()) {
      files.push_back({{"path", r.path}, {"status", "error"}, {"error", r.error}});
      continue;
    }
    nlohmann::json values = nlohmann::json::object();
    for (std::size_t i = 0; i < r.values.size(); ++i) values[(*kind.columns)[i]] = r.values[i];
    files.push_back({{"path", r.path},
                     {"status", "ok"},
                     {"filename", r.filename},
                     {"label", r.label},
                     {"features", std::move(values)}});
  }
  return {{"genre_version", kVersion}, {"kind", kind.name}, {"files", std::move(files)}};
}

int RunTable(const std::vector<std::string>& inputs, const std::string& out, const std::string& format,
             genre::AudioReadOptions read, int threads, const std::string& label, bool quiet, const TableKind& kind) {
  if (format == "h5") {
    std::cerr << "genre-features: --kind " << kind.name << " writes csv or json, not h5\n";
    return kExitUsage;
  }
  read.sample_rate = kind.sample_rate;
  std::vector<VectorRow> rows = CollectRows(inputs, label);
  auto compute = [&](VectorRow& r) {
    if (!r.error.empty()) return;
    try {
      const genre::Waveform w = genre::LoadAudio(r.path, read);
      try {
        r.values = kind.compute(w);
      } catch (const genre::Error& e) {
        e.RethrowWithContext(r.path);
      }
    } catch (const genre::Error& e) {
      r.error = e.what();
    } catch (const std::exception& e) {  // out of memory, a library's own: this file fails, not the batch
      r.error = r.path + ": " + e.what();
    }
  };
  // stdin can be read once only, by one thread: it goes first.
  for (VectorRow& r : rows)
    if (r.path == "-") compute(r);
  genre::ParallelFor(rows.size(), threads, [&](std::size_t i) {
    if (rows[i].path != "-") compute(rows[i]);
  });
  int failed = 0;
  for (const VectorRow& r : rows) {
    if (r.error.empty()) continue;
    ++failed;
    if (!quiet) std::cerr << "genre-features: " << r.error << "\n";
  }
  try {
    if (failed < static_cast<int>(rows.size()) || format == "json")
      WriteText(out, [&](std::ostream& os) {
        if (format == "json")
          os << VectorJson(rows, kind).dump() << '\n';
        else
          WriteVectorCsv(os, rows, kind);
      });
  } catch (const genre::Error& e) {
    std::cerr << "genre-features: " << e.what() << "\n";
    return kExitOutput;
  }
  return failed ? kExitInputFailed : kExitOk;
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"Extract audio features (librosa 0.10 compatible) from audio files.", "genre-features"};
  app.set_version_flag("--version", kVersion);
  std::vector<std::string> inputs;
  std::string kind = "logmel", out, format;
  genre::FrontEndOptions fo;
  genre::AudioReadOptions ro;
  std::string pad_mode = "constant";
  bool no_center = false, ref_max = false, quiet = false;
  int threads = 0;
  std::string label, model_path;
  bool per_window = false;
  double window_hop_s = 0;

  app.add_option("files", inputs,
                 "Audio files (WAV, AU, AIFF, FLAC, Ogg Vorbis/Opus, MP3); - is stdin; gtzan-vector: also folders")
      ->required();
  std::string kind_names;
  for (const auto& [name, info] : Kinds()) kind_names += (kind_names.empty() ? "" : "|") + name;
  app.add_option("-k,--kind", kind, "Feature to extract: " + kind_names)
      ->check(CLI::IsMember(Kinds()))
      ->capture_default_str();
  app.add_option("-o,--out", out, "Output file (required for h5; csv/json default to stdout)");
  app.add_option("-f,--format", format, "h5|csv|json (default: from --out's extension, else csv)")
      ->check(CLI::IsMember({"h5", "csv", "json"}));
  app.add_option("--sr", fo.sample_rate, "Sample rate to resample to, Hz")->capture_default_str();
  app.add_option("--n-fft", fo.stft.n_fft, "FFT size / frame length, samples")->capture_default_str();
  app.add_option("--hop", fo.stft.hop_length, "Hop length, samples")->capture_default_str();
  app.add_flag("--no-center", no_center, "Do not pad frames to centre them");
  app.add_option("--pad-mode", pad_mode, "Padding of centred frames: constant|reflect|edge")->capture_default_str();
  app.add_option("--power", fo.power, "Exponent of |STFT| for mel/power")->capture_default_str();
  app.add_option("--n-mels", fo.mel.n_mels, "Mel bands")->capture_default_str();
  app.add_option("--fmin", fo.mel.fmin_hz, "Lowest mel frequency, Hz")->capture_default_str();
  app.add_option("--fmax", fo.mel.fmax_hz, "Highest mel frequency, Hz (default sr/2)");
  app.add_flag("--htk", fo.mel.htk, "HTK mel scale instead of Slaney");
  app.add_option("--top-db", fo.db.top_db, "Dynamic range of log-mel below its peak, dB (<= 0: off)")
      ->capture_default_str();
  app.add_flag("--ref-max", ref_max, "dB relative to the maximum instead of 1.0");
  app.add_option("--n-mfcc", fo.mfcc.n_mfcc, "MFCC coefficients")->capture_default_str();
  app.add_option("--offset", ro.offset_s, "Start reading at this many seconds")->capture_default_str();
  app.add_option("--duration", ro.duration_s, "Read at most this many seconds (default: all)");
  app.add_flag("-q,--quiet", quiet, "Do not report failed inputs on stderr");
  app.add_option("-j,--threads", threads, "gtzan-vector: files analysed at once (default: all cores)");
  app.add_option("--label", label,
                 "gtzan-vector, msd-table: the label column of every row (default: the genre folder)");
  app.add_option("-m,--model", model_path,
                 "msd-*: the MSD convnet (default: the bundled msd-convnet.gmdl); a model made on it serves "
                 "msd-convnet and msd-table too");
  app.add_flag("--per-window", per_window, "msd-convnet, msd-tags: one row per window instead of the song's mean");
  app.add_option("--window-hop", window_hop_s, "msd-*: seconds between window starts (default: the window, 29 s)");
  app.footer(
      "Exit codes: 0 all inputs written; 1 some inputs failed (the others are written);\n"
      "            2 usage error or invalid option; 3 model problem (msd-*: none found, unreadable);\n"
      "            4 output could not be written.\n"
      "gtzan-vector: one CSV row per file with the columns of the GTZAN feature table\n"
      "(features_30_sec.csv: filename,length,chroma_stft_mean,...,mfcc20_var,label), computed as\n"
      "that table was (librosa <= 0.8 defaults, 22050 Hz, the whole file); label = the genre folder.\n"
      "msd-convnet: the 160 features of the MSD convnet (Choi et al. 2017; 12 kHz, 29-s windows, a\n"
      "last part under 6.8 s joined to the window before; the song's mean, or --per-window);\n"
      "msd-tags: its 50 tag probabilities; msd-table: one CSV row per file with the columns of\n"
      "Choi et al.'s gtzan_features.csv (filename,label,120 MFCC statistics,160 convnet features).");

  if (const int status = genre_cli::Parse(app, argc, argv, "genre-features", kExitUsage); status >= 0) return status;

  if (format.empty()) {
    const std::string ext = std::filesystem::path(out).extension().string();
    format = ext == ".h5" || ext == ".hdf5" ? "h5" : ext == ".json" ? "json" : "csv";
  }
  const bool msd = kind.rfind("msd-", 0) == 0;
  if (kind == "gtzan-vector" || msd) {
    if (fo.sample_rate != genre::kGtzanSampleRate) {
      std::cerr << "genre-features: --kind " << kind
                << (msd ? " reads audio at the model's rate (12 kHz)" : " is defined at 22050 Hz")
                << "; --sr does not apply\n";
      return kExitUsage;
    }
    try {
      ro.Validate();
      if (window_hop_s < 0)
        throw genre::OptionError("--window-hop must be >= 0 seconds, got " + std::to_string(window_hop_s));
    } catch (const genre::Error& e) {
      std::cerr << "genre-features: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  if (kind == "gtzan-vector") {
    const genre::GtzanExtractor extractor;
    return RunTable(inputs, out, format, ro, threads, label, quiet,
                    {kind, genre::TableLayout::kGtzan, &genre::GtzanColumns(), genre::kGtzanSampleRate,
                     [&](const genre::Waveform& w) { return extractor.Compute(w.samples); }});
  }
  std::shared_ptr<const genre::Network> convnet;
  std::size_t window_hop = 0;  // samples between window starts (the model's unless --window-hop)
  if (msd) {
    std::vector<std::string> looked;
    const std::string found =
        !model_path.empty() ? model_path : genre_cli::FindBundledModel("msd-convnet.gmdl", looked);
    if (found.empty()) {
      std::cerr << "genre-features: no MSD convnet: give --model PATH (no bundled model at "
                << genre_cli::Joined(looked) << ")\n";
      return kExitModel;
    }
    try {
      convnet = genre::Network::Load(found);
      if (convnet->card().arch.kind != "msd-convnet")
        throw genre::FormatError(found + ": not an MSD convnet model (" + convnet->card().arch.kind + ")");
      if (kind == "msd-tags" && !convnet->card().arch.MultiLabel())
        throw genre::FormatError(found +
                                 ": has no tag output (a genre model on the convnet); give the imported convnet");
    } catch (const genre::Error& e) {
      std::cerr << "genre-features: " << e.what() << "\n";
      return kExitModel;
    }
    genre::SetInferenceThreads(threads);  // the files one after the other (msd-table: one thread each)
    window_hop = window_hop_s > 0
                     ? static_cast<std::size_t>(std::lround(window_hop_s * convnet->card().input.front_end.sample_rate))
                     : static_cast<std::size_t>(convnet->card().input.hop);
    if (window_hop > static_cast<std::size_t>(convnet->card().input.window)) {
      std::cerr << "genre-features: --window-hop must be at most the window ("
                << convnet->card().input.window / convnet->card().input.front_end.sample_rate << " s)\n";
      return kExitUsage;
    }
  }
  if (kind == "msd-table") {
    return RunTable(inputs, out, format, ro, threads, label, quiet,
                    {kind, genre::TableLayout::kMsdConvnet, &genre::MsdConvnetColumns(),
                     convnet->card().input.front_end.sample_rate, [&](const genre::Waveform& w) {
                       std::vector<double> row = genre::MsdMfccStatistics(w.samples);
                       genre::SetInferenceThreads(1);  // files in parallel: one thread each
                       const genre::Matrix f = genre::MeanOfWindows(convnet->SongFeatures(w.samples, window_hop));
                       row.insert(row.end(), f.data.begin(), f.data.end());
                       return row;
                     }});
  }
  if (format == "h5" && out.empty()) {
    std::cerr << "genre-features: --format h5 needs --out FILE\n";
    return kExitUsage;
  }

  fo.stft.center = !no_center;
  fo.db.ref_max = ref_max;
  ro.sample_rate = msd ? convnet->card().input.front_end.sample_rate : fo.sample_rate;
  std::unique_ptr<genre::FrontEnd> front_end;
  try {
    fo.stft.pad_mode = genre::ParsePadMode(pad_mode);
    ro.Validate();
    front_end = std::make_unique<genre::FrontEnd>(fo);
  } catch (const genre::Error& e) {
    std::cerr << "genre-features: " << e.what() << "\n";
    return kExitUsage;
  }

  const KindInfo& info = Kinds().at(kind);
  std::vector<Result> results;
  int failed = 0;
  for (const std::string& path : inputs) {
    Result r;
    r.path = path;
    try {
      if (msd) {
        const genre::Waveform w = genre::LoadAudio(path, ro);
        std::vector<genre::WindowFeatures> windows;
        try {
          windows = convnet->SongFeatures(w.samples, window_hop, info.feature == kMsdTags);
        } catch (const genre::Error& e) {
          e.RethrowWithContext(path);
        }
        if (per_window) {
          r.values = genre::Matrix(windows.front().features.size(), windows.size());
          for (std::size_t c = 0; c < windows.size(); ++c)
            for (std::size_t i = 0; i < r.values.rows; ++i) r.values(i, c) = windows[c].features[i];
        } else {
          r.values = genre::MeanOfWindows(windows);
        }
        r.info = w.info;
        r.duration_s = w.duration_s();
      } else if (info.feature == 0) {
        genre::Waveform w = genre::LoadAudio(path, ro);
        r.values = genre::Matrix(1, w.samples.size());
        r.values.data = w.samples;
        r.info = w.info;
        r.duration_s = w.duration_s();
      } else {
        genre::Extracted x = genre::ExtractFile(path, *front_end, info.feature, ro);
        r.values = std::move(x.features.Get(static_cast<genre::Feature>(info.feature)));
        r.info = x.audio.info;
        r.duration_s = x.audio.duration_s();
      }
    } catch (const std::exception& e) {  // a genre::Error names the file; anything else gets its name here
      r.error = dynamic_cast<const genre::Error*>(&e) ? e.what() : path + ": " + e.what();
      ++failed;
      if (!quiet) std::cerr << "genre-features: " << r.error << "\n";
    }
    results.push_back(std::move(r));
  }

  // The MSD kinds name their rows: elu<block>_<channel> (as Choi et al.'s table), or the tags.
  std::vector<std::string> names;
  if (msd)
    names = kind == "msd-tags" ? convnet->card().classes
                               : std::vector<std::string>(genre::MsdConvnetColumns().begin() + genre::kMsdMfccStats,
                                                          genre::MsdConvnetColumns().end());
  const nlohmann::json opts =
      msd ? nlohmann::json{{"kind", kind},
                           {"rows", names},
                           {"model", convnet->card().name},
                           {"sample_rate", ro.sample_rate},
                           {"window_s", static_cast<double>(convnet->card().input.window) / ro.sample_rate},
                           {"window_hop_s", static_cast<double>(window_hop) / ro.sample_rate},
                           {"per_window", per_window},
                           {"offset", ro.offset_s},
                           {"duration", ro.duration_s}}
          : OptionsJson(kind, fo, ro);
  const bool any_ok = failed < static_cast<int>(results.size());
  try {
    if (format == "h5") {
      if (any_ok) WriteH5(out, results, opts);
    } else {
      const double frame_s = msd                 ? static_cast<double>(window_hop) / ro.sample_rate
                             : info.feature == 0 ? 1.0 / fo.sample_rate
                                                 : static_cast<double>(fo.stft.hop_length) / fo.sample_rate;
      WriteText(out, [&](std::ostream& os) {
        if (format == "csv")
          WriteCsv(os, results, Kinds().at(kind).column, frame_s, names);
        else
          os << ToJson(results, opts).dump() << '\n';
      });
    }
  } catch (const genre::Error& e) {
    std::cerr << "genre-features: " << e.what() << "\n";
    return kExitOutput;
  }
  return failed ? kExitInputFailed : kExitOk;
}

int main(int argc, char** argv) {
  return genre_cli::Guarded("genre-features", [&] { return Run(argc, argv); });
}
