// Requantisation kernels: thresholds (FINN's signed bias), scale/shift rounding and saturation, and
// float requantisation as ONNX QLinear operators do it.
#include <catch2/catch.hpp>

#include "KernelTestUtil.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;
using namespace mpsim::test;

TEST_CASE("thresholds: count of thresholds reached, equality counts, FINN signed bias", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 5}, std::vector<int64_t>{-1, 0, 1, 5, 6});
  const AccTensor thr(Shape{1, 1, 1, 2}, std::vector<int64_t>{0, 5});
  CHECK(vals(multiThreshold(acc, thr, ActType{2, false})) == std::vector<int32_t>{0, 1, 1, 2, 2});
  CHECK(vals(multiThreshold(acc, thr, ActType{2, true})) == std::vector<int32_t>{-2, -1, -1, 0, 0});
  // Unsorted thresholds count the same.
  const AccTensor rev(Shape{1, 1, 1, 2}, std::vector<int64_t>{5, 0});
  CHECK(vals(multiThreshold(acc, rev, ActType{2, false})) == std::vector<int32_t>{0, 1, 1, 2, 2});
  // One row per channel.
  const AccTensor acc2(Shape{1, 2, 1, 2}, std::vector<int64_t>{3, 4, 3, 4});
  const AccTensor thr2(Shape{1, 1, 2, 3}, std::vector<int64_t>{1, 2, 4, 4, 4, 4});
  CHECK(vals(multiThreshold(acc2, thr2, ActType{2, false})) == std::vector<int32_t>{2, 3, 0, 3});
  CHECK_THROWS_WITH(multiThreshold(acc, AccTensor(Shape{1, 1, 1, 4}), ActType{2, false}),
                    Catch::Contains("4 thresholds") && Catch::Contains("at most 3"));
  CHECK_THROWS_WITH(multiThreshold(acc2, AccTensor(Shape{1, 1, 3, 1}), ActType{2, false}), Catch::Contains("3 rows"));
}

TEST_CASE("scale/shift: rounding half towards +inf, saturation, overflow", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 6}, std::vector<int64_t>{5, 6, 7, -5, -6, -7});
  ScaleShift p;
  p.shift = {2};
  CHECK(vals(scaleShift(acc, p, ActType{8, true})) == std::vector<int32_t>{1, 2, 2, -1, -1, -2});
  CHECK(vals(scaleShift(acc, p, ActType{2, false})) == std::vector<int32_t>{1, 2, 2, 0, 0, 0});
  p.scale = {3};
  p.bias = {1};
  p.shift = {0};
  CHECK(vals(scaleShift(acc, p, ActType{4, true})) == std::vector<int32_t>{7, 7, 7, -8, -8, -8});
  // Per channel.
  const AccTensor acc2(Shape{1, 2, 1, 2}, std::vector<int64_t>{10, 11, 10, 11});
  ScaleShift pc;
  pc.scale = {1, 3};
  pc.bias = {0, -1};
  pc.shift = {1, 2};
  // ch0: 10/2 = 5, 11/2 = 5.5 -> 6; ch1: 29/4 = 7.25 -> 7, 32/4 = 8.
  CHECK(vals(scaleShift(acc2, pc, ActType{8, false})) == std::vector<int32_t>{5, 6, 7, 8});
  ScaleShift huge;
  huge.scale = {int64_t{1} << 40};
  CHECK_THROWS_WITH(
      scaleShift(AccTensor(Shape{1, 1, 1, 1}, std::vector<int64_t>{int64_t{1} << 30}), huge, ActType{8, true}),
      Catch::Contains("overflows int64"));
  CHECK(roundShift(-1, 1) == 0);  // -0.5 -> 0
  CHECK(roundShift(-3, 1) == -1); // -1.5 -> -1
  CHECK(roundShift(3, 1) == 2);
  CHECK(roundDiv(10, 4) == 3);
  CHECK(roundDiv(-10, 4) == -2);
  CHECK(roundDiv(5, 3) == 2);
  CHECK(roundDiv(-5, 3) == -2);
}

TEST_CASE("float requantisation (ONNX QLinear): round half to even, zero point, saturation", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 6}, std::vector<int64_t>{1, 3, 5, -1, -3, 1000});
  CHECK(vals(requantizeFloat(acc, {0.5}, 0, ActType{8, true})) == std::vector<int32_t>{0, 2, 2, 0, -2, 127});
  CHECK(vals(requantizeFloat(acc, {0.5}, 128, ActType{8, false})) ==
        std::vector<int32_t>{128, 130, 130, 128, 126, 255});
}
