#include "genre/model/classification_json.h"

#include <algorithm>
#include <cmath>

namespace genre {

std::vector<std::pair<std::string, float>> RankedGenres(const Classification& c,
                                                        const std::vector<std::string>& classes) {
  std::vector<std::pair<std::string, float>> r;
  for (std::size_t k = 0; k < classes.size() && k < c.probs.size(); ++k) r.emplace_back(classes[k], c.probs[k]);
  std::stable_sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return r;
}

double PeakDbfs(const Classification& c) { return 20.0 * std::log10(static_cast<double>(c.peak)); }

std::string Base64(const std::uint8_t* data, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16 |
                            (i + 1 < size ? static_cast<std::uint32_t>(data[i + 1]) << 8 : 0) |
                            (i + 2 < size ? static_cast<std::uint32_t>(data[i + 2]) : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < size ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < size ? kAlphabet[n & 63] : '=';
  }
  return out;
}

nlohmann::json ToJson(const Spectrogram& p) {
  return {{"bands", p.bands},   {"columns", p.columns}, {"seconds_per_column", p.seconds_per_column},
          {"min_db", p.min_db}, {"max_db", p.max_db},   {"pixels", Base64(p.pixels.data(), p.pixels.size())}};
}

nlohmann::json ToJson(const ClassifiedSong& r, const ModelCard& card, int top, bool timeline) {
  nlohmann::json j = {{"path", r.path},
                      {"status", r.error.empty() ? "ok" : "error"},
                      {"model", card.name},
                      {"elapsed_ms", r.elapsed_ms}};
  if (!r.error.empty()) {
    j["error"] = r.error;
    return j;
  }
  nlohmann::json top_list = nlohmann::json::array(), all = nlohmann::json::object();
  if (!r.result.silent) {  // a silent song gets no genre and no probabilities
    const auto ranked = RankedGenres(r.result, card.classes);
    for (std::size_t i = 0; i < ranked.size() && static_cast<int>(i) < top; ++i)
      top_list.push_back({{"genre", ranked[i].first}, {"confidence", ranked[i].second}});
    for (std::size_t k = 0; k < card.classes.size() && k < r.result.probs.size(); ++k)
      all[card.classes[k]] = r.result.probs[k];
  }
  j["top"] = top_list;
  j["probabilities"] = all;
  j["duration_s"] = r.result.duration_s;
  j["windows"] = r.result.windows;
  j["silent"] = r.result.silent;
  if (r.result.peak > 0)
    j["peak_dbfs"] = PeakDbfs(r.result);
  else if (r.result.peak == 0)
    j["peak_dbfs"] = nullptr;  // digital silence
  if (timeline && !r.result.silent) {
    nlohmann::json t = nlohmann::json::array();
    for (const auto& w : r.result.timeline) {
      const auto best = static_cast<std::size_t>(std::max_element(w.probs.begin(), w.probs.end()) - w.probs.begin());
      t.push_back({{"start_s", w.start_s}, {"genre", card.classes[best]}, {"confidence", w.probs[best]}});
    }
    j["timeline"] = t;
  }
  if (!r.result.picture.pixels.empty()) j["spectrogram"] = ToJson(r.result.picture);
  return j;
}

}  // namespace genre
