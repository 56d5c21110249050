#include "genre/features/options_json.h"

namespace genre {

nlohmann::json ToJson(const FrontEndOptions& o) {
  return {{"sample_rate", o.sample_rate}, {"n_fft", o.stft.n_fft},       {"hop_length", o.stft.hop_length},
          {"center", o.stft.center},      {"pad_mode", ToString(o.stft.pad_mode)},
          {"power", o.power},             {"n_mels", o.mel.n_mels},      {"fmin", o.mel.fmin_hz},
          {"fmax", o.mel.fmax_hz},        {"htk", o.mel.htk},            {"slaney_norm", o.mel.slaney_norm},
          {"ref", o.db.ref},              {"ref_max", o.db.ref_max},     {"amin", o.db.amin},
          {"top_db", o.db.top_db},        {"n_mfcc", o.mfcc.n_mfcc},     {"rolloff_percent", o.spectral.rolloff_percent}};
}

FrontEndOptions FrontEndFromJson(const nlohmann::json& j) {
  FrontEndOptions o;
  o.sample_rate = j.at("sample_rate").get<int>();
  o.stft.n_fft = j.at("n_fft").get<int>();
  o.stft.hop_length = j.at("hop_length").get<int>();
  o.stft.center = j.at("center").get<bool>();
  o.stft.pad_mode = ParsePadMode(j.at("pad_mode").get<std::string>());
  o.power = j.at("power").get<double>();
  o.mel.n_mels = j.at("n_mels").get<int>();
  o.mel.fmin_hz = j.at("fmin").get<double>();
  o.mel.fmax_hz = j.at("fmax").get<double>();
  o.mel.htk = j.at("htk").get<bool>();
  o.mel.slaney_norm = j.at("slaney_norm").get<bool>();
  o.db.ref = j.at("ref").get<double>();
  o.db.ref_max = j.at("ref_max").get<bool>();
  o.db.amin = j.at("amin").get<double>();
  o.db.top_db = j.at("top_db").get<double>();
  o.mfcc.n_mfcc = j.at("n_mfcc").get<int>();
  o.spectral.rolloff_percent = j.at("rolloff_percent").get<double>();
  return o;
}

}  // namespace genre
