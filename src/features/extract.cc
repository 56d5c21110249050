#include "genre/features/extract.h"

#include "genre/error.h"

namespace genre {

Extracted ExtractFile(const std::string& path, const FrontEnd& front_end, unsigned features, AudioReadOptions read) {
  read.sample_rate = front_end.options().sample_rate;
  Extracted out;
  out.audio = LoadAudio(path, read);  // its errors already start with the path
  try {
    out.features = front_end.Compute(out.audio.samples, features);
  } catch (const Error& e) {
    e.RethrowWithContext(path);
  }
  return out;
}

}  // namespace genre
