#include "genre/io/h5.h"

#include <H5Cpp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "genre/error.h"

namespace genre::h5 {

std::mutex& LibraryMutex() {
  static std::mutex m;
  return m;
}

struct File::Impl {
  std::string path;
  std::unique_ptr<H5::H5File> owned;
  H5::H5File& file() {
    if (!owned) throw IoError(path + ": HDF5 file used after Close");
    return *owned;
  }
  // Closed here: H5::H5File's own destructor prints "H5File::~H5File - H5Fclose failed" on
  // std::cerr when a damaged file fails to close. Nothing is lost by a failed close of a file
  // read; writers call File::Close, which reports it.
  // Datasets ReadRows opened, kept open so that HDF5's chunk cache serves the next rows
  // (an MSD aggregate file is read song by song: its chunks hold many songs).
  std::map<std::string, hid_t> open_datasets;
  void CloseDatasets() {
    for (const auto& kv : open_datasets) H5Dclose(kv.second);
    open_datasets.clear();
  }
  ~Impl() {
    CloseDatasets();
    if (!owned) return;
    try {
      owned->close();
    } catch (const H5::Exception&) {
    }
  }
};

namespace {

// The most values (doubles) or bytes one read allocates. A dataset's extent is only a
// header field: a damaged (or hostile) file can claim 2^60 rows; chunked storage
// can even back a huge extent with a few bytes. Far beyond any real track or cache.
constexpr std::uint64_t kMaxValues = std::uint64_t{1} << 27;  // 1 GB of doubles
constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 30;

// dims' product, or kMaxValues + 1 once it passes kMaxValues (no overflow).
std::uint64_t Count(const std::vector<hsize_t>& dims) {
  std::uint64_t n = 1;
  for (hsize_t d : dims) {
    if (d != 0 && n > kMaxValues / d) return kMaxValues + 1;
    n *= d;
  }
  return n;
}

// HDF5 prints its error stack by default; genre reports errors itself.
void Quiet() {
  static const bool done = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)done;
}

// An open group or dataset, owned, viewed as an H5Object (whose destructor is protected).
struct ObjectHandle {
  std::unique_ptr<H5::Group> group;
  std::unique_ptr<H5::DataSet> dataset;
  H5::H5Object* object = nullptr;
};

ObjectHandle OpenObject(H5::H5File& f, const std::string& object) {
  ObjectHandle h;
  if (object == "/" || object.empty()) {
    h.object = &f;
  } else if (f.childObjType(object) == H5O_TYPE_GROUP) {
    h.group = std::make_unique<H5::Group>(f.openGroup(object));
    h.object = h.group.get();
  } else {
    h.dataset = std::make_unique<H5::DataSet>(f.openDataSet(object));
    h.object = h.dataset.get();
  }
  return h;
}

void EnsureParents(H5::H5File& f, const std::string& path) {
  for (std::size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string group = path.substr(0, pos);
    if (!H5Lexists(f.getId(), group.c_str(), H5P_DEFAULT)) f.createGroup(group);
  }
}

}  // namespace

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::~File() = default;
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;

File File::Open(const std::string& path) {
  Quiet();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory, not an HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw FormatError(path + ": not an HDF5 file");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    impl->owned = std::make_unique<H5::H5File>(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception& e) {
    throw FormatError(path + ": cannot open HDF5 file: " + e.getDetailMsg());
  }
  return File(std::move(impl));
}

File File::Create(const std::string& path) {
  Quiet();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    impl->owned = std::make_unique<H5::H5File>(path, H5F_ACC_TRUNC);
  } catch (const H5::Exception& e) {
    throw OutputError(path + ": cannot create HDF5 file: " + e.getDetailMsg());
  }
  return File(std::move(impl));
}

void File::Close() {
  if (!impl_->owned) return;
  impl_->CloseDatasets();
  std::unique_ptr<H5::H5File> file = std::move(impl_->owned);
  try {
    file->close();
  } catch (const H5::Exception& e) {
    throw OutputError(impl_->path + ": cannot close HDF5 file (it may be incomplete): " + e.getDetailMsg());
  }
}

const std::string& File::path() const { return impl_->path; }

bool File::Exists(const std::string& object) const {
  // Check each link along the path, as H5Lexists requires.
  for (std::size_t pos = object.find('/', 1);; pos = object.find('/', pos + 1)) {
    std::string prefix = object.substr(0, pos);
    if (H5Lexists(impl_->file().getId(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

Array File::Read(const std::string& dataset) const {
  if (!Exists(dataset)) throw FormatError(impl_->path + ": no dataset '" + dataset + "'");
  try {
    H5::DataSet ds = impl_->file().openDataSet(dataset);
    H5::DataSpace space = ds.getSpace();
    Array a;
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    if (rank > 0) space.getSimpleExtentDims(dims.data());
    const std::uint64_t n = Count(dims);
    if (n > kMaxValues)
      throw FormatError(impl_->path + ": '" + dataset + "' claims more than " + std::to_string(kMaxValues) + " values");
    for (hsize_t d : dims) a.shape.push_back(static_cast<std::size_t>(d));
    a.values.resize(n);
    ds.read(a.values.data(), H5::PredType::NATIVE_DOUBLE);
    return a;
  } catch (const H5::Exception& e) {
    throw FormatError(impl_->path + ": cannot read '" + dataset + "': " + e.getDetailMsg());
  }
}

Matrix File::ReadMatrix(const std::string& dataset) const {
  Array a = Read(dataset);
  if (a.shape.size() > 2)
    throw FormatError(impl_->path + ": '" + dataset + "' has rank " + std::to_string(a.shape.size()) +
                      ", expected 1 or 2");
  Matrix m(a.shape.size() == 2 ? a.shape[0] : 1, a.shape.empty() ? 1 : a.shape.back());
  for (std::size_t i = 0; i < a.values.size(); ++i) m.data[i] = static_cast<float>(a.values[i]);
  return m;
}

namespace {

// H5Aread writes every element of an attribute: one that holds many (a damaged or an
// unusual file) would overrun the one value read here.
void RequireOneValue(const H5::Attribute& attr, const std::string& what) {
  const hssize_t n = attr.getSpace().getSimpleExtentNpoints();
  if (n != 1) throw FormatError(what + " holds " + std::to_string(n) + " values, expected one");
}

// The HDF5 C++ library's read into std::string takes strlen of a null variable-length
// string and sizes nothing by the attribute's extent; this reads through the C interface.
std::string ReadString(const H5::Attribute& attr, const std::string& what) {
  if (attr.getTypeClass() != H5T_STRING) throw FormatError(what + " is not a string");
  RequireOneValue(attr, what);
  const H5::StrType type = attr.getStrType();
  if (type.isVariableStr()) {
    H5::StrType memory(H5::PredType::C_S1, H5T_VARIABLE);
    memory.setCset(type.getCset());
    char* value = nullptr;
    attr.read(memory, &value);
    std::string out = value ? value : "";  // a null string reads as ""
    H5free_memory(value);
    return out;
  }
  const std::size_t size = type.getSize();
  if (size > kMaxBytes) throw FormatError(what + " claims " + std::to_string(size) + " bytes");
  std::string out(size, '\0');
  attr.read(type, out.data());
  out.resize(std::min(out.find('\0'), size));
  return out;
}

}  // namespace

std::string File::ReadStringAttribute(const std::string& object, const std::string& name) const {
  const std::string what = impl_->path + ": attribute '" + name + "' on '" + object + "'";
  try {
    ObjectHandle h = OpenObject(impl_->file(), object);
    return ReadString(h.object->openAttribute(name), what);
  } catch (const H5::Exception& e) {
    throw FormatError(impl_->path + ": no string attribute '" + name + "' on '" + object + "'");
  }
}

double File::ReadNumberAttribute(const std::string& object, const std::string& name) const {
  try {
    ObjectHandle h = OpenObject(impl_->file(), object);
    H5::Attribute attr = h.object->openAttribute(name);
    RequireOneValue(attr, impl_->path + ": attribute '" + name + "' on '" + object + "'");
    double value = 0;
    attr.read(H5::PredType::NATIVE_DOUBLE, &value);
    return value;
  } catch (const H5::Exception& e) {
    throw FormatError(impl_->path + ": no numeric attribute '" + name + "' on '" + object + "'");
  }
}

void File::WriteMatrix(const std::string& dataset, const Matrix& m, int gzip) {
  try {
    EnsureParents(impl_->file(), dataset);
    hsize_t dims[2] = {m.rows, m.cols};
    H5::DataSpace space(2, dims);
    H5::DSetCreatPropList props;
    if (gzip > 0 && m.rows > 0 && m.cols > 0 && m.data.size() >= 4096) {
      hsize_t chunk[2] = {std::min<hsize_t>(m.rows, 64), std::min<hsize_t>(m.cols, 1024)};
      props.setChunk(2, chunk);
      props.setShuffle();
      props.setDeflate(static_cast<unsigned>(gzip));
    }
    H5::DataSet ds = impl_->file().createDataSet(dataset, H5::PredType::IEEE_F32LE, space, props);
    if (!m.data.empty()) ds.write(m.data.data(), H5::PredType::NATIVE_FLOAT);
  } catch (const H5::Exception& e) {
    throw OutputError(impl_->path + ": cannot write '" + dataset + "': " + e.getDetailMsg());
  }
}

namespace {
template <class Fn>
void WithObject(File::Impl& impl, const std::string& object, const std::string& name, Fn fn) {
  try {
    ObjectHandle h = OpenObject(impl.file(), object);
    H5::H5Object* obj = h.object;
    if (obj->attrExists(name)) obj->removeAttr(name);
    fn(*obj);
  } catch (const H5::Exception& e) {
    throw IoError(impl.path + ": cannot set attribute '" + name + "' on '" + object + "': " + e.getDetailMsg());
  }
}
}  // namespace

void File::SetAttribute(const std::string& object, const std::string& name, const std::string& value) {
  WithObject(*impl_, object, name, [&](H5::H5Object& obj) {
    H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    type.setCset(H5T_CSET_UTF8);
    obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
  });
}

void File::SetAttribute(const std::string& object, const std::string& name, double value) {
  WithObject(*impl_, object, name, [&](H5::H5Object& obj) {
    obj.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR))
        .write(H5::PredType::NATIVE_DOUBLE, &value);
  });
}

void File::SetAttribute(const std::string& object, const std::string& name, std::int64_t value) {
  WithObject(*impl_, object, name, [&](H5::H5Object& obj) {
    obj.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
        .write(H5::PredType::NATIVE_INT64, &value);
  });
}

// ---- C-API helpers ---------------------------------------------------------

namespace {

// Owns one HDF5 identifier; closed with the matching H5?close.
class Hid {
 public:
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Hid() {
    if (id_ >= 0) close_(id_);
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string TypeName(hid_t type) {
  const std::size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
    case H5T_FLOAT:
      return "float" + std::to_string(8 * size);
    case H5T_STRING:
      return H5Tis_variable_str(type) > 0 ? "string" : "string[" + std::to_string(size) + "]";
    case H5T_COMPOUND:
      return "compound{" + std::to_string(H5Tget_nmembers(type)) + "}";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen";
    default:
      return "other";
  }
}

Table::Field::Kind KindOf(hid_t type) {
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return H5Tget_sign(type) == H5T_SGN_NONE ? Table::Field::kUnsigned : Table::Field::kInteger;
    case H5T_FLOAT:
      return Table::Field::kFloat;
    case H5T_STRING:
      return H5Tis_variable_str(type) > 0 ? Table::Field::kOther : Table::Field::kString;
    default:
      return Table::Field::kOther;
  }
}

herr_t CountAttribute(hid_t, const char*, const H5A_info_t*, void* data) {
  ++*static_cast<std::size_t*>(data);
  return 0;
}

struct ListState {
  std::vector<ObjectInfo>* out;
};

herr_t VisitLink(hid_t group, const char* name, const H5L_info_t*, void* data) {
  auto* out = static_cast<ListState*>(data)->out;
  Hid obj(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
  if (!obj.ok()) return 0;  // dangling or external link: not listed
  ObjectInfo info;
  info.path = std::string("/") + name;
  hsize_t index = 0;
  H5Aiterate2(obj.get(), H5_INDEX_NAME, H5_ITER_INC, &index, CountAttribute, &info.attributes);
  if (H5Iget_type(obj.get()) == H5I_GROUP) {
    info.is_group = true;
  } else if (H5Iget_type(obj.get()) == H5I_DATASET) {
    Hid space(H5Dget_space(obj.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0))), max(dims.size());
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), max.data());
    for (std::size_t i = 0; i < dims.size(); ++i) {
      info.shape.push_back(static_cast<std::size_t>(dims[i]));
      info.max_shape.push_back(max[i] == H5S_UNLIMITED ? -1 : static_cast<long long>(max[i]));
    }
    Hid type(H5Dget_type(obj.get()), H5Tclose);
    info.type = TypeName(type.get());
    if (H5Tget_class(type.get()) == H5T_COMPOUND) {
      const int n = H5Tget_nmembers(type.get());
      for (int i = 0; i < n; ++i) {
        char* member = H5Tget_member_name(type.get(), static_cast<unsigned>(i));
        Hid mtype(H5Tget_member_type(type.get(), static_cast<unsigned>(i)), H5Tclose);
        info.fields.emplace_back(member ? member : "?", TypeName(mtype.get()));
        H5free_memory(member);
      }
    }
  } else {
    return 0;  // named datatypes are not listed
  }
  out->push_back(std::move(info));
  return 0;
}

}  // namespace

// ---- Table ------------------------------------------------------------------

Table::Table(std::string where, std::size_t rows, std::size_t row_size, std::vector<Field> fields,
             std::vector<unsigned char> bytes)
    : where_(std::move(where)),
      rows_(rows),
      row_size_(row_size),
      fields_(std::move(fields)),
      bytes_(std::move(bytes)) {}

bool Table::Has(const std::string& field) const {
  for (const Field& f : fields_)
    if (f.name == field) return true;
  return false;
}

std::vector<std::string> Table::FieldNames() const {
  std::vector<std::string> names;
  for (const Field& f : fields_) names.push_back(f.name);
  return names;
}

const Table::Field& Table::Find(const std::string& field, std::size_t row) const {
  if (row >= rows_)
    throw FormatError(where_ + ": row " + std::to_string(row) + " out of range (" + std::to_string(rows_) + " rows)");
  for (const Field& f : fields_)
    if (f.name == field) return f;
  throw FormatError(where_ + ": no field '" + field + "'");
}

double Table::Number(std::size_t row, const std::string& field) const {
  const Field& f = Find(field, row);
  const unsigned char* p = bytes_.data() + row * row_size_ + f.offset;
  auto load = [p](auto value) {
    std::memcpy(&value, p, sizeof value);
    return static_cast<double>(value);
  };
  if (f.kind == Field::kFloat && f.size == 8) return load(double{});
  if (f.kind == Field::kFloat && f.size == 4) return load(float{});
  if (f.kind == Field::kInteger) {
    switch (f.size) {
      case 1:
        return load(std::int8_t{});
      case 2:
        return load(std::int16_t{});
      case 4:
        return load(std::int32_t{});
      case 8:
        return load(std::int64_t{});
    }
  }
  if (f.kind == Field::kUnsigned) {
    switch (f.size) {
      case 1:
        return load(std::uint8_t{});
      case 2:
        return load(std::uint16_t{});
      case 4:
        return load(std::uint32_t{});
      case 8:
        return load(std::uint64_t{});
    }
  }
  throw FormatError(where_ + ": field '" + field + "' is not numeric");
}

std::string Table::String(std::size_t row, const std::string& field) const {
  const Field& f = Find(field, row);
  if (f.kind != Field::kString) throw FormatError(where_ + ": field '" + field + "' is not a string");
  const char* p = reinterpret_cast<const char*>(bytes_.data() + row * row_size_ + f.offset);
  std::size_t n = 0;
  while (n < f.size && p[n] != '\0') ++n;
  while (n > 0 && p[n - 1] == ' ') --n;  // space-padded strings
  return std::string(p, n);
}

Table File::ReadTable(const std::string& dataset) const {
  const std::string where = impl_->path + ": " + dataset;
  if (!Exists(dataset)) throw FormatError(impl_->path + ": no dataset '" + dataset + "'");
  Hid ds(H5Dopen2(impl_->file().getId(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw FormatError(where + ": not a dataset");
  Hid ftype(H5Dget_type(ds.get()), H5Tclose);
  if (H5Tget_class(ftype.get()) != H5T_COMPOUND) throw FormatError(where + ": not a compound table");
  Hid mtype(H5Tget_native_type(ftype.get(), H5T_DIR_ASCEND), H5Tclose);
  Hid space(H5Dget_space(ds.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const std::size_t row_size = H5Tget_size(mtype.get());
  if (n < 0 || row_size == 0) throw FormatError(where + ": unreadable table");
  if (static_cast<std::uint64_t>(n) > kMaxBytes / row_size)
    throw FormatError(where + ": claims " + std::to_string(n) + " rows of " + std::to_string(row_size) +
                      " bytes, more than " + std::to_string(kMaxBytes) + " bytes");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(n) * row_size);
  if (n > 0 && H5Dread(ds.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0)
    throw FormatError(where + ": cannot read table");
  std::vector<Table::Field> fields;
  const int members = H5Tget_nmembers(mtype.get());
  for (int i = 0; i < members; ++i) {
    const auto u = static_cast<unsigned>(i);
    Table::Field f;
    char* name = H5Tget_member_name(mtype.get(), u);
    f.name = name ? name : "";
    H5free_memory(name);
    f.offset = H5Tget_member_offset(mtype.get(), u);
    Hid member(H5Tget_member_type(mtype.get(), u), H5Tclose);
    f.size = H5Tget_size(member.get());
    f.kind = KindOf(member.get());
    fields.push_back(std::move(f));
  }
  return Table(where, static_cast<std::size_t>(n), row_size, std::move(fields), std::move(bytes));
}

std::vector<std::size_t> File::Shape(const std::string& dataset) const {
  if (!Exists(dataset)) throw FormatError(impl_->path + ": no dataset '" + dataset + "'");
  Hid ds(H5Dopen2(impl_->file().getId(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok()) throw FormatError(impl_->path + ": '" + dataset + "' is not a dataset");
  Hid space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

Array File::ReadRows(const std::string& dataset, std::size_t begin, std::size_t end) const {
  const std::vector<std::size_t> shape = Shape(dataset);
  const std::string where = impl_->path + ": " + dataset;
  if (shape.empty() || shape.size() > 2) throw FormatError(where + ": expected rank 1 or 2");
  if (begin > end || end > shape[0])
    throw FormatError(where + ": rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside its " +
                      std::to_string(shape[0]) + " rows");
  Array a;
  a.shape = shape;
  a.shape[0] = end - begin;
  const std::size_t width = shape.size() == 2 ? shape[1] : 1;
  if (Count({end - begin, width}) > kMaxValues)
    throw FormatError(where + ": rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of " +
                      std::to_string(width) + " values are more than " + std::to_string(kMaxValues));
  a.values.resize((end - begin) * width);
  if (a.values.empty()) return a;
  auto open = impl_->open_datasets.find(dataset);
  if (open == impl_->open_datasets.end()) {
    const hid_t id = H5Dopen2(impl_->file().getId(), dataset.c_str(), H5P_DEFAULT);
    if (id < 0) throw FormatError(where + ": cannot open");
    open = impl_->open_datasets.emplace(dataset, id).first;
  }
  const hid_t ds = open->second;
  Hid fspace(H5Dget_space(ds), H5Sclose);
  const hsize_t start[2] = {begin, 0}, count[2] = {end - begin, width};
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  Hid mspace(H5Screate_simple(static_cast<int>(shape.size()), count, nullptr), H5Sclose);
  if (H5Dread(ds, H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, a.values.data()) < 0)
    throw FormatError(where + ": cannot read rows");
  return a;
}

bool File::HasAttribute(const std::string& object, const std::string& name) const {
  if (object != "/" && !Exists(object)) return false;
  return H5Aexists_by_name(impl_->file().getId(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

std::vector<ObjectInfo> File::List() const {
  std::vector<ObjectInfo> out;
  ListState state{&out};
  if (H5Lvisit(impl_->file().getId(), H5_INDEX_NAME, H5_ITER_INC, VisitLink, &state) < 0)
    throw FormatError(impl_->path + ": cannot list objects");
  return out;
}

void File::WriteArray(const std::string& dataset, const std::vector<double>& values,
                      const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  if (n != values.size())
    throw IoError(impl_->path + ": '" + dataset + "': shape does not match " + std::to_string(values.size()) +
                  " values");
  try {
    EnsureParents(impl_->file(), dataset);
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
    H5::DSetCreatPropList props;
    if (n >= 4096) {
      std::vector<hsize_t> chunk = dims;
      chunk[0] = std::min<hsize_t>(chunk[0], 1024);
      props.setChunk(static_cast<int>(chunk.size()), chunk.data());
      props.setShuffle();
      props.setDeflate(4);
    }
    H5::DataSet ds = impl_->file().createDataSet(dataset, H5::PredType::IEEE_F64LE, space, props);
    if (n > 0) ds.write(values.data(), H5::PredType::NATIVE_DOUBLE);
  } catch (const H5::Exception& e) {
    throw OutputError(impl_->path + ": cannot write '" + dataset + "': " + e.getDetailMsg());
  }
}

void File::WriteTable(const std::string& dataset, const std::vector<Column>& columns) {
  const std::string where = impl_->path + ": " + dataset;
  std::size_t rows = 0;
  std::vector<std::size_t> sizes, offsets;
  std::size_t row_size = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Column& col = columns[c];
    const std::size_t n = col.type == Column::kString ? col.strings.size() : col.numbers.size();
    if (c == 0) rows = n;
    if (n != rows) throw IoError(where + ": column '" + col.name + "' has another length");
    std::size_t size = col.type == Column::kFloat64 ? 8 : col.type == Column::kInt32 ? 4 : 1;
    if (col.type == Column::kString)
      for (const std::string& s : col.strings) size = std::max(size, s.size() + 1);
    offsets.push_back(row_size);
    sizes.push_back(size);
    row_size += size;
  }
  if (columns.empty() || row_size == 0) throw IoError(where + ": a table needs columns");
  Hid type(H5Tcreate(H5T_COMPOUND, row_size), H5Tclose);
  std::vector<unsigned char> bytes(rows * row_size, 0);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Column& col = columns[c];
    if (col.type == Column::kString) {
      Hid str(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(str.get(), sizes[c]);
      H5Tset_strpad(str.get(), H5T_STR_NULLTERM);
      H5Tinsert(type.get(), col.name.c_str(), offsets[c], str.get());
      for (std::size_t r = 0; r < rows; ++r)
        std::memcpy(bytes.data() + r * row_size + offsets[c], col.strings[r].data(), col.strings[r].size());
    } else if (col.type == Column::kInt32) {
      H5Tinsert(type.get(), col.name.c_str(), offsets[c], H5T_NATIVE_INT32);
      for (std::size_t r = 0; r < rows; ++r) {
        const auto v = static_cast<std::int32_t>(std::lround(col.numbers[r]));
        std::memcpy(bytes.data() + r * row_size + offsets[c], &v, 4);
      }
    } else {
      H5Tinsert(type.get(), col.name.c_str(), offsets[c], H5T_NATIVE_DOUBLE);
      for (std::size_t r = 0; r < rows; ++r) std::memcpy(bytes.data() + r * row_size + offsets[c], &col.numbers[r], 8);
    }
  }
  try {
    EnsureParents(impl_->file(), dataset);
  } catch (const H5::Exception& e) {
    throw OutputError(where + ": cannot create groups: " + e.getDetailMsg());
  }
  const hsize_t dims[1] = {rows};
  Hid space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Hid ds(H5Dcreate2(impl_->file().getId(), dataset.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                    H5P_DEFAULT),
         H5Dclose);
  if (!ds.ok() || (rows > 0 && H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) < 0))
    throw OutputError(where + ": cannot write table");
}

void File::CopyFrom(const File& source, const std::string& object, const std::string& as) {
  Hid lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  if (H5Ocopy(source.impl_->file().getId(), object.c_str(), impl_->file().getId(), as.c_str(), H5P_DEFAULT,
              lcpl.get()) < 0)
    throw IoError(impl_->path + ": cannot copy '" + object + "' from " + source.path());
}

std::vector<ObjectInfo> InspectFile(const std::string& path, const IsolateOptions& options) {
  auto list = [&](std::size_t) {
    Pack p;
    const std::vector<ObjectInfo> objects = File::Open(path).List();
    p.Pod<std::uint64_t>(objects.size());
    for (const ObjectInfo& o : objects) {
      p.String(o.path);
      p.Pod<std::uint8_t>(o.is_group);
      p.Vector(o.shape);
      p.Vector(o.max_shape);
      p.String(o.type);
      p.Pod<std::uint64_t>(o.fields.size());
      for (const auto& [name, type] : o.fields) {
        p.String(name);
        p.String(type);
      }
      p.Pod<std::uint64_t>(o.attributes);
    }
    return p.Take();
  };
  std::vector<ObjectInfo> objects;
  auto done = [&](std::size_t, const std::string& bytes, const std::exception_ptr& error) {
    if (error) std::rethrow_exception(error);
    Unpack u(bytes);
    for (auto n = u.Pod<std::uint64_t>(); n > 0; --n) {
      ObjectInfo& o = objects.emplace_back();
      o.path = u.String();
      o.is_group = u.Pod<std::uint8_t>() != 0;
      o.shape = u.Vector<std::size_t>();
      o.max_shape = u.Vector<long long>();
      o.type = u.String();
      for (auto f = u.Pod<std::uint64_t>(); f > 0; --f) {
        std::string name = u.String();
        o.fields.emplace_back(std::move(name), u.String());
      }
      o.attributes = u.Pod<std::uint64_t>();
    }
  };
  RunIsolated(
      1, list, done, [&](std::size_t) { return path; }, "libhdf5", options, &LibraryMutex());
  return objects;
}

}  // namespace genre::h5
