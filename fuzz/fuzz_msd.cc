// Million Song Dataset track files (HDF5): open, every song's metadata and segments.
#include <hdf5.h>

#include <string>

#include "fuzz_support.h"
#include "genre/data/msd.h"
#include "genre/error.h"

// libhdf5 callocs its metadata cache (over 512 KB) at every open and a 1-MB conversion buffer
// at every read, and by default hands blocks over 64 KB back to malloc; AddressSanitizer maps
// such blocks afresh each time, and the page faults of zeroing them were two thirds of an
// execution. Its free lists may keep them (64 MB in all): about twice the executions a second.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  constexpr int kLimit = 64 << 20;
  H5set_free_list_limits(kLimit, kLimit, kLimit, kLimit, kLimit, kLimit);
  return 0;
}

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
