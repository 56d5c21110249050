// HDF5 access for feature files, caches, golden values and Million Song Dataset
// files (HDF5 C++ API). HDF5 errors become genre::IoError / FormatError naming the
// file and the object. The HDF5 library Debian ships is not thread-safe: use one
// File from one thread at a time, and no two Files concurrently; code that may run
// beside other threads holds LibraryMutex() around its HDF5 calls.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "genre/features/matrix.h"
#include "genre/util/isolate.h"

namespace genre::h5 {

// Held by every thread around its libhdf5 calls, and by RunIsolated (util/isolate.h)
// while it forks a reader, so that no thread is inside libhdf5 at the fork.
std::mutex& LibraryMutex();

// A dataset read as float64, whatever its stored numeric type, with its shape.
struct Array {
  std::vector<std::size_t> shape;
  std::vector<double> values;
  std::size_t size() const { return values.size(); }
};

// One compound (table) dataset read whole: the layout PyTables writes for the
// Million Song Dataset's `songs` tables. Fields are looked up by name.
class Table {
 public:
  struct Field {
    enum Kind { kInteger, kUnsigned, kFloat, kString, kOther };
    std::string name;
    std::size_t offset = 0, size = 0;
    Kind kind = kOther;
  };
  // Built by File::ReadTable.
  Table(std::string where, std::size_t rows, std::size_t row_size, std::vector<Field> fields,
        std::vector<unsigned char> bytes);

  std::size_t rows() const { return rows_; }
  bool Has(const std::string& field) const;
  std::vector<std::string> FieldNames() const;
  // A numeric field (any integer or float type) as double; a string field as
  // text without trailing NULs. Throw FormatError naming the dataset and field
  // when the field is missing or of the other kind, or row >= rows().
  double Number(std::size_t row, const std::string& field) const;
  std::string String(std::size_t row, const std::string& field) const;

 private:
  const Field& Find(const std::string& field, std::size_t row) const;
  std::string where_;  // "file: dataset", for messages
  std::size_t rows_ = 0, row_size_ = 0;
  std::vector<Field> fields_;
  std::vector<unsigned char> bytes_;
};

// A column of a table to write. kFloat64 and kInt32 use `numbers` (int32 rounds),
// kString uses `strings` (stored fixed-length, NUL-terminated, as PyTables does).
struct Column {
  enum Type { kFloat64, kInt32, kString };
  explicit Column(std::string column_name, Type column_type = kFloat64)
      : name(std::move(column_name)), type(column_type) {}
  std::string name;
  Type type = kFloat64;
  std::vector<double> numbers;
  std::vector<std::string> strings;
};

// What `genre-train data inspect` prints for one object.
struct ObjectInfo {
  std::string path;  // "/analysis/songs"
  bool is_group = false;
  std::vector<std::size_t> shape;                           // datasets: current extent ({} = scalar)
  std::vector<long long> max_shape;                         // -1 = unlimited
  std::string type;                                         // "float64", "int32", "string[18]", "compound{31}"
  std::vector<std::pair<std::string, std::string>> fields;  // compound: name, type
  std::size_t attributes = 0;
};

class File {
 public:
  // Opens an existing file read-only; throws IoError / FormatError.
  static File Open(const std::string& path);
  // Creates (truncates) a file for writing; throws IoError.
  static File Create(const std::string& path);
  ~File();  // closes it (a failure is silent: writers call Close first)
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;

  // Flushes and closes it; throws OutputError when that fails (a written file may then be
  // incomplete: writers close before renaming into place). Nothing may be read or written
  // after; a second Close does nothing.
  void Close();
  const std::string& path() const;
  bool Exists(const std::string& object) const;  // "/frames/rms" style paths
  Array Read(const std::string& dataset) const;  // throws FormatError if missing
  // Rows [begin, end) of the first dimension of a rank-1 or rank-2 dataset.
  Array ReadRows(const std::string& dataset, std::size_t begin, std::size_t end) const;
  std::vector<std::size_t> Shape(const std::string& dataset) const;
  Matrix ReadMatrix(const std::string& dataset) const;  // rank 1 becomes [1, n]
  Table ReadTable(const std::string& dataset) const;    // compound datasets only
  std::string ReadStringAttribute(const std::string& object, const std::string& name) const;
  double ReadNumberAttribute(const std::string& object, const std::string& name) const;
  bool HasAttribute(const std::string& object, const std::string& name) const;
  // Every group and dataset below "/", depth first, in name order.
  std::vector<ObjectInfo> List() const;

  // Writes a float32 [rows, cols] dataset (gzip level `gzip` with shuffle when large
  // enough; 0 = uncompressed); intermediate groups are created.
  void WriteMatrix(const std::string& dataset, const Matrix& m, int gzip = 4);
  // Writes a float64 array of the given shape (product must equal values.size()).
  void WriteArray(const std::string& dataset, const std::vector<double>& values, const std::vector<std::size_t>& shape);
  // Writes a compound table of equally long columns.
  void WriteTable(const std::string& dataset, const std::vector<Column>& columns);
  // Copies an object (group or dataset, with everything below it) from another file.
  void CopyFrom(const File& source, const std::string& object, const std::string& as);
  void SetAttribute(const std::string& object, const std::string& name, const std::string& value);
  void SetAttribute(const std::string& object, const std::string& name, double value);
  void SetAttribute(const std::string& object, const std::string& name, std::int64_t value);

  struct Impl;  // opaque

 private:
  explicit File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// File::Open(path).List() in a reader process (util/isolate.h): a file that crashes or
// hangs libhdf5 costs a FormatError naming it, not the caller.
std::vector<ObjectInfo> InspectFile(const std::string& path, const IsolateOptions& options = {});

}  // namespace genre::h5
