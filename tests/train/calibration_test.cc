#include "genre/train/calibration.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "genre/error.h"
#include "support.h"

namespace genre {

namespace {

int Argmax(const std::vector<float>& p) { return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()); }

std::vector<float> Softmax(const std::vector<double>& z) {
  const double top = *std::max_element(z.begin(), z.end());
  std::vector<double> e(z.size());
  double sum = 0;
  for (std::size_t k = 0; k < z.size(); ++k) sum += e[k] = std::exp(z[k] - top);
  std::vector<float> p(z.size());
  for (std::size_t k = 0; k < z.size(); ++k) p[k] = static_cast<float>(e[k] / sum);
  return p;
}

// Tracks whose true class is drawn from softmax(z) (so softmax(z) is calibrated by
// construction), predicted as softmax(z * sharpen): over-confident for sharpen > 1.
void Synthetic(double sharpen, std::vector<std::vector<float>>& probs, std::vector<int>& truth) {
  std::mt19937 rng(20240611);
  std::normal_distribution<double> logit(0.0, 1.5);
  constexpr int kTracks = 4000, kClasses = 6;
  for (int i = 0; i < kTracks; ++i) {
    std::vector<double> z(kClasses), zs(kClasses);
    for (double& v : z) v = logit(rng);
    const std::vector<float> q = Softmax(z);
    std::discrete_distribution<int> draw(q.begin(), q.end());
    truth.push_back(draw(rng));
    for (int k = 0; k < kClasses; ++k) zs[k] = z[k] * sharpen;
    probs.push_back(Softmax(zs));
  }
}

}  // namespace

TEST_CASE("ApplyTemperature: a distribution with the same argmax, T > 1 flattens, T < 1 sharpens",
          "[train][calibration]") {
  const std::vector<float> p = {0.1f, 0.6f, 0.25f, 0.05f};
  for (double t : {0.05, 0.3, 1.0, 2.0, 20.0}) {
    const std::vector<float> q = ApplyTemperature(p, t);
    REQUIRE(q.size() == p.size());
    CHECK(std::accumulate(q.begin(), q.end(), 0.0) == Approx(1.0).epsilon(1e-6));
    CHECK(Argmax(q) == 1);
  }
  CHECK(ApplyTemperature(p, 2.0)[1] < 0.6f);
  CHECK(ApplyTemperature(p, 2.0)[3] > 0.05f);
  CHECK(ApplyTemperature(p, 0.5)[1] > 0.6f);
  CHECK(ApplyTemperature(p, 0.5)[3] < 0.05f);
  // softmax(log p / 2) is sqrt(p) renormalised.
  const double root_sum = std::sqrt(0.1) + std::sqrt(0.6) + std::sqrt(0.25) + std::sqrt(0.05);
  CHECK(ApplyTemperature(p, 2.0)[0] == Approx(std::sqrt(0.1) / root_sum).epsilon(1e-5));
  // T = 1: the input renormalised; zeros stay zero there and are floored elsewhere.
  const std::vector<float> q1 = ApplyTemperature({0.2f, 0.2f, 0.0f}, 1.0);
  CHECK(q1 == std::vector<float>{0.5f, 0.5f, 0.0f});
  CHECK(ApplyTemperature({0.0f, 0.0f}, 1.0) == std::vector<float>{0.5f, 0.5f});
  CHECK(ApplyTemperature({1.0f, 0.0f}, 3.0)[1] == Approx(1e-4).epsilon(1e-3));  // (1e-12)^(1/3)
  CHECK(ApplyTemperature({}, 2.0).empty());
  CHECK_THAT(test::MessageOf<OptionError>([&] { ApplyTemperature(p, 0.0); }),
             Catch::Contains("temperature must be finite and > 0, got 0"));
  CHECK_THROWS_AS(ApplyTemperature(p, std::nan("")), OptionError);
}

TEST_CASE("Calibration: ECE, NLL and accuracy by hand", "[train][calibration]") {
  // Confidences 0.95 (right), 0.95 (wrong), 0.65 (right), 0.75 (right: the last is top).
  const std::vector<std::vector<float>> p = {{0.95f, 0.05f}, {0.95f, 0.05f}, {0.35f, 0.65f}, {0.25f, 0.75f}};
  const std::vector<int> t = {0, 1, 1, 1};
  const CalibrationReport r = Calibration(p, t, 10);
  CHECK(r.accuracy == Approx(0.75));
  CHECK(r.nll == Approx((-std::log(0.95) - std::log(0.05) - std::log(0.65) - std::log(0.75)) / 4).epsilon(1e-6));
  // Bins: [0.9, 1.0): acc 0.5, conf 0.95, n 2; [0.6, 0.7): 1 vs 0.65; [0.7, 0.8): 1 vs 0.75.
  CHECK(r.ece == Approx((0.45 * 2 + 0.35 + 0.25) / 4).epsilon(1e-6));
  // One bin: |accuracy - mean confidence|.
  CHECK(Calibration(p, t, 1).ece == Approx(std::abs(0.75 - (0.95 + 0.95 + 0.65 + 0.75) / 4)).epsilon(1e-6));
  // A confidence of exactly 1 falls in the last bin; a right, certain track is calibrated.
  const CalibrationReport sure = Calibration({{1.0f, 0.0f}}, {0});
  CHECK(sure.ece == Approx(0.0).margin(1e-12));
  CHECK(sure.nll == Approx(0.0).margin(1e-12));
  CHECK(Calibration({{0.0f, 1.0f}}, {0}).nll == Approx(-std::log(1e-12)));
  CHECK_THAT(test::MessageOf<OptionError>([&] { Calibration(p, t, 0); }), Catch::Contains("bins must be >= 1, got 0"));
}

TEST_CASE("FitTemperature recovers the over-confidence of synthetic predictions", "[train][calibration]") {
  for (double sharpen : {2.5, 0.5}) {
    std::vector<std::vector<float>> probs;
    std::vector<int> truth;
    Synthetic(sharpen, probs, truth);
    const double t = FitTemperature(probs, truth);
    INFO("generated with T = " << sharpen << ", fitted " << t);
    CHECK(t == Approx(sharpen).epsilon(0.10));
    const CalibrationReport before = Calibration(probs, truth);
    std::vector<std::vector<float>> scaled;
    for (const auto& p : probs) scaled.push_back(ApplyTemperature(p, t));
    const CalibrationReport after = Calibration(scaled, truth);
    CHECK(after.ece < before.ece);
    CHECK(after.ece < 0.03);
    CHECK(after.nll < before.nll);
    CHECK(after.accuracy == before.accuracy);  // the argmax does not move
    // The fitted T is a minimum: a little either way is worse.
    for (double f : {0.95, 1.05}) {
      std::vector<std::vector<float>> other;
      for (const auto& p : probs) other.push_back(ApplyTemperature(p, t * f));
      CHECK(Calibration(other, truth).nll > after.nll);
    }
    CHECK(FitTemperature(probs, truth) == t);  // deterministic
  }
  // Calibrated already: T near 1.
  std::vector<std::vector<float>> probs;
  std::vector<int> truth;
  Synthetic(1.0, probs, truth);
  CHECK(FitTemperature(probs, truth) == Approx(1.0).epsilon(0.10));
  // Always right with some doubt: sharpen as far as allowed; always wrong: flatten.
  CHECK(FitTemperature({{0.7f, 0.3f}, {0.2f, 0.8f}}, {0, 1}) == Approx(kMinTemperature));
  CHECK(FitTemperature({{0.7f, 0.3f}, {0.2f, 0.8f}}, {1, 0}) == Approx(kMaxTemperature));
}

TEST_CASE("FitTemperature and Calibration refuse bad input", "[train][calibration]") {
  const std::vector<std::vector<float>> p = {{0.9f, 0.1f}, {0.4f, 0.6f}};
  CHECK_THAT(test::MessageOf<InputError>([&] { FitTemperature({}, {}); }),
             Catch::Equals("FitTemperature: no predictions"));
  CHECK_THAT(test::MessageOf<InputError>([&] { FitTemperature(p, {0}); }),
             Catch::Equals("FitTemperature: 2 predictions but 1 true classes"));
  CHECK_THAT(test::MessageOf<InputError>([&] {
               FitTemperature(p, {0, 2});
             }),
             Catch::Equals("FitTemperature: true class 2 of prediction 1 is not in [0, 2)"));
  CHECK_THAT(test::MessageOf<InputError>([&] {
               FitTemperature(p, {-1, 0});
             }),
             Catch::Contains("true class -1 of prediction 0"));
  CHECK_THAT(test::MessageOf<InputError>([&] {
               FitTemperature({{0.5f, 0.5f}, {1.0f}}, {0, 0});
             }),
             Catch::Contains("prediction 1 has 1 classes, the first 2"));
  CHECK_THAT(test::MessageOf<InputError>([&] {
               FitTemperature({{0.5f, std::nanf("")}}, {0});
             }),
             Catch::Contains("must be finite and >= 0"));
  CHECK_THAT(test::MessageOf<InputError>([&] { FitTemperature({{}}, {0}); }), Catch::Contains("no classes"));
  CHECK_THAT(test::MessageOf<InputError>([&] { Calibration({}, {}); }), Catch::Equals("Calibration: no predictions"));
  CHECK_THROWS_AS(Calibration(p, {0, 1, 1}), InputError);
  CHECK_THROWS_AS(Calibration(p, {0, 5}), InputError);
}

}  // namespace genre
