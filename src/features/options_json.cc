#include "genre/features/options_json.h"

#include <limits>

#include "genre/error.h"

namespace genre {

int JsonInt(const nlohmann::json& j, const std::string& what) {
  const bool fits = (j.is_number_integer() && j.get<std::int64_t>() >= std::numeric_limits<int>::min() &&
                     j.get<std::int64_t>() <= std::numeric_limits<int>::max()) ||
                    (j.is_number_unsigned() && j.get<std::uint64_t>() <= std::numeric_limits<int>::max());
  if (!fits) throw OptionError(what + " must be an integer in int's range, got " + j.dump());
  return static_cast<int>(j.get<std::int64_t>());
}

std::vector<int> JsonInts(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array()) throw OptionError(what + " must be an array of integers, got " + j.dump());
  std::vector<int> out;
  for (const nlohmann::json& v : j) out.push_back(JsonInt(v, what));
  return out;
}

nlohmann::json ToJson(const FrontEndOptions& o) {
  return {{"sample_rate", o.sample_rate},
          {"n_fft", o.stft.n_fft},
          {"hop_length", o.stft.hop_length},
          {"center", o.stft.center},
          {"pad_mode", ToString(o.stft.pad_mode)},
          {"power", o.power},
          {"n_mels", o.mel.n_mels},
          {"fmin", o.mel.fmin_hz},
          {"fmax", o.mel.fmax_hz},
          {"htk", o.mel.htk},
          {"slaney_norm", o.mel.slaney_norm},
          {"ref", o.db.ref},
          {"ref_max", o.db.ref_max},
          {"amin", o.db.amin},
          {"top_db", o.db.top_db},
          {"n_mfcc", o.mfcc.n_mfcc},
          {"rolloff_percent", o.spectral.rolloff_percent}};
}

FrontEndOptions FrontEndFromJson(const nlohmann::json& j) {
  FrontEndOptions o;
  o.sample_rate = JsonInt(j.at("sample_rate"), "sample_rate");
  o.stft.n_fft = JsonInt(j.at("n_fft"), "n_fft");
  o.stft.hop_length = JsonInt(j.at("hop_length"), "hop_length");
  o.stft.center = j.at("center").get<bool>();
  o.stft.pad_mode = ParsePadMode(j.at("pad_mode").get<std::string>());
  o.power = j.at("power").get<double>();
  o.mel.n_mels = JsonInt(j.at("n_mels"), "n_mels");
  o.mel.fmin_hz = j.at("fmin").get<double>();
  o.mel.fmax_hz = j.at("fmax").get<double>();
  o.mel.htk = j.at("htk").get<bool>();
  o.mel.slaney_norm = j.at("slaney_norm").get<bool>();
  o.db.ref = j.at("ref").get<double>();
  o.db.ref_max = j.at("ref_max").get<bool>();
  o.db.amin = j.at("amin").get<double>();
  o.db.top_db = j.at("top_db").get<double>();
  o.mfcc.n_mfcc = JsonInt(j.at("n_mfcc"), "n_mfcc");
  o.spectral.rolloff_percent = j.at("rolloff_percent").get<double>();
  return o;
}

}  // namespace genre
