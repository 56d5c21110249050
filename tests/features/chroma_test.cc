#include "genre/features/chroma.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

#include "genre/error.h"
#include "genre/features/frontend.h"

namespace genre {

TEST_CASE("chroma filter bank: shape, unit columns before octave weighting", "[features][chroma]") {
  ChromaOptions o;
  o.octwidth = 0;  // no octave weighting: every column has unit L2 norm
  const Matrix fb = ChromaFilterBank(22050, 2048, o);
  CHECK(fb.rows == 12);
  CHECK(fb.cols == 1025);
  for (std::size_t k = 1; k < fb.cols; ++k) {
    double norm = 0;
    for (std::size_t c = 0; c < 12; ++c) norm += static_cast<double>(fb(c, k)) * fb(c, k);
    REQUIRE(std::sqrt(norm) == Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("a 440 Hz tone is pitch class A, 261.6 Hz is C", "[features][chroma]") {
  const FrontEnd fe;
  const Matrix fb = ChromaFilterBank(22050, 2048);
  for (const auto& [hz, expected] : {std::pair{440.0, 9}, std::pair{261.6256, 0}, std::pair{392.0, 7}}) {
    std::vector<float> y(22050);
    for (std::size_t i = 0; i < y.size(); ++i)
      y[i] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / 22050));
    const Matrix chroma = ChromaFromPower(fe.Compute(y, kPower).power, fb);
    const std::size_t mid = chroma.cols / 2;
    std::size_t best = 0;
    for (std::size_t c = 1; c < 12; ++c)
      if (chroma(c, mid) > chroma(best, mid)) best = c;
    INFO(hz << " Hz");
    CHECK(best == static_cast<std::size_t>(expected));
    CHECK(chroma(best, mid) == 1.0f);  // frames are scaled to a maximum of 1
  }
}

TEST_CASE("chroma options are validated", "[features][chroma][errors]") {
  ChromaOptions o;
  o.tuning = 0.5;
  CHECK_THROWS_WITH(ChromaFilterBank(22050, 2048, o), "chroma.tuning must be in [-0.5, 0.5), got 0.500000");
  o = {};
  o.n_chroma = 0;
  CHECK_THROWS_AS(ChromaFilterBank(22050, 2048, o), OptionError);
  CHECK_THROWS_AS(ChromaFromPower(Matrix(10, 3), ChromaFilterBank(22050, 2048)), InputError);
}

}  // namespace genre
