// The JSON record of one classified song, as `genre-guess --format json` prints it and
// genre-serve answers it: {path, status: ok|error, error?, model, elapsed_ms, duration_s,
// windows, silent, peak_dbfs?, top: [{genre, confidence}], probabilities: {genre: p},
// timeline?: [{start_s, genre, confidence}], spectrogram?}. A silent song has empty top and
// probabilities; peak_dbfs is null for digital zero and absent when unknown (MSD features).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "genre/model/card.h"
#include "genre/model/classifier.h"

namespace genre {

struct ClassifiedSong {
  std::string path;
  std::string error;  // empty: classified
  Classification result;
  double elapsed_ms = 0;
};

// (genre, probability), most probable first; ties keep the card's order.
std::vector<std::pair<std::string, float>> RankedGenres(const Classification& c,
                                                        const std::vector<std::string>& classes);

// The loudest sample in dBFS (c.peak > 0).
double PeakDbfs(const Classification& c);

// `top` genres in "top"; "timeline" when `timeline` (and the song is not silent);
// "spectrogram" when the result carries a picture.
nlohmann::json ToJson(const ClassifiedSong& song, const ModelCard& card, int top, bool timeline);

// {bands, columns, seconds_per_column, min_db, max_db, pixels: base64 of the bytes}.
nlohmann::json ToJson(const Spectrogram& picture);

// RFC 4648 base64 with padding.
std::string Base64(const std::uint8_t* data, std::size_t size);

}  // namespace genre
