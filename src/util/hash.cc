#include "genre/util/hash.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "genre/error.h"

namespace genre {

// Four independent multiply-rotate lanes over 32-byte stripes (the structure of
// xxHash64), so the loop runs at memory speed; a final avalanche mixes the lanes.
namespace {
constexpr std::uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full, kP3 = 0x165667B19E3779F9ull,
                        kP4 = 0x85EBCA77C2B2AE63ull;

std::uint64_t Rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
std::uint64_t Round(std::uint64_t acc, std::uint64_t input) { return Rotl(acc + input * kP2, 31) * kP1; }
std::uint64_t Load64(const unsigned char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
}  // namespace

Hasher::Hasher(std::uint64_t seed) : lanes_{seed + kP1 + kP2, seed + kP2, seed, seed - kP1}, tail_{} {}

void Hasher::Update(const void* data, std::size_t size) {
  if (size == 0) return;  // data may be null then (an empty vector's)
  auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (tail_size_ > 0) {
    const std::size_t take = std::min(size, 32 - tail_size_);
    std::memcpy(tail_ + tail_size_, p, take);
    tail_size_ += take;
    p += take;
    size -= take;
    if (tail_size_ < 32) return;
    for (int i = 0; i < 4; ++i) lanes_[i] = Round(lanes_[i], Load64(tail_ + 8 * i));
    tail_size_ = 0;
  }
  for (; size >= 32; p += 32, size -= 32)
    for (int i = 0; i < 4; ++i) lanes_[i] = Round(lanes_[i], Load64(p + 8 * i));
  std::memcpy(tail_, p, size);
  tail_size_ = size;
}

std::uint64_t Hasher::Digest() const {
  std::uint64_t h = Rotl(lanes_[0], 1) + Rotl(lanes_[1], 7) + Rotl(lanes_[2], 12) + Rotl(lanes_[3], 18);
  for (std::uint64_t lane : lanes_) h = (h ^ Round(0, lane)) * kP1 + kP4;
  h += total_;
  std::size_t i = 0;
  for (; i + 8 <= tail_size_; i += 8) h = Rotl(h ^ Round(0, Load64(tail_ + i)), 27) * kP1 + kP4;
  for (; i < tail_size_; ++i) h = Rotl(h ^ (tail_[i] * kP1 * 0x27D4EB2F165667C5ull), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

std::uint64_t HashBytes(std::string_view bytes, std::uint64_t seed) {
  Hasher h(seed);
  h.Update(bytes.data(), bytes.size());
  return h.Digest();
}

std::uint64_t HashFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  Hasher h;
  std::vector<unsigned char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(path + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    h.Update(buffer.data(), static_cast<std::size_t>(n));
  }
  return h.Digest();
}

std::string ToHex(std::uint64_t value) {
  static const char* digits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4) s[static_cast<std::size_t>(i)] = digits[value & 15];
  return s;
}

}  // namespace genre
