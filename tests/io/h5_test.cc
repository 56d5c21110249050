#include "genre/io/h5.h"

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

TEST_CASE("HDF5 errors name the file and the object", "[io][errors]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(h5::File::Open((dir / "missing.h5").string()),
                    (dir / "missing.h5").string() + ": cannot open: No such file or directory");
  test::WriteBytes(dir / "text.h5", "not hdf5 at all");
  CHECK_THROWS_AS(h5::File::Open((dir / "text.h5").string()), FormatError);
  CHECK_THROWS_WITH(h5::File::Open((dir / "text.h5").string()),
                    (dir / "text.h5").string() + ": not an HDF5 file");
  const auto golden = test::Golden("short_0.3s");
  CHECK_THROWS_WITH(h5::File::Open(golden.string()).Read("/frames/missing"),
                    golden.string() + ": no dataset '/frames/missing'");
}

}  // namespace genre
