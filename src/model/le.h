// Little-endian integers in byte strings: the model container and its tensor table.
// Private to src/model.
#pragma once

#include <cstdint>
#include <string>

namespace genre {

template <class T>
void PutLe(std::string& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xff));
}

// Reads a T at `pos` and moves past it; false (nothing read) when the bytes end first.
template <class T>
bool GetLe(const std::string& in, std::size_t& pos, T& v) {
  if (in.size() < pos || in.size() - pos < sizeof(T)) return false;
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    x |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[pos + i])) << (8 * i);
  v = static_cast<T>(x);
  pos += sizeof(T);
  return true;
}

}  // namespace genre
