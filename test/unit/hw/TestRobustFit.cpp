// The robust fit of `mpsim calibrate` (hw/RobustFit): non-negative least squares of relative
// errors with Huber weights.
#include <catch2/catch.hpp>

#include <cmath>

#include "mpsim/hw/RobustFit.hpp"

using namespace mpsim;

namespace {
// Synthetic nodes: measured = fixed + 40 + 0.5 * t1 + 13 * t2 (a known MVAU-like LUT form).
std::vector<hw::FitSample> synthetic() {
  std::vector<hw::FitSample> s;
  for (int i = 0; i < 12; ++i) {
    const double base = 1, t1 = 16.0 * (i + 1), t2 = 8.0 + 3 * (i % 5), fixed = 10.0 * (i % 3);
    s.push_back({fixed + 40 * base + 0.5 * t1 + 13 * t2, fixed, {base, t1, t2}});
  }
  return s;
}
} // namespace

TEST_CASE("the fit recovers known coefficients", "[unit][calibrate]") {
  const auto r = hw::robustFit(synthetic(), 3);
  REQUIRE(r.x.size() == 3);
  CHECK(r.x[0] == Approx(40).epsilon(1e-6));
  CHECK(r.x[1] == Approx(0.5).epsilon(1e-6));
  CHECK(r.x[2] == Approx(13).epsilon(1e-6));
}

TEST_CASE("one outlier does not move the robust fit", "[unit][calibrate]") {
  auto s = synthetic();
  s[4].measured *= 3; // a node synthesised with something else in it
  const auto r = hw::robustFit(s, 3);
  CHECK(r.x[1] == Approx(0.5).epsilon(0.02));
  CHECK(r.x[2] == Approx(13).epsilon(0.02));
  CHECK(r.weights[4] < 0.2);
  // The other nodes keep their exact fit.
  double err = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (i != 4) err = std::max(err, std::fabs(hw::predict(s[i], r.x) - s[i].measured) / s[i].measured);
  CHECK(err < 0.02);
}

TEST_CASE("coefficients stay non-negative", "[unit][calibrate]") {
  std::vector<hw::FitSample> s;
  for (int i = 1; i <= 6; ++i) s.push_back({10.0 * i, 0, {double(i), 1.0}}); // exact with x = (10, 0)
  s.push_back({5, 0, {0.5, 1.0}});
  const auto r = hw::robustFit(s, 2);
  CHECK(r.x[0] > 0);
  CHECK(r.x[1] >= 0);
}

TEST_CASE("percentiles interpolate between ranks", "[unit][calibrate]") {
  CHECK(hw::percentile({0, 1, 2, 3, 4}, 0.1) == Approx(0.4));
  CHECK(hw::percentile({0, 1, 2, 3, 4}, 0.9) == Approx(3.6));
  CHECK(hw::median({3, 1, 2}) == Approx(2));
  CHECK(hw::robustFit({}, 2).x == std::vector<double>{0, 0});
}
