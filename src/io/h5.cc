#include "genre/io/h5.h"

#include <H5Cpp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "genre/error.h"

namespace genre::h5 {

struct File::Impl {
  std::string path;
  std::unique_ptr<H5::H5File> owned;
  H5::H5File& file() { return *owned; }
};

namespace {

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
    throw IoError(path + ": cannot create HDF5 file: " + e.getDetailMsg());
  }
  return File(std::move(impl));
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
    std::size_t n = 1;
    for (hsize_t d : dims) {
      a.shape.push_back(static_cast<std::size_t>(d));
      n *= static_cast<std::size_t>(d);
    }
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
    throw FormatError(impl_->path + ": '" + dataset + "' has rank " +
                      std::to_string(a.shape.size()) + ", expected 1 or 2");
  Matrix m(a.shape.size() == 2 ? a.shape[0] : 1, a.shape.empty() ? 1 : a.shape.back());
  for (std::size_t i = 0; i < a.values.size(); ++i) m.data[i] = static_cast<float>(a.values[i]);
  return m;
}

std::string File::ReadStringAttribute(const std::string& object, const std::string& name) const {
  try {
    ObjectHandle h = OpenObject(impl_->file(), object);
    H5::Attribute attr = h.object->openAttribute(name);
    std::string value;
    attr.read(attr.getStrType(), value);
    return value;
  } catch (const H5::Exception& e) {
    throw FormatError(impl_->path + ": no string attribute '" + name + "' on '" + object + "'");
  }
}

double File::ReadNumberAttribute(const std::string& object, const std::string& name) const {
  try {
    ObjectHandle h = OpenObject(impl_->file(), object);
    H5::Attribute attr = h.object->openAttribute(name);
    double value = 0;
    attr.read(H5::PredType::NATIVE_DOUBLE, &value);
    return value;
  } catch (const H5::Exception& e) {
    throw FormatError(impl_->path + ": no numeric attribute '" + name + "' on '" + object + "'");
  }
}

void File::WriteMatrix(const std::string& dataset, const Matrix& m) {
  try {
    EnsureParents(impl_->file(), dataset);
    hsize_t dims[2] = {m.rows, m.cols};
    H5::DataSpace space(2, dims);
    H5::DSetCreatPropList props;
    if (m.rows > 0 && m.cols > 0 && m.data.size() >= 4096) {
      hsize_t chunk[2] = {std::min<hsize_t>(m.rows, 64), std::min<hsize_t>(m.cols, 1024)};
      props.setChunk(2, chunk);
      props.setShuffle();
      props.setDeflate(4);
    }
    H5::DataSet ds = impl_->file().createDataSet(dataset, H5::PredType::IEEE_F32LE, space, props);
    if (!m.data.empty()) ds.write(m.data.data(), H5::PredType::NATIVE_FLOAT);
  } catch (const H5::Exception& e) {
    throw IoError(impl_->path + ": cannot write '" + dataset + "': " + e.getDetailMsg());
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
    throw IoError(impl.path + ": cannot set attribute '" + name + "' on '" + object +
                  "': " + e.getDetailMsg());
  }
}
}  // namespace

void File::SetAttribute(const std::string& object, const std::string& name,
                        const std::string& value) {
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

}  // namespace genre::h5
