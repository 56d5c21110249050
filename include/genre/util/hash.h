// Fast non-cryptographic 64-bit content hashes, used to key cached features by
// file content. Stable across runs and platforms (little-endian word reads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace genre {

class Hasher {
 public:
  explicit Hasher(std::uint64_t seed = 0);
  void Update(const void* data, std::size_t size);
  std::uint64_t Digest() const;

 private:
  std::uint64_t lanes_[4];
  unsigned char tail_[32];
  std::size_t tail_size_ = 0;
  std::uint64_t total_ = 0;
};

std::uint64_t HashBytes(std::string_view bytes, std::uint64_t seed = 0);
// Hashes a file's bytes; throws IoError naming the file when it cannot be read.
std::uint64_t HashFile(const std::string& path);
std::string ToHex(std::uint64_t value);  // 16 lower-case hex digits

}  // namespace genre
