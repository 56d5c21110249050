#include "genre/model/tensors.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "genre/error.h"
#include "genre/util/hash.h"

namespace genre {

namespace {
std::vector<NamedTensor> Sample() {
  return {{"blocks.0.conv.weight", {2, 1, 3, 3}, {}},
          {"blocks.0.bn.running_var", {2}, {0.5f, 2.0f}},
          {"scale", {}, {-1.25f}},
          {"empty", {0, 4}, {}}};
}
std::vector<NamedTensor> Filled() {
  auto t = Sample();
  for (int i = 0; i < 18; ++i) t[0].values.push_back(0.1f * static_cast<float>(i) - 0.7f);
  return t;
}
// Where the first tensor's index fields lie in a table written from Filled().
constexpr std::size_t kFirstName = 8 + 4 + 2;
constexpr std::size_t kFirstOffset = kFirstName + 20 + 1 + 4 * 8;
constexpr std::size_t kFirstChecksum = kFirstOffset + 16;
void PutU64(std::string& bytes, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}
}  // namespace

TEST_CASE("a tensor table reads back exactly what was written", "[model][tensors]") {
  const auto tensors = Filled();
  const std::string bytes = WriteTensorTable(tensors);
  const auto back = ReadTensorTable(bytes, "t.gmdl");
  REQUIRE(back.size() == tensors.size());
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    CHECK(back[k].name == tensors[k].name);
    CHECK(back[k].shape == tensors[k].shape);
    CHECK(back[k].values == tensors[k].values);  // bit for bit
  }
  CHECK(WriteTensorTable(back) == bytes);
  CHECK(ReadTensorTable(WriteTensorTable({}), "none").empty());
  // The layout of the header: the first name where the format says it is.
  CHECK(bytes.compare(0, 8, "GTENSORS") == 0);
  CHECK(bytes.compare(kFirstName, 20, "blocks.0.conv.weight") == 0);
}

TEST_CASE("a tensor table is not written from tensors that break its rules", "[model][tensors][errors]") {
  auto t = Filled();
  t[1].values.pop_back();
  CHECK_THROWS_WITH(WriteTensorTable(t), "tensor table: tensor 'blocks.0.bn.running_var' has shape [2] but 1 values");
  t = Filled();
  t[2].name = t[1].name;
  CHECK_THROWS_WITH(WriteTensorTable(t), "tensor table: tensor 'blocks.0.bn.running_var' appears twice");
  t = Filled();
  t[2].name.clear();
  CHECK_THROWS_WITH(WriteTensorTable(t), "tensor table: a tensor name of 0 bytes (1 to 256)");
  t = Filled();
  t[1].values[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(WriteTensorTable(t),
                    "tensor table: tensor 'blocks.0.bn.running_var' holds NaN or an infinite value at 1");
  t = Filled();
  t[3].shape = {1, 1, 1, 1, 1, 1, 1, 1, 0};
  CHECK_THROWS_WITH(WriteTensorTable(t), "tensor table: tensor 'empty' has rank 9 (at most 8)");
  t = Filled();
  t[3].shape = {-1, 0};
  CHECK_THROWS_WITH(WriteTensorTable(t), "tensor table: tensor 'empty' has shape [-1x0]");
}

TEST_CASE("a damaged tensor table is a ModelError naming the file", "[model][tensors][errors]") {
  const std::string good = WriteTensorTable(Filled());
  CHECK_THROWS_WITH(ReadTensorTable("GTENSOR", "a.gmdl"), "a.gmdl: not a tensor table");
  CHECK_THROWS_WITH(ReadTensorTable("PK\x03\x04 a libtorch archive", "a.gmdl"), "a.gmdl: not a tensor table");
  // Every cut of the table is refused, wherever it falls.
  for (std::size_t n = 8; n < good.size(); ++n)
    CHECK_THROWS_WITH(ReadTensorTable(good.substr(0, n), "a.gmdl"),
                      "a.gmdl: tensor table: truncated (" + std::to_string(n) + " bytes)");
  CHECK_THROWS_WITH(ReadTensorTable(good + "xyz", "a.gmdl"), "a.gmdl: tensor table: 3 bytes after the tensors");

  std::string flipped = good;
  flipped[good.size() - 10] ^= 0x40;  // a value of running_var
  CHECK_THROWS_WITH(ReadTensorTable(flipped, "a.gmdl"),
                    "a.gmdl: tensor table: tensor 'blocks.0.bn.running_var' is corrupt (checksum mismatch)");

  std::string moved = good;
  PutU64(moved, kFirstOffset, 4);
  CHECK_THROWS_WITH(ReadTensorTable(moved, "a.gmdl"),
                    "a.gmdl: tensor table: tensor 'blocks.0.conv.weight' starts at 4, expected 0");

  std::string longer = good;
  PutU64(longer, kFirstOffset + 8, 76);  // 19 values for a shape of 18
  CHECK_THROWS_WITH(ReadTensorTable(longer, "a.gmdl"),
                    "a.gmdl: tensor table: tensor 'blocks.0.conv.weight' has shape [2x1x3x3] but 76 bytes");

  std::string huge = good;
  PutU64(huge, kFirstName + 20 + 1, std::uint64_t{1} << 62);  // a dimension of 2^62
  CHECK_THROWS_WITH(ReadTensorTable(huge, "a.gmdl"),
                    "a.gmdl: tensor table: tensor 'blocks.0.conv.weight' has a dimension of 4611686018427387904");

  // A NaN stored with a checksum that matches it is still refused.
  std::string nan = good;
  const std::size_t data = good.size() - (18 + 2 + 1) * sizeof(float);
  const float q = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(&nan[data + 5 * sizeof(float)], &q, sizeof q);
  PutU64(nan, kFirstChecksum, HashBytes({nan.data() + data, 18 * sizeof(float)}));
  CHECK_THROWS_WITH(ReadTensorTable(nan, "a.gmdl"),
                    "a.gmdl: tensor table: tensor 'blocks.0.conv.weight' holds NaN or an infinite value at 5");
}

}  // namespace genre
