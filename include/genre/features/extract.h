// Audio file -> features in one call: decode at the front end's sample rate,
// then FrontEnd::Compute. Every error thrown names the file.
#pragma once

#include <string>

#include "genre/audio/audio_reader.h"
#include "genre/features/frontend.h"

namespace genre {

struct Extracted {
  Waveform audio;
  FeatureSet features;
};

// read.sample_rate is overridden by front_end.options().sample_rate.
Extracted ExtractFile(const std::string& path, const FrontEnd& front_end, unsigned features,
                      AudioReadOptions read = {});

}  // namespace genre
