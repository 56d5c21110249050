#include "genre/model/card.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "genre/error.h"
#include "genre/features/gtzan_vector.h"
#include "genre/util/atomic_file.h"
#include "genre/util/hash.h"

namespace genre {

namespace {
constexpr char kMagic[8] = {'G', 'E', 'N', 'R', 'E', 'M', 'D', 'L'};

template <class T>
void PutLe(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

template <class T>
bool GetLe(const std::string& in, std::size_t& pos, T& v) {
  if (in.size() < pos + sizeof(T)) return false;
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  v = static_cast<T>(x);
  pos += sizeof(T);
  return true;
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
          {"calibration", [&] {
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
    c.format_version = j.at("format_version").get<int>();
    if (c.format_version != kModelFormatVersion)
      throw FormatError(where + ": model format_version " + std::to_string(c.format_version) +
                        " is not supported (this build reads " + std::to_string(kModelFormatVersion) + ")");
    c.name = j.value("name", "");
    c.classes = j.at("classes").get<std::vector<std::string>>();
    const auto& in = j.at("input");
    c.input.kind = in.at("kind").get<std::string>();
    c.input.front_end = FrontEndFromJson(in.at("front_end"));
    c.input.window = in.at("window").get<int>();
    c.input.hop = in.at("hop").get<int>();
    c.input.segment_s = in.at("segment_s").get<double>();
    c.input.rows = in.at("rows").get<int>();
    c.input.min_window = in.value("min_window", 0);
    const auto& a = j.at("arch");
    c.arch.kind = a.at("kind").get<std::string>();
    c.arch.channels = a.at("channels").get<std::vector<int>>();
    c.arch.kernel = a.at("kernel").get<int>();
    c.arch.hidden = a.at("hidden").get<std::vector<int>>();
    c.arch.dropout = a.at("dropout").get<double>();
    c.arch.pool = a.value("pool", std::vector<int>{});
    c.arch.head = a.value("head", std::string("features"));
    c.mean = j.at("standardisation").at("mean").get<std::vector<float>>();
    c.stdev = j.at("standardisation").at("std").get<std::vector<float>>();
    c.training = j.value("training", nlohmann::json::object());
    c.calibration = j.value("calibration", nlohmann::json::object());
    c.temperature = c.calibration.value("temperature", 1.0);
    c.calibration.erase("temperature");
    c.git_commit = j.value("git_commit", "");
    c.created = j.value("created", "");
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(where + ": invalid model card: " + e.what());
  } catch (const OptionError& e) {
    throw FormatError(where + ": invalid model card: " + e.what());
  }
  c.Validate(where);
  return c;
}

bool ModelCard::IsEnsemble() const { return arch.kind == kEnsemble; }

void ModelCard::Validate(const std::string& where) const {
  auto fail = [&](const std::string& m) { throw FormatError(where + ": invalid model card: " + m); };
  if (classes.size() < 2) fail("needs at least 2 classes, has " + std::to_string(classes.size()));
  if (!(temperature > 0 && std::isfinite(temperature))) fail("calibration temperature must be > 0");
  if (IsEnsemble() || input.kind == kEnsemble) {
    if (!IsEnsemble() || input.kind != kEnsemble) fail("an ensemble has arch and input kind 'ensemble'");
    return;
  }
  try {
    if (!ArchReads(arch.kind, input.kind)) fail("arch " + arch.kind + " cannot read input " + input.kind);
    input.front_end.Validate();
  } catch (const OptionError& e) {
    fail(e.what());
  }
  if (input.rows < 1 || input.window < 1 || input.hop < 1) fail("input rows, window and hop must be >= 1");
  if (mean.size() != static_cast<std::size_t>(input.rows) || stdev.size() != mean.size())
    fail("standardisation has " + std::to_string(mean.size()) + " means for " + std::to_string(input.rows) + " input rows");
  if (!(arch.dropout >= 0 && arch.dropout < 1)) fail("dropout must be in [0, 1)");
  for (int c : arch.channels)
    if (c < 1) fail("conv channels must be >= 1");
  for (int h : arch.hidden)
    if (h < 1) fail("hidden units must be >= 1");
  if (arch.kind == "msd-convnet") {
    if (arch.channels.empty() || arch.pool.size() != 2 * arch.channels.size())
      fail("msd-convnet needs a (frequency, time) pool per block");
    for (int p : arch.pool)
      if (p < 1) fail("pool sizes must be >= 1");
    if (arch.head != "tags" && arch.head != "features" && arch.head != "features+gtzan")
      fail("msd-convnet head must be tags, features or features+gtzan");
    if ((arch.head == "features+gtzan") != (input.kind == "waveform+gtzan"))
      fail("an msd-convnet reads waveform+gtzan input exactly when its head is features+gtzan");
    if (arch.head == "tags" && !arch.hidden.empty()) fail("the tag head has no hidden layers");
    if (input.min_window < input.front_end.stft.n_fft) fail("waveform min_window must be >= n_fft");
  }
}

void WriteModelFile(const std::string& path, const ModelCard& card, const std::string& weights) {
  card.Validate(path);
  const std::string json = ToJson(card).dump(2);
  std::string bytes(kMagic, sizeof kMagic);
  PutLe<std::uint32_t>(bytes, static_cast<std::uint32_t>(card.format_version));
  PutLe<std::uint64_t>(bytes, json.size());
  bytes += json;
  PutLe<std::uint64_t>(bytes, weights.size());
  bytes += weights;
  Hasher h;
  h.Update(json.data(), json.size());
  h.Update(weights.data(), weights.size());
  PutLe<std::uint64_t>(bytes, h.Digest());
  WriteAtomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw IoError(path + ": cannot write model file");
  });
}

namespace {
std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read error");
  return ss.str();
}
}  // namespace

ModelFileContents ReadModelFile(const std::string& path) { return ParseModelFile(ReadBytes(path), path); }

ModelFileContents ParseModelFile(const std::string& bytes, const std::string& path) {
  if (bytes.size() < sizeof kMagic || bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    throw FormatError(path + ": not a genre model file");
  std::size_t pos = sizeof kMagic;
  std::uint32_t version = 0;
  std::uint64_t json_size = 0, weights_size = 0, hash = 0;
  auto truncated = [&] { return FormatError(path + ": truncated model file (" + std::to_string(bytes.size()) + " bytes)"); };
  if (!GetLe(bytes, pos, version)) throw truncated();
  if (version != static_cast<std::uint32_t>(kModelFormatVersion))
    throw FormatError(path + ": model format_version " + std::to_string(version) + " is not supported (this build reads " +
                      std::to_string(kModelFormatVersion) + ")");
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
  if (h.Digest() != hash) throw FormatError(path + ": corrupt model file (content hash mismatch)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": invalid model card: " + e.what());
  }
  return {CardFromJson(j, path), std::move(weights)};
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
      throw FormatError(where + ": ensemble member " + std::to_string(members.size() + 1) + " is truncated");
    const std::string name = where + " (member " + std::to_string(members.size() + 1) + ")";
    EnsembleMember m{ParseModelFile(payload.substr(pos, size), name), name};
    pos += size;
    if (m.contents.card.IsEnsemble()) throw FormatError(name + ": an ensemble cannot hold an ensemble");
    if (!SameGenres(m.contents.card.classes, ensemble.card.classes))
      throw FormatError(name + ": its genres differ from the ensemble's");
    members.push_back(std::move(m));
  }
  if (members.size() < 2) throw FormatError(where + ": an ensemble needs at least 2 members, has " + std::to_string(members.size()));
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
    if (m.IsEnsemble()) throw InputError(p + ": an ensemble cannot hold an ensemble");
    if (card.classes.empty()) {
      card.classes = m.classes;
      card.input.front_end = m.input.front_end;
    }
    if (!SameGenres(m.classes, card.classes))
      throw InputError(p + ": its genres differ from those of " + member_paths.front());
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
