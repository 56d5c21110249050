#include "genre/model/card.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>

#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/model/inputs.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"
#include "le.h"

namespace genre {

namespace {
constexpr char kMagic[8] = {'G', 'E', 'N', 'R', 'E', 'M', 'D', 'L'};

void CheckFormatVersion(std::int64_t version, const std::string& where) {
  if (version < kOldestModelFormatVersion || version > kModelFormatVersion)
    throw ModelError(where + ": model format_version " + std::to_string(version) +
                     " is not supported (this build reads " + std::to_string(kOldestModelFormatVersion) + " to " +
                     std::to_string(kModelFormatVersion) + ")");
}
}  // namespace

ArchOptions DefaultArch(const std::string& kind) {
  ArchOptions a;
  a.kind = kind;
  if (kind == "cnn2d") {
    a.channels = {16, 32, 64, 128};
    a.kernel = 3;
    a.hidden = {128};
  } else if (kind == "cnn1d") {
    a.channels = {64, 64, 64};
    a.kernel = 5;
    a.hidden = {64};
  } else if (kind == "mlp") {
    a.hidden = {256, 128};
  } else if (kind == "msd-convnet") {
    a.channels = {32, 32, 32, 32, 32};
    a.pool = {2, 4, 3, 4, 2, 5, 2, 4, 4, 4};
    a.hidden = {};
  } else {
    throw OptionError("architecture must be cnn2d, cnn1d, mlp or msd-convnet, got '" + kind + "'");
  }
  return a;
}

std::string InputKindFor(const std::string& arch) {
  if (arch == "cnn2d") return "logmel";
  if (arch == "cnn1d") return "segments";
  if (arch == "mlp") return "vector";
  if (arch == "msd-convnet") return "waveform";
  throw OptionError("architecture must be cnn2d, cnn1d, mlp or msd-convnet, got '" + arch + "'");
}

bool ArchReads(const std::string& arch, const std::string& input) {
  return InputKindFor(arch) == input ||
         (arch == "mlp" && (input == "gtzan" || input == "msd-convnet" || input == "msd-convnet+gtzan")) ||
         (arch == "msd-convnet" && input == "waveform+gtzan");
}

namespace {
constexpr int kMaxLayers = 8, kMaxChannels = 1024, kMaxHidden = 8192, kMaxRows = 4096;
constexpr int kMaxWindow = 1 << 24;  // columns (samples for waveform input: 12 min at 22050 Hz)

// A JSON array of numbers that fit a float (get<float>() of 1e300 is undefined behaviour).
std::vector<float> Floats(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw OptionError(what + " must be an array of numbers");
  std::vector<float> out;
  out.reserve(j.size());
  for (const nlohmann::json& v : j) {
    if (!v.is_number() || !(std::fabs(v.get<double>()) <= std::numeric_limits<float>::max()))
      throw OptionError(what + " must hold numbers in float's range, got " + v.dump());
    out.push_back(static_cast<float>(v.get<double>()));
  }
  return out;
}
}  // namespace

void ArchOptions::Validate() const {
  DefaultArch(kind);  // a known kind
  const bool conv = kind != "mlp";
  RequireOption(!conv || !channels.empty(), "channels", "none", "at least one block for " + kind);
  RequireOption(channels.size() <= static_cast<std::size_t>(kMaxLayers), "channels", channels.size(),
                "at most " + std::to_string(kMaxLayers) + " blocks");
  for (int c : channels)
    RequireOption(c >= 1 && c <= kMaxChannels, "channels", c, "in [1, " + std::to_string(kMaxChannels) + "]");
  RequireOption(hidden.size() <= static_cast<std::size_t>(kMaxLayers), "hidden", hidden.size(),
                "at most " + std::to_string(kMaxLayers) + " layers");
  for (int h : hidden)
    RequireOption(h >= 1 && h <= kMaxHidden, "hidden", h, "in [1, " + std::to_string(kMaxHidden) + "]");
  RequireOption(kernel >= 1 && kernel <= 31, "kernel", kernel, "in [1, 31]");
  RequireOption(dropout >= 0 && dropout < 1, "dropout", dropout, "in [0, 1)");
  if (kind != "msd-convnet") return;
  RequireOption(pool.size() == 2 * channels.size(), "pool", pool.size(), "a (frequency, time) pair per block");
  for (int p : pool) RequireOption(p >= 1 && p <= 64, "pool", p, "in [1, 64]");
  RequireOption(head == "tags" || head == "features" || head == "features+gtzan", "head", head,
                "tags, features or features+gtzan");
  RequireOption(head != "tags" || hidden.empty(), "hidden", hidden.size(), "0 layers for the tag head");
}

void InputSpec::Validate() const {
  InputRows(*this);  // a known kind
  front_end.Validate();
  RequireOption(rows >= 1 && rows <= kMaxRows, "input rows", rows, "in [1, " + std::to_string(kMaxRows) + "]");
  RequireOption(window >= 1 && window <= kMaxWindow, "window", window, "in [1, " + std::to_string(kMaxWindow) + "]");
  RequireOption(hop >= 1 && hop <= kMaxWindow, "hop", hop, "in [1, " + std::to_string(kMaxWindow) + "]");
  RequireOption(segment_s > 0 && segment_s <= 60, "segment_s", segment_s, "in (0, 60]");
  RequireOption(min_window >= 0 && min_window <= window, "min_window", min_window, "in [0, window]");
  if (kind == "waveform" || kind == "waveform+gtzan")
    RequireOption(min_window >= front_end.stft.n_fft, "min_window", min_window,
                  ">= n_fft (" + std::to_string(front_end.stft.n_fft) + ")");
}

void ValidateFit(const ArchOptions& arch, const InputSpec& input) {
  if (!ArchReads(arch.kind, input.kind)) throw OptionError("arch " + arch.kind + " cannot read input " + input.kind);
  // Each block halves (cnn2d: rows and columns, cnn1d: columns); 64-bit shifts, so any
  // block count (a card read from a file) stays defined: 2^62 exceeds every int.
  const int blocks = static_cast<int>(std::min<std::size_t>(arch.channels.size(), 62));
  const std::string least = ">= 2^" + std::string(arch.kind == "cnn1d" ? "layers" : "blocks") + " (" +
                            std::to_string(std::int64_t{1} << blocks) + ") for " + arch.kind;
  auto halves = [&](int n) { return (std::int64_t{n} >> blocks) >= 1; };
  if (arch.kind == "cnn2d") RequireOption(halves(input.rows), "input rows", input.rows, least);
  if (arch.kind == "cnn2d" || arch.kind == "cnn1d") RequireOption(halves(input.window), "window", input.window, least);
  if (arch.kind == "msd-convnet")
    RequireOption((arch.head == "features+gtzan") == (input.kind == "waveform+gtzan"), "input kind", input.kind,
                  std::string(arch.head == "features+gtzan" ? "waveform+gtzan" : "not waveform+gtzan") + " for the " +
                      arch.head + " head");
}

int MinWindowSamples(const ModelCard& card, bool tags) {
  long frames = 1;
  const std::size_t blocks = card.arch.pool.size() / 2;
  for (std::size_t b = 0; b < blocks; ++b)
    if (tags || b + 1 < blocks) frames *= card.arch.pool[2 * b + 1];
  return static_cast<int>(frames * card.input.front_end.stft.hop_length);
}

int InputSpec::DecodeRate() const { return kind == "waveform+gtzan" ? kGtzanSampleRate : front_end.sample_rate; }

nlohmann::json ToJson(const ModelCard& c) {
  return {{"format_version", c.format_version},
          {"name", c.name},
          {"classes", c.classes},
          {"input",
           {{"kind", c.input.kind},
            {"front_end", ToJson(c.input.front_end)},
            {"window", c.input.window},
            {"hop", c.input.hop},
            {"segment_s", c.input.segment_s},
            {"rows", c.input.rows},
            {"min_window", c.input.min_window}}},
          {"arch",
           {{"kind", c.arch.kind},
            {"channels", c.arch.channels},
            {"kernel", c.arch.kernel},
            {"hidden", c.arch.hidden},
            {"dropout", c.arch.dropout},
            {"pool", c.arch.pool},
            {"head", c.arch.head}}},
          {"standardisation", {{"mean", c.mean}, {"std", c.stdev}}},
          {"training", c.training},
          {"calibration",
           [&] {
             nlohmann::json cal = c.calibration;
             cal["temperature"] = c.temperature;
             return cal;
           }()},
          {"git_commit", c.git_commit},
          {"created", c.created}};
}

ModelCard CardFromJson(const nlohmann::json& j, const std::string& where) {
  ModelCard c;
  try {
    c.format_version = JsonInt(j.at("format_version"), "format_version");
    CheckFormatVersion(c.format_version, where);
    c.name = j.value("name", "");
    c.classes = j.at("classes").get<std::vector<std::string>>();
    const auto& in = j.at("input");
    c.input.kind = in.at("kind").get<std::string>();
    c.input.front_end = FrontEndFromJson(in.at("front_end"));
    c.input.window = JsonInt(in.at("window"), "window");
    c.input.hop = JsonInt(in.at("hop"), "hop");
    c.input.segment_s = in.at("segment_s").get<double>();
    c.input.rows = JsonInt(in.at("rows"), "rows");
    c.input.min_window = in.contains("min_window") ? JsonInt(in.at("min_window"), "min_window") : 0;
    const auto& a = j.at("arch");
    c.arch.kind = a.at("kind").get<std::string>();
    c.arch.channels = JsonInts(a.at("channels"), "channels");
    c.arch.kernel = JsonInt(a.at("kernel"), "kernel");
    c.arch.hidden = JsonInts(a.at("hidden"), "hidden");
    c.arch.dropout = a.at("dropout").get<double>();
    c.arch.pool = a.contains("pool") ? JsonInts(a.at("pool"), "pool") : std::vector<int>{};
    c.arch.head = a.value("head", std::string("features"));
    c.mean = Floats(j.at("standardisation").at("mean"), "standardisation mean");
    c.stdev = Floats(j.at("standardisation").at("std"), "standardisation std");
    c.training = j.value("training", nlohmann::json::object());
    c.calibration = j.value("calibration", nlohmann::json::object());
    c.temperature = c.calibration.value("temperature", 1.0);
    c.calibration.erase("temperature");
    c.git_commit = j.value("git_commit", "");
    c.created = j.value("created", "");
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(where + ": invalid model card: " + e.what());
  } catch (const OptionError& e) {
    throw ModelError(where + ": invalid model card: " + e.what());
  }
  c.Validate(where);
  return c;
}

bool ModelCard::IsEnsemble() const { return arch.kind == kEnsemble; }

void ModelCard::Validate(const std::string& where) const {
  auto fail = [&](const std::string& m) { throw ModelError(where + ": invalid model card: " + m); };
  if (classes.size() < 2) fail("needs at least 2 classes, has " + std::to_string(classes.size()));
  if (!(temperature > 0 && std::isfinite(temperature))) fail("calibration temperature must be > 0");
  if (IsEnsemble() || input.kind == kEnsemble) {
    if (!IsEnsemble() || input.kind != kEnsemble) fail("an ensemble has arch and input kind 'ensemble'");
    return;
  }
  try {
    arch.Validate();
    input.Validate();
    ValidateFit(arch, input);
  } catch (const OptionError& e) {
    fail(e.what());
  }
  if (input.rows != InputRows(input))
    fail(input.kind + " input has " + std::to_string(InputRows(input)) + " rows, the card says " +
         std::to_string(input.rows));
  if (mean.size() != static_cast<std::size_t>(input.rows) || stdev.size() != mean.size())
    fail("standardisation has " + std::to_string(mean.size()) + " means for " + std::to_string(input.rows) +
         " input rows");
  for (std::size_t r = 0; r < mean.size(); ++r)
    if (!std::isfinite(mean[r]) || !(stdev[r] > 0) || !std::isfinite(stdev[r]))
      fail("standardisation of row " + std::to_string(r) + " is not a finite mean and a finite stdev > 0");
  for (std::size_t k = 0; k < classes.size(); ++k)
    if (classes[k].empty() || std::find(classes.begin(), classes.begin() + static_cast<long>(k), classes[k]) !=
                                  classes.begin() + static_cast<long>(k))
      fail("class " + std::to_string(k + 1) + " is empty or repeated");
}

std::string ModelFileBytes(const ModelCard& card, const std::string& weights) {
  nlohmann::json card_json = ToJson(card);
  card_json["format_version"] = kModelFormatVersion;
  const std::string json = card_json.dump(2);
  std::string bytes(kMagic, sizeof kMagic);
  PutLe<std::uint32_t>(bytes, static_cast<std::uint32_t>(kModelFormatVersion));
  PutLe<std::uint64_t>(bytes, json.size());
  bytes += json;
  PutLe<std::uint64_t>(bytes, weights.size());
  bytes += weights;
  Hasher h;
  h.Update(json.data(), json.size());
  h.Update(weights.data(), weights.size());
  PutLe<std::uint64_t>(bytes, h.Digest());
  return bytes;
}

void WriteModelFile(const std::string& path, const ModelCard& card, const std::string& weights) {
  card.Validate(path);
  const std::string bytes = ModelFileBytes(card, weights);
  WriteAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw OutputError(path + ": cannot write model file");
  });
}

namespace {
// The file's bytes (ReadWholeFile); a file that cannot be read is a model problem.
std::string ReadBytes(const std::string& path) {
  try {
    return ReadWholeFile(path);
  } catch (const IoError& e) {
    throw ModelError(e.what());
  }
}
}  // namespace

ModelFileContents ReadModelFile(const std::string& path) { return ParseModelFile(ReadBytes(path), path); }

ModelFileContents ParseModelFile(const std::string& bytes, const std::string& path) {
  if (bytes.size() < sizeof kMagic || bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    throw ModelError(path + ": not a genre model file");
  std::size_t pos = sizeof kMagic;
  std::uint32_t version = 0;
  std::uint64_t json_size = 0, weights_size = 0, hash = 0;
  auto truncated = [&] {
    return ModelError(path + ": truncated model file (" + std::to_string(bytes.size()) + " bytes)");
  };
  if (!GetLe(bytes, pos, version)) throw truncated();
  CheckFormatVersion(version, path);
  if (!GetLe(bytes, pos, json_size) || bytes.size() - pos < json_size) throw truncated();
  const std::string json = bytes.substr(pos, json_size);
  pos += json_size;
  if (!GetLe(bytes, pos, weights_size) || bytes.size() - pos < weights_size) throw truncated();
  std::string weights = bytes.substr(pos, weights_size);
  pos += weights_size;
  if (!GetLe(bytes, pos, hash)) throw truncated();
  Hasher h;
  h.Update(json.data(), json.size());
  h.Update(weights.data(), weights.size());
  if (h.Digest() != hash) throw ModelError(path + ": corrupt model file (content hash mismatch)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(path + ": invalid model card: " + e.what());
  }
  ModelCard card = CardFromJson(j, path);
  if (card.format_version != static_cast<int>(version))
    throw ModelError(path + ": invalid model card: format_version " + std::to_string(card.format_version) +
                     " in a format_version " + std::to_string(version) + " file");
  return {std::move(card), std::move(weights)};
}

ModelCard ReadModelCard(const std::string& path) { return ReadModelFile(path).card; }

namespace {
bool SameGenres(std::vector<std::string> a, std::vector<std::string> b) {  // in any order
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}
}  // namespace

std::vector<EnsembleMember> EnsembleMembers(const ModelFileContents& ensemble, const std::string& where) {
  std::vector<EnsembleMember> members;
  const std::string& payload = ensemble.weights;
  std::size_t pos = 0;
  while (pos < payload.size()) {
    std::uint64_t size = 0;
    if (!GetLe(payload, pos, size) || payload.size() - pos < size)
      throw ModelError(where + ": ensemble member " + std::to_string(members.size() + 1) + " is truncated");
    const std::string name = where + " (member " + std::to_string(members.size() + 1) + ")";
    EnsembleMember m{ParseModelFile(payload.substr(pos, size), name), name};
    pos += size;
    if (m.contents.card.IsEnsemble()) throw ModelError(name + ": an ensemble cannot hold an ensemble");
    if (!SameGenres(m.contents.card.classes, ensemble.card.classes))
      throw ModelError(name + ": its genres differ from the ensemble's");
    members.push_back(std::move(m));
  }
  if (members.size() < 2)
    throw ModelError(where + ": an ensemble needs at least 2 members, has " + std::to_string(members.size()));
  return members;
}

ModelCard WriteEnsembleFile(const std::string& path, const std::vector<std::string>& member_paths, ModelCard card) {
  if (member_paths.size() < 2) throw OptionError("an ensemble needs at least 2 member models");
  card.classes.clear();
  card.mean.clear();
  card.stdev.clear();
  card.arch = ArchOptions{};
  card.arch.kind = kEnsemble;
  card.arch.channels.clear();
  card.arch.hidden.clear();
  card.arch.dropout = 0;
  card.input.kind = kEnsemble;
  card.input.rows = 0;
  if (!card.training.is_object()) card.training = nlohmann::json::object();
  nlohmann::json members = nlohmann::json::array();
  std::string payload;
  for (const std::string& p : member_paths) {
    const std::string bytes = ReadBytes(p);
    const ModelCard m = ParseModelFile(bytes, p).card;
    if (m.IsEnsemble()) throw ModelError(p + ": an ensemble cannot hold an ensemble");
    if (card.classes.empty()) {
      card.classes = m.classes;
      card.input.front_end = m.input.front_end;
    }
    if (!SameGenres(m.classes, card.classes))
      throw ModelError(p + ": its genres differ from those of " + member_paths.front());
    members.push_back({{"file", std::filesystem::path(p).filename().string()},
                       {"name", m.name},
                       {"arch", m.arch.kind},
                       {"input", m.input.kind},
                       {"git_commit", m.git_commit},
                       {"created", m.created},
                       {"bytes", bytes.size()}});
    nlohmann::json t = m.training;  // data, command, seed, options, metrics (not the epoch history)
    if (t.is_object()) t.erase("history");
    members.back()["training"] = t;
    PutLe<std::uint64_t>(payload, bytes.size());
    payload += bytes;
  }
  card.training["members"] = members;
  card.training["combine"] = "mean of the members' song probabilities";
  WriteModelFile(path, card, payload);
  return card;
}

}  // namespace genre
