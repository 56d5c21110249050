// genre-guess: the genres of songs, from a terminal or a pipeline.
//
//   genre-guess song.flac --top 5
//   genre-guess ~/Music -j 8 --format jsonl > genres.jsonl
//   ffmpeg -i x.m4a -f wav - | genre-guess -
//   find . -name '*.mp3' | genre-guess --files-from - --format csv
//
// Exit codes: 0 every input classified; 1 some inputs failed (each reported on
// stderr and in its record; the others are classified); 2 usage error or invalid
// option; 3 model problem (none found, unreadable, truncated, wrong version).
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "cli_common.h"
#include "genre/data/dataset.h"
#include "genre/error.h"
#include "genre/model/classification_json.h"
#include "genre/model/classifier.h"
#include "genre/util/csv.h"
#include "genre/util/parallel.h"

namespace fs = std::filesystem;

namespace {

using genre::kExitOk, genre::kExitUsage, genre::kExitModel;
constexpr int kExitFailed = genre::kExitPartial;
constexpr const char* kVersion = GENRE_VERSION;  // from CMake's project()

using Record = genre::ClassifiedSong;

// Expands folders (recursively, sorted, audio and .h5 files only); files stay as given.
// A folder that cannot be listed is reported in `errors` and skipped.
std::vector<std::string> Expand(const std::vector<std::string>& inputs, std::vector<std::string>& errors) {
  std::vector<std::string> out;
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (in == "-" || !fs::is_directory(in, ec)) {
      out.push_back(in);
      continue;
    }
    try {
      for (const std::string& f : genre::ListFiles(in, /*follow_symlinks=*/false))
        if (genre::IsAudioPath(f) || genre::IsH5Path(f)) out.push_back(f);
    } catch (const genre::Error& e) {
      errors.push_back(e.what());
    }
  }
  return out;
}

// The table's line for a silent song (it names no genre).
std::string SilentNote(const genre::Classification& c, double floor_dbfs) {
  char buf[160];
  if (c.peak > 0)
    std::snprintf(buf, sizeof buf, "  silent: the loudest sample is %.1f dBFS, below %.0f dBFS: no genre named\n",
                  genre::PeakDbfs(c), floor_dbfs);
  else
    std::snprintf(buf, sizeof buf, "  silent: every sample is zero: no genre named\n");
  return buf;
}

void PrintTable(std::ostream& os, const Record& r, const genre::ModelCard& card, int top, bool timeline,
                double silence_dbfs) {
  if (!r.error.empty()) {
    os << r.path << ": error: " << r.error << "\n\n";
    return;
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s  (%.1f s, %zu windows, model %s)\n", r.path.c_str(), r.result.duration_s,
                r.result.windows, card.name.c_str());
  os << buf;
  if (r.result.silent) {
    os << SilentNote(r.result, silence_dbfs) << "\n";
    return;
  }
  std::size_t width = 5;
  for (const std::string& c : card.classes) width = std::max(width, c.size());
  std::snprintf(buf, sizeof buf, "  rank  %-*s  confidence\n", static_cast<int>(width), "genre");
  os << buf;
  const auto ranked = genre::RankedGenres(r.result, card.classes);
  for (int i = 0; i < top && i < static_cast<int>(ranked.size()); ++i) {
    const auto& [genre, p] = ranked[static_cast<std::size_t>(i)];
    std::string bar;
    for (int b = 0; b < static_cast<int>(p * 30.0f + 0.5f); ++b) bar += "\u2588";
    std::snprintf(buf, sizeof buf, "  %4d  %-*s  %8.1f %%  ", i + 1, static_cast<int>(width), genre.c_str(), 100.0 * p);
    os << buf << bar << "\n";
  }
  if (!ranked.empty() && ranked[0].second < 0.5f)
    os << "  note: the model is unsure (top confidence " << static_cast<int>(100 * ranked[0].second + 0.5f)
       << " % < 50 %)\n";
  if (timeline) {
    os << "  timeline:\n";
    for (const auto& w : r.result.timeline) {
      const auto best = static_cast<std::size_t>(std::max_element(w.probs.begin(), w.probs.end()) - w.probs.begin());
      std::snprintf(buf, sizeof buf, "  %8.1f s  %-*s  %5.1f %%\n", w.start_s, static_cast<int>(width),
                    card.classes[best].c_str(), 100.0 * w.probs[best]);
      os << buf;
    }
  }
  os << "\n";
}

void PrintDelimited(std::ostream& os, const Record& r, const genre::ModelCard& card, char sep) {
  auto field = [sep](const std::string& s) {
    if (sep == ',') return genre::CsvField(s);
    std::string t = s;
    for (char& c : t)
      if (c == '\t' || c == '\n') c = ' ';
    return t;
  };
  os << field(r.path) << sep << (r.error.empty() ? "ok" : "error");
  if (r.error.empty()) {
    const auto ranked = genre::RankedGenres(r.result, card.classes);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", r.result.duration_s);
    os << sep << buf << sep << r.result.windows << sep;
    if (r.result.silent) {  // no genre, no probabilities; the error column says why
      for (std::size_t k = 0; k < card.classes.size() + 1; ++k) os << sep;
      os << sep << "silent\n";
      return;
    }
    os << ranked[0].first;
    std::snprintf(buf, sizeof buf, "%.6f", ranked[0].second);
    os << sep << buf;
    for (float p : r.result.probs) {
      std::snprintf(buf, sizeof buf, "%.6f", p);
      os << sep << buf;
    }
    os << sep << "\n";
  } else {
    os << sep << sep << sep << sep;
    for (std::size_t k = 0; k < card.classes.size(); ++k) os << sep;
    os << sep << field(r.error) << "\n";
  }
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"Name the genres of songs: top-N genres with confidences.", "genre-guess"};
  app.set_version_flag("--version", kVersion);
  std::vector<std::string> inputs;
  std::string model_path, files_from, format = "table";
  int top = 5, jobs = 0;
  bool list_genres = false, model_info = false, timeline = false, quiet = false;
  double hop_s = 0;
  genre::ClassifyOptions co;
  app.add_option("inputs", inputs, "Audio files, folders (recursive), MSD .h5 track files; - reads standard input");
  app.add_option("--files-from", files_from, "Read input paths from FILE, one per line (- = standard input)");
  app.add_option("-m,--model", model_path, "Model file (default: $GENRE_MODEL, then the bundled model)");
  app.add_option("-n,--top", top, "Genres to show per file")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("-f,--format", format, "table|json|jsonl|csv|tsv")
      ->check(CLI::IsMember({"table", "json", "jsonl", "csv", "tsv"}))
      ->capture_default_str();
  app.add_option("--offset", co.offset_s, "Start at this many seconds")->capture_default_str();
  app.add_option("--duration", co.duration_s, "Analyse at most this many seconds (default: all)");
  app.add_option("--hop", hop_s, "Seconds between window starts (default: half a window)");
  app.add_option("--silence", co.silence_dbfs,
                 "A song whose loudest sample stays below this level (dBFS) is reported silent, with no genre")
      ->capture_default_str();
  app.add_flag("--timeline", timeline, "Also list the top genre of every window with its start time");
  app.add_option("-j,--jobs", jobs, "Files classified in parallel (default: all cores); output keeps input order");
  app.add_flag("--list-genres", list_genres, "Print the model's genres and exit");
  app.add_flag("--model-info", model_info, "Print the model's card (JSON) and exit");
  app.add_flag("-q,--quiet", quiet, "Do not report failed inputs on stderr");
  app.footer(
      "Output schema (json, jsonl): {path, status: ok|error, error?, model, elapsed_ms, duration_s,\n"
      "  windows, silent, peak_dbfs?, top: [{genre, confidence}], probabilities: {genre: p}, timeline?:\n"
      "  [{start_s, genre, confidence}]}; a silent song (its loudest sample below --silence) has empty top\n"
      "  and probabilities, peak_dbfs null for digital zero; csv/tsv: path,status,duration_s,windows,\n"
      "  top_genre,top_confidence,<genres...>,error (a silent song: no genre, error column 'silent').\n"
      "Exit codes: 0 all inputs classified; 1 some inputs failed (the others are classified);\n"
      "            2 usage error or invalid option; 3 model problem (missing, unreadable, wrong version).");
  if (const int status = genre_cli::Parse(app, argc, argv, "genre-guess", kExitUsage); status >= 0) return status;
  co.timeline = timeline;
  co.hop_s = hop_s;
  try {  // every option, before any work
    if (app.count("--hop") && !(hop_s > 0))
      throw genre::OptionError("--hop must be > 0 seconds, got " + app["--hop"]->as<std::string>());
    co.Validate();
  } catch (const genre::Error& e) {
    std::cerr << "genre-guess: " << e.what() << "\n";
    return kExitUsage;
  }

  // The model: from the file, with the front end it was trained with.
  std::vector<std::string> looked;
  const std::string found = genre_cli::FindModel(model_path, looked);
  if (found.empty()) {
    std::cerr << "genre-guess: no model: give --model PATH or set GENRE_MODEL (no default model at "
              << genre_cli::Joined(looked) << ")\n";
    return kExitModel;
  }
  std::shared_ptr<const genre::Network> model;
  try {
    if (model_info) {
      std::cout << genre::ToJson(genre::ReadModelCard(found)).dump(2) << "\n";
      return kExitOk;
    }
    if (list_genres) {
      for (const std::string& c : genre::ReadModelCard(found).classes) std::cout << c << "\n";
      return kExitOk;
    }
    model = genre::Network::Load(found);
  } catch (const genre::Error& e) {
    std::cerr << "genre-guess: " << e.what() << "\n";
    return genre::ExitCodeFor(e);
  }
  const genre::ModelCard& card = model->card();

  // The inputs, in order.
  if (!files_from.empty()) {
    std::ifstream file;
    if (files_from != "-") {
      file.open(files_from);
      if (!file) {
        std::cerr << "genre-guess: " << files_from << ": cannot open\n";
        return kExitUsage;
      }
    }
    std::istream& in = files_from == "-" ? std::cin : file;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) inputs.push_back(line);
    }
  }
  std::vector<std::string> list_errors;
  const std::vector<std::string> paths = Expand(inputs, list_errors);
  for (const std::string& e : list_errors) std::cerr << "genre-guess: " << e << "\n";
  const auto stdin_uses = std::count(paths.begin(), paths.end(), "-");
  if (stdin_uses > 1 || (stdin_uses == 1 && files_from == "-")) {
    std::cerr << "genre-guess: standard input can be read once: give - once, and not with --files-from -\n";
    return kExitUsage;
  }
  if (paths.empty()) {
    std::cerr << "genre-guess: no inputs (give files, folders, - or --files-from; see --help)\n";
    return kExitUsage;
  }
  std::string stdin_bytes;
  if (stdin_uses == 1) stdin_bytes = genre::ReadStdin();

  // Classify in parallel; print in input order as records complete.
  const int workers = std::min<int>(genre::ResolveThreads(jobs), static_cast<int>(paths.size()));
  co.threads = workers > 1 ? 1 : genre::ResolveThreads(jobs);  // files in parallel, or one on every core
  const genre::Classifier classifier(model);
  std::vector<std::optional<Record>> records(paths.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::thread pool([&] {
    genre::ParallelFor(paths.size(), workers, [&](std::size_t i) {
      Record r;
      r.path = paths[i];
      const auto t0 = std::chrono::steady_clock::now();
      try {
        r.result = paths[i] == "-" ? classifier.ClassifyBytes(std::move(stdin_bytes), "-", co)
                                   : classifier.ClassifyFile(paths[i], co);
      } catch (const genre::Error& e) {
        r.error = e.what();
      } catch (const std::exception& e) {  // out of memory, a library's own: this file fails, not the batch
        r.error = paths[i] + ": " + e.what();
      }
      r.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::lock_guard lock(mutex);
      records[i] = std::move(r);
      ready.notify_all();
    });
  });
  int failed = static_cast<int>(list_errors.size());
  nlohmann::json all = nlohmann::json::array();
  if (format == "csv" || format == "tsv") {
    const char sep = format == "csv" ? ',' : '\t';
    std::cout << "path" << sep << "status" << sep << "duration_s" << sep << "windows" << sep << "top_genre" << sep
              << "top_confidence";
    for (const std::string& c : card.classes) std::cout << sep << c;
    std::cout << sep << "error\n";
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    Record r;
    {
      std::unique_lock lock(mutex);
      ready.wait(lock, [&] { return records[i].has_value(); });
      r = std::move(*records[i]);
      records[i].reset();
    }
    if (!r.error.empty()) {
      ++failed;
      if (!quiet) std::cerr << "genre-guess: " << r.error << "\n";
    }
    if (format == "table")
      PrintTable(std::cout, r, card, top, timeline, co.silence_dbfs);
    else if (format == "jsonl")
      std::cout << genre::ToJson(r, card, top, timeline).dump() << "\n";
    else if (format == "json")
      all.push_back(genre::ToJson(r, card, top, timeline));
    else
      PrintDelimited(std::cout, r, card, format == "csv" ? ',' : '\t');
    std::cout.flush();
  }
  pool.join();
  if (format == "json") std::cout << all.dump(2) << "\n";
  return failed ? kExitFailed : kExitOk;
}

int main(int argc, char** argv) {
  return genre_cli::Guarded("genre-guess", [&] { return Run(argc, argv); });
}
