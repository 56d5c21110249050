// Shared by the libFuzzer harnesses: the input as a file, the one rule they check.
//
// Every harness feeds arbitrary bytes to one reader of the library. A genre::Error is
// the expected answer to bad input; anything else escaping (another exception, a
// sanitizer report, a non-finite value in an output) is a bug and ends the run.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace genre_fuzz {

// The bytes as a file `name` in a private temporary folder (readers that take a path).
inline std::string AsFile(const std::uint8_t* data, std::size_t size, const std::string& name) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/genre-fuzz-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (!d) std::abort();
    return std::string(d);
  }();
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Outputs must never hold NaN or Inf.
template <class Range>
void RequireFinite(const Range& values, const char* what) {
  for (const auto v : values)
    if (!std::isfinite(static_cast<double>(v))) {
      std::fprintf(stderr, "genre-fuzz: non-finite value in %s\n", what);
      std::abort();
    }
}

}  // namespace genre_fuzz
