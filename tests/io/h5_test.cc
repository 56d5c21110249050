#include "genre/io/h5.h"

#include <hdf5.h>
#include <catch2/catch.hpp>

#include "genre/error.h"
#include "support.h"

namespace genre {

TEST_CASE("HDF5 matrices and attributes round-trip", "[io]") {
  test::TempDir dir;
  const auto path = (dir / "f.h5").string();
  Matrix m(3, 5000);
  for (std::size_t i = 0; i < m.data.size(); ++i) m.data[i] = static_cast<float>(i) * 0.5f;
  {
    auto f = h5::File::Create(path);
    f.WriteMatrix("/group/x", m);
    f.SetAttribute("/group/x", "kind", std::string("logmel"));
    f.SetAttribute("/group/x", "n_fft", std::int64_t{2048});
    f.SetAttribute("/", "fmax", 11025.0);
    f.Close();
    f.Close();  // a second Close does nothing
    CHECK_THROWS_WITH(f.Exists("/group/x"), path + ": HDF5 file used after Close");
  }
  const auto f = h5::File::Open(path);
  CHECK(f.Exists("/group/x"));
  CHECK_FALSE(f.Exists("/group/y"));
  CHECK_FALSE(f.Exists("/nope/x"));
  const Matrix back = f.ReadMatrix("/group/x");
  CHECK(back.rows == 3);
  CHECK(back.cols == 5000);
  CHECK(back.data == m.data);
  CHECK(f.ReadStringAttribute("/group/x", "kind") == "logmel");
  CHECK(f.ReadNumberAttribute("/group/x", "n_fft") == 2048);
  CHECK(f.ReadNumberAttribute("/", "fmax") == 11025.0);
}

TEST_CASE("HDF5 attributes that hold many values or a null string are read safely", "[io][errors]") {
  test::TempDir dir;
  const std::string path = (dir / "attributes.h5").string();
  {  // written through the C interface: genre never writes such attributes
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t three = 3;
    const hid_t many = H5Screate_simple(1, &three, nullptr), one = H5Screate(H5S_SCALAR);
    const hid_t text = H5Tcopy(H5T_C_S1);
    H5Tset_size(text, H5T_VARIABLE);
    const char* strings[3] = {"a", "b", "c"};
    const char* null = nullptr;
    const double numbers[3] = {1, 2, 3};
    auto attribute = [&](const char* name, hid_t type, hid_t space, const void* values) {
      const hid_t a = H5Acreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(H5Awrite(a, type, values) >= 0);
      H5Aclose(a);
    };
    attribute("strings", text, many, strings);
    attribute("null", text, one, &null);
    attribute("one", text, one, &strings[1]);
    attribute("numbers", H5T_NATIVE_DOUBLE, many, numbers);
    H5Tclose(text);
    H5Sclose(many);
    H5Sclose(one);
    H5Fclose(f);
  }
  const auto f = h5::File::Open(path);
  CHECK_THROWS_WITH(f.ReadStringAttribute("/", "strings"),
                    path + ": attribute 'strings' on '/' holds 3 values, expected one");
  CHECK_THROWS_WITH(f.ReadNumberAttribute("/", "numbers"),
                    path + ": attribute 'numbers' on '/' holds 3 values, expected one");
  CHECK(f.ReadStringAttribute("/", "null").empty());  // the C++ library's reader takes its strlen
  CHECK(f.ReadStringAttribute("/", "one") == "b");
  CHECK_THROWS_WITH(f.ReadStringAttribute("/", "numbers"), Catch::EndsWith("is not a string"));
}

TEST_CASE("HDF5 errors name the file and the object", "[io][errors]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(h5::File::Open((dir / "missing.h5").string()),
                    (dir / "missing.h5").string() + ": cannot open: No such file or directory");
  test::WriteBytes(dir / "text.h5", "not hdf5 at all");
  CHECK_THROWS_AS(h5::File::Open((dir / "text.h5").string()), FormatError);
  CHECK_THROWS_WITH(h5::File::Open((dir / "text.h5").string()), (dir / "text.h5").string() + ": not an HDF5 file");
  const auto golden = test::Golden("short_0.3s");
  CHECK_THROWS_WITH(h5::File::Open(golden.string()).Read("/frames/missing"),
                    golden.string() + ": no dataset '/frames/missing'");
}

}  // namespace genre

namespace genre {

TEST_CASE("HDF5 tables, row ranges, listing and copies", "[io]") {
  test::TempDir dir;
  const auto path = (dir / "t.h5").string();
  {
    auto f = h5::File::Create(path);
    h5::Column id("id", h5::Column::kString), n("n", h5::Column::kInt32), x("x");
    id.strings = {"a", "longer id"};
    n.numbers = {3, -4};
    x.numbers = {0.5, 1e300};
    f.WriteTable("/g/table", {id, n, x});
    f.WriteArray("/g/rows", {0, 1, 2, 3, 4, 5}, {3, 2});
    h5::Column bad("bad");
    bad.numbers = {1};
    CHECK_THROWS_WITH(f.WriteTable("/g/bad", {id, bad}), path + ": /g/bad: column 'bad' has another length");
    CHECK_THROWS_AS(f.WriteArray("/g/wrong", {1, 2, 3}, {2, 2}), IoError);
  }
  const auto f = h5::File::Open(path);
  const h5::Table t = f.ReadTable("/g/table");
  REQUIRE(t.rows() == 2);
  CHECK(t.FieldNames() == std::vector<std::string>{"id", "n", "x"});
  CHECK(t.String(1, "id") == "longer id");
  CHECK(t.Number(1, "n") == -4);
  CHECK(t.Number(1, "x") == 1e300);
  CHECK_THROWS_WITH(t.Number(0, "nope"), path + ": /g/table: no field 'nope'");
  CHECK_THROWS_WITH(t.Number(0, "id"), path + ": /g/table: field 'id' is not numeric");
  CHECK_THROWS_AS(t.String(2, "id"), FormatError);
  CHECK_THROWS_WITH(f.ReadTable("/g/rows"), path + ": /g/rows: not a compound table");

  const h5::Array rows = f.ReadRows("/g/rows", 1, 3);
  CHECK(rows.shape == std::vector<std::size_t>{2, 2});
  CHECK(rows.values == std::vector<double>{2, 3, 4, 5});
  CHECK(f.ReadRows("/g/rows", 3, 3).values.empty());
  CHECK_THROWS_AS(f.ReadRows("/g/rows", 2, 4), FormatError);

  const auto objects = f.List();
  REQUIRE(objects.size() == 3);
  CHECK(objects[0].path == "/g");
  CHECK(objects[0].is_group);
  CHECK(objects[1].path == "/g/rows");
  CHECK(objects[1].type == "float64");
  CHECK(objects[1].shape == std::vector<std::size_t>{3, 2});
  CHECK(objects[2].type == "compound{3}");
  CHECK(objects[2].fields[0] == std::pair<std::string, std::string>{"id", "string[10]"});
  CHECK(objects[2].fields[1].second == "int32");

  const auto copy_path = (dir / "copy.h5").string();
  {
    auto c = h5::File::Create(copy_path);
    c.CopyFrom(f, "/g", "/deep/er/g");
  }
  CHECK(h5::File::Open(copy_path).ReadTable("/deep/er/g/table").String(0, "id") == "a");
}

}  // namespace genre
