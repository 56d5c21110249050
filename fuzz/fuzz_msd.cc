// Million Song Dataset track files (HDF5): open, every song's metadata and segments.
#include <string>

#include "fuzz_support.h"
#include "genre/data/msd.h"
#include "genre/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = genre_fuzz::AsFile(data, size, "track.h5");
  try {
    const genre::MsdFile file = genre::MsdFile::Open(path);
    for (std::size_t song = 0; song < file.size() && song < 4; ++song) {
      try {
        const genre::MsdTrack t = file.Read(song);
        genre_fuzz::RequireFinite(t.timbre.data, "timbre");
        genre_fuzz::RequireFinite(t.pitches.data, "pitches");
        genre_fuzz::RequireFinite(t.segments_start, "segments_start");
      } catch (const genre::Error&) {
      }
    }
  } catch (const genre::Error&) {
  }
  return 0;
}
