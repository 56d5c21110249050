// Minimal HDF5 access for feature files and golden values (HDF5 C++ API).
// HDF5 errors become genre::IoError / FormatError naming the file and object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "genre/features/matrix.h"

namespace genre::h5 {

// A dataset read as float64, whatever its stored float type, with its shape.
struct Array {
  std::vector<std::size_t> shape;
  std::vector<double> values;
  std::size_t size() const { return values.size(); }
};

class File {
 public:
  // Opens an existing file read-only; throws IoError / FormatError.
  static File Open(const std::string& path);
  // Creates (truncates) a file for writing; throws IoError.
  static File Create(const std::string& path);
  ~File();
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;

  const std::string& path() const;
  bool Exists(const std::string& object) const;  // "/frames/rms" style paths
  Array Read(const std::string& dataset) const;  // throws FormatError if missing
  Matrix ReadMatrix(const std::string& dataset) const;  // rank 1 becomes [1, n]
  std::string ReadStringAttribute(const std::string& object, const std::string& name) const;
  double ReadNumberAttribute(const std::string& object, const std::string& name) const;

  // Writes a float32 [rows, cols] dataset (gzip level 4 when large enough); intermediate
  // groups are created. Returns nothing; attributes are added with SetAttribute.
  void WriteMatrix(const std::string& dataset, const Matrix& m);
  void SetAttribute(const std::string& object, const std::string& name, const std::string& value);
  void SetAttribute(const std::string& object, const std::string& name, double value);
  void SetAttribute(const std::string& object, const std::string& name, std::int64_t value);

  struct Impl;  // opaque

 private:
  explicit File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace genre::h5
