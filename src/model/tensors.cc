#include "genre/model/tensors.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <set>

#include "genre/error.h"
#include "genre/util/hash.h"
#include "le.h"

namespace genre {

namespace {
constexpr char kMagic[8] = {'G', 'T', 'E', 'N', 'S', 'O', 'R', 'S'};
constexpr std::uint32_t kMaxTensors = 1 << 16;
constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxRank = 8;

std::string TooMany(std::uint64_t count) {
  return std::to_string(count) + " tensors (at most " + std::to_string(kMaxTensors) + ")";
}

std::string TooDeep(const std::string& name, std::size_t rank) {
  return "tensor '" + name + "' has rank " + std::to_string(rank) + " (at most " + std::to_string(kMaxRank) + ")";
}

// The rules both directions share; `fail` throws.
template <class Fail>
void CheckEntry(const std::string& name, const std::vector<std::int64_t>& shape, std::set<std::string>& seen,
                const Fail& fail) {
  if (name.empty() || name.size() > kMaxName)
    fail("a tensor name of " + std::to_string(name.size()) + " bytes (1 to " + std::to_string(kMaxName) + ")");
  if (!seen.insert(name).second) fail("tensor '" + name + "' appears twice");
  if (shape.size() > kMaxRank) fail(TooDeep(name, shape.size()));
  for (std::int64_t d : shape)
    if (d < 0) fail("tensor '" + name + "' has shape " + ShapeText(shape));
}

void CheckFinite(const std::string& name, const std::vector<float>& values, const auto& fail) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) fail("tensor '" + name + "' holds NaN or an infinite value at " + std::to_string(i));
}
}  // namespace

std::string ShapeText(const std::vector<std::int64_t>& shape) {
  std::string out;
  for (std::int64_t d : shape) {
    if (!out.empty()) out += 'x';
    out += std::to_string(d);
  }
  return '[' + out + ']';
}

bool IsTensorTable(const std::string& bytes) {
  return bytes.size() >= sizeof kMagic && bytes.compare(0, sizeof kMagic, kMagic, sizeof kMagic) == 0;
}

std::string WriteTensorTable(const std::vector<NamedTensor>& tensors) {
  static_assert(std::endian::native == std::endian::little, "the table stores float32 little-endian");
  auto fail = [](const std::string& what) -> void { throw ModelError("tensor table: " + what); };
  if (tensors.size() > kMaxTensors) fail(TooMany(tensors.size()));
  std::set<std::string> seen;
  std::string index(kMagic, sizeof kMagic), data;
  PutLe<std::uint32_t>(index, static_cast<std::uint32_t>(tensors.size()));
  for (const NamedTensor& t : tensors) {
    CheckEntry(t.name, t.shape, seen, fail);
    std::uint64_t elements = 1;
    for (std::int64_t d : t.shape) elements *= static_cast<std::uint64_t>(d);
    if (elements != t.values.size())
      fail("tensor '" + t.name + "' has shape " + ShapeText(t.shape) + " but " + std::to_string(t.values.size()) +
           " values");
    CheckFinite(t.name, t.values, fail);
    const std::size_t bytes = t.values.size() * sizeof(float);
    const char* raw = reinterpret_cast<const char*>(t.values.data());
    PutLe<std::uint16_t>(index, static_cast<std::uint16_t>(t.name.size()));
    index += t.name;
    PutLe<std::uint8_t>(index, static_cast<std::uint8_t>(t.shape.size()));
    for (std::int64_t d : t.shape) PutLe<std::uint64_t>(index, static_cast<std::uint64_t>(d));
    PutLe<std::uint64_t>(index, data.size());
    PutLe<std::uint64_t>(index, bytes);
    PutLe<std::uint64_t>(index, HashBytes({raw, bytes}));
    if (bytes > 0) data.append(raw, bytes);
  }
  return index + data;
}

std::vector<NamedTensor> ReadTensorTable(const std::string& bytes, const std::string& where) {
  auto fail = [&](const std::string& what) -> void { throw ModelError(where + ": tensor table: " + what); };
  if (!IsTensorTable(bytes)) throw ModelError(where + ": not a tensor table");
  std::size_t pos = sizeof kMagic;
  const std::string truncated = "truncated (" + std::to_string(bytes.size()) + " bytes)";
  auto get = [&](auto& v) {
    if (!GetLe(bytes, pos, v)) fail(truncated);
  };
  std::uint32_t count = 0;
  get(count);
  if (count > kMaxTensors) fail(TooMany(count));
  struct Entry {
    std::uint64_t offset = 0, size = 0, checksum = 0;
  };
  std::vector<NamedTensor> tensors;
  std::vector<Entry> entries;
  std::set<std::string> seen;
  std::uint64_t data_size = 0;  // the sum of the byte lengths so far: the next offset
  for (std::uint32_t k = 0; k < count; ++k) {
    NamedTensor t;
    std::uint16_t name_size = 0;
    get(name_size);
    if (bytes.size() - pos < name_size) fail(truncated);
    t.name = bytes.substr(pos, name_size);
    pos += name_size;
    std::uint8_t rank = 0;
    get(rank);
    if (rank > kMaxRank) fail(TooDeep(t.name, rank));  // before its dimensions are read
    // Each dimension is bounded by the bytes there are (a value is 4 bytes), so the
    // product cannot overflow before it is compared with them.
    std::uint64_t elements = 1;
    for (std::uint8_t r = 0; r < rank; ++r) {
      std::uint64_t d = 0;
      get(d);
      if (d > bytes.size()) fail("tensor '" + t.name + "' has a dimension of " + std::to_string(d));
      t.shape.push_back(static_cast<std::int64_t>(d));
      elements = elements == 0 ? 0 : (d > bytes.size() / elements ? bytes.size() + 1 : elements * d);
    }
    CheckEntry(t.name, t.shape, seen, fail);
    Entry e;
    get(e.offset);
    get(e.size);
    get(e.checksum);
    if (elements > bytes.size() / sizeof(float) || e.size != elements * sizeof(float))
      fail("tensor '" + t.name + "' has shape " + ShapeText(t.shape) + " but " + std::to_string(e.size) + " bytes");
    if (e.offset != data_size)
      fail("tensor '" + t.name + "' starts at " + std::to_string(e.offset) + ", expected " + std::to_string(data_size));
    data_size += e.size;
    if (data_size > bytes.size()) fail(truncated);
    tensors.push_back(std::move(t));
    entries.push_back(e);
  }
  if (bytes.size() - pos != data_size)
    fail(bytes.size() - pos < data_size ? truncated
                                        : std::to_string(bytes.size() - pos - data_size) + " bytes after the tensors");
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    const char* raw = bytes.data() + pos + entries[k].offset;
    if (HashBytes({raw, entries[k].size}) != entries[k].checksum)
      fail("tensor '" + tensors[k].name + "' is corrupt (checksum mismatch)");
    tensors[k].values.resize(entries[k].size / sizeof(float));
    if (entries[k].size > 0) std::memcpy(tensors[k].values.data(), raw, entries[k].size);
    CheckFinite(tensors[k].name, tensors[k].values, fail);
  }
  return tensors;
}

ModelError WeightsMisfit(const std::string& where, const std::string& what) {
  return ModelError(where + ": weights do not fit the model's architecture: " + what);
}

TensorSet::TensorSet(std::vector<NamedTensor> tensors, std::string where)
    : where_(std::move(where)), tensors_(std::move(tensors)), taken_(tensors_.size(), false) {
  for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

std::vector<float> TensorSet::Take(const std::string& name, const std::vector<std::int64_t>& shape) {
  const auto it = index_.find(name);
  if (it == index_.end() || taken_[it->second]) throw WeightsMisfit(where_, "no " + name);
  NamedTensor& t = tensors_[it->second];
  if (t.shape != shape)
    throw WeightsMisfit(where_, name + " is " + ShapeText(t.shape) + ", the card needs " + ShapeText(shape));
  taken_[it->second] = true;
  return std::move(t.values);
}

void TensorSet::RequireAllTaken() const {
  for (std::size_t i = 0; i < tensors_.size(); ++i)
    if (!taken_[i]) throw WeightsMisfit(where_, tensors_[i].name + " has no place in the network");
}

}  // namespace genre
