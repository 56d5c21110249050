// The process's memory: giving freed heap pages back, reading the peak resident set.
#pragma once

#include <cstddef>

namespace genre {

// Returns the heap's free pages to the system (glibc malloc_trim; nothing elsewhere). glibc
// keeps freed blocks of a few hundred KB (one track's input) in its heap, so a pass that
// reads every input once would otherwise stay in the resident set.
void ReleaseFreeMemory();

// The peak resident set of this process so far, bytes (VmHWM; 0 when unknown).
std::size_t PeakResidentBytes();

}  // namespace genre
