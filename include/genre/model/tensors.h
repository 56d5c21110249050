// A table of named float32 tensors: how model weights are stored without libtorch's
// serialisation (issue 15), readable by plain C++.
//
//   bytes 0-7    "GTENSORS"
//   uint32 LE    count (at most 65,536)
//   count index entries, each:
//     uint16 LE  name size (1-256), the name (unique)
//     uint8      rank (0-8), rank x uint64 LE dimensions
//     uint64 LE  offset of its values in the data area
//     uint64 LE  byte length (4 x the product of the dimensions)
//     uint64 LE  checksum of those bytes (HashBytes)
//   the data area: every tensor's values, float32 LE, in index order, end to end
//
// Nothing may lie between or after the tensors, and every value must be finite: a table
// read is exactly the table written.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "genre/error.h"

namespace genre {

struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;  // empty: a scalar
  std::vector<float> values;        // row-major, as many as the shape's product
};

// "[2x3x3]" ("[]" for a scalar), for messages.
std::string ShapeText(const std::vector<std::int64_t>& shape);

// "WHERE: weights do not fit the model's architecture: WHAT": what loading a network says
// of weights that are missing, of another shape or left over.
ModelError WeightsMisfit(const std::string& where, const std::string& what);

// The tensors of a table by name, for filling a network (libtorch's or the inference
// runtime's): each taken once, with the shape the network needs. Take throws WeightsMisfit
// for a tensor missing ("no NAME") or of another shape ("NAME is [..], the card needs [..]");
// RequireAllTaken for the first one, in table order, never taken ("NAME has no place in the
// network").
class TensorSet {
 public:
  TensorSet(std::vector<NamedTensor> tensors, std::string where);
  std::vector<float> Take(const std::string& name, const std::vector<std::int64_t>& shape);
  void RequireAllTaken() const;

 private:
  std::string where_;
  std::vector<NamedTensor> tensors_;
  std::vector<bool> taken_;
  std::map<std::string, std::size_t> index_;
};

// Throws ModelError naming the tensor: an empty, too long or repeated name, a rank over 8,
// a negative dimension, values that do not fill the shape, a value that is NaN or infinite.
std::string WriteTensorTable(const std::vector<NamedTensor>& tensors);
// Whether `bytes` begin as a tensor table does ("GTENSORS"; a version 1 model file's
// weights are a libtorch archive, a zip file).
bool IsTensorTable(const std::string& bytes);
// Throws ModelError naming `where` (and the tensor): not a tensor table, truncated, bytes
// left over, an entry breaking the rules above, an offset out of order, a checksum mismatch.
std::vector<NamedTensor> ReadTensorTable(const std::string& bytes, const std::string& where);

}  // namespace genre
