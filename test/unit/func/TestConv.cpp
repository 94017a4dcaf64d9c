// Convolution and fully-connected kernels: hand-checked stride, padding, dilation, groups and
// depthwise; bipolar operands; operand ranges, per-channel weight widths; accumulator widths.
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

TEST_CASE("conv: hand-checked stride, padding, dilation, groups, depthwise", "[unit][func]") {
  const Tensor x = T4({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor ones = T4({1, 1, 2, 2}, {1, 1, 1, 1});
  const Operand u4{4, OperandKind::Unsigned}, s2{2, OperandKind::Signed};
  AccTensor y = conv2d(x, u4, ones, {s2}, geom(1, 2, 2));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(vals(y) == std::vector<int64_t>{12, 16, 24, 28});
  y = conv2d(x, u4, ones, {s2}, geom(1, 2, 2, 1, 1));
  CHECK(y.shape() == Shape{1, 1, 4, 4});
  CHECK(vals(y) == std::vector<int64_t>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});

  // 5x5 ramp x[i][j] = 5i + j, w = [[1,2],[3,-1]], stride 2, dilation 2:
  // y = x[2p][2q] + 2 x[2p][2q+2] + 3 x[2p+2][2q] - x[2p+2][2q+2] = 5 v + 22, v = 10p + 2q.
  Tensor ramp(Shape{1, 1, 5, 5});
  for (int i = 0; i < 25; ++i) ramp[static_cast<std::size_t>(i)] = i;
  const Operand s3{3, OperandKind::Signed}, u5{5, OperandKind::Unsigned};
  y = conv2d(ramp, u5, T4({1, 1, 2, 2}, {1, 2, 3, -1}), {s3}, geom(1, 2, 2, 2, 0, 2));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(vals(y) == std::vector<int64_t>{22, 32, 72, 82});

  // Two groups of 2 channels: y0 = x0 + x1, y1 = x2 - x3.
  y = conv2d(T4({1, 4, 1, 1}, {1, 2, 3, 4}), u4, T4({2, 2, 1, 1}, {1, 1, 1, -1}), {s2}, geom(2, 1, 1, 1, 0, 1, 2));
  CHECK(vals(y) == std::vector<int64_t>{3, -1});

  // Depthwise 3 channels: each plane scaled by its own weight.
  const Tensor dwx = T4({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  y = conv2d(dwx, u4, T4({3, 1, 1, 1}, {2, -1, 3}), {s3}, geom(3, 1, 1, 1, 0, 1, 3));
  CHECK(vals(y) == std::vector<int64_t>{2, 4, -3, -4, 15, 18});

  // Output channels not a multiple of 4 (exercise both the 4-channel blocks and the remainder).
  Tensor w5(Shape{5, 1, 1, 1}, std::vector<int32_t>{1, 2, 3, -1, -2});
  y = conv2d(T4({1, 1, 1, 1}, {7}), u4, w5, {s3}, geom(5, 1, 1));
  CHECK(vals(y) == std::vector<int64_t>{7, 14, 21, -7, -14});
}

TEST_CASE("conv/fc: bipolar operands decode bit 1 as +1 and bit 0 as -1", "[unit][func]") {
  const Operand s4{4, OperandKind::Signed};
  // x = [5, 7, 2]; w rows [1,0,1] -> [+1,-1,+1] and [0,0,1] -> [-1,-1,+1].
  const Tensor x = T4({1, 3, 1, 1}, {5, 7, 2});
  AccTensor y = fullyConnected(x, s4, T4({2, 3, 1, 1}, {1, 0, 1, 0, 0, 1}), {kBip}, 2);
  CHECK(y.shape() == Shape{1, 2, 1, 1});
  CHECK(vals(y) == std::vector<int64_t>{0, -10});
  // Bipolar x bipolar: (+1)(+1) + (+1)(-1) + (-1)(-1) + (+1)(+1) = 2.
  y = fullyConnected(T4({1, 4, 1, 1}, {1, 1, 0, 1}), kBip, T4({1, 4, 1, 1}, {1, 0, 0, 1}), {kBip}, 1);
  CHECK(vals(y) == std::vector<int64_t>{2});
  // Padding adds nothing, also for bipolar activations (stored bit 0 would mean -1): an all-+1
  // 3x3 image under all-ones 3x3 weights with padding 1 gives 4 at the corners, 6 at the edges and
  // 9 in the middle, in a regular and in a depthwise convolution.
  const Operand s2{2, OperandKind::Signed};
  const std::vector<int64_t> padded{4, 6, 4, 6, 9, 6, 4, 6, 4};
  y = conv2d(Tensor(Shape{1, 1, 3, 3}, std::vector<int32_t>(9, 1)), kBip,
             Tensor(Shape{1, 1, 3, 3}, std::vector<int32_t>(9, 1)), {s2}, geom(1, 3, 3, 1, 1));
  CHECK(vals(y) == padded);
  y = conv2d(Tensor(Shape{1, 2, 3, 3}, std::vector<int32_t>(18, 1)), kBip,
             Tensor(Shape{2, 1, 3, 3}, std::vector<int32_t>(18, 1)), {s2}, geom(2, 3, 3, 1, 1, 1, 2));
  std::vector<int64_t> twice = padded;
  twice.insert(twice.end(), padded.begin(), padded.end());
  CHECK(vals(y) == twice);
  // Bipolar storage must be bits.
  CHECK_THROWS_WITH(fullyConnected(x, s4, T4({1, 3, 1, 1}, {1, -1, 1}), {kBip}, 1),
                    Catch::Contains("weights") && Catch::Contains("flat index 1") && Catch::Contains("bipolar"));
  // Layer-level weight types: bipolar ignores weight_bits.
  graph::Layer l;
  l.kind = graph::LayerKind::FullyConnected;
  l.out_channels = 2;
  l.weight_type = graph::WeightType::Bipolar;
  l.weight_bits = 1;
  l.in = ActType{4, true};
  CHECK(vals(weightedLayer(l, x, T4({2, 3, 1, 1}, {1, 0, 1, 0, 0, 1}))) == std::vector<int64_t>{0, -10});
}

TEST_CASE("conv: operand ranges, per-channel weight widths and 1-bit / 16-bit extremes", "[unit][func]") {
  const Operand u4{4, OperandKind::Unsigned};
  const Tensor x = T4({1, 2, 1, 1}, {15, 3});
  CHECK_THROWS_WITH(conv2d(T4({1, 2, 1, 1}, {16, 3}), u4, T4({1, 2, 1, 1}, {1, 1}), {kS8}, geom(1, 1, 1)),
                    Catch::Contains("conv input") && Catch::Contains("value 16") && Catch::Contains("uint4"));
  // Channel 0 is int2 ([-2, 1]), channel 1 int4: weight 2 is legal only in channel 1.
  const std::vector<Operand> perCh{{2, OperandKind::Signed}, {4, OperandKind::Signed}};
  CHECK(vals(conv2d(x, u4, T4({2, 2, 1, 1}, {1, -2, 2, 7}), perCh, geom(2, 1, 1))) ==
        std::vector<int64_t>{15 - 6, 30 + 21});
  CHECK_THROWS_WITH(conv2d(x, u4, T4({2, 2, 1, 1}, {2, -2, 2, 7}), perCh, geom(2, 1, 1)),
                    Catch::Contains("output channel 0") && Catch::Contains("int2"));
  CHECK_THROWS_WITH(conv2d(x, u4, T4({2, 2, 1, 1}, {1, 1, 1, 1}), {kS8, kS8, kS8}, geom(2, 1, 1)),
                    Catch::Contains("3 weight types for 2 output channels"));
  // 1-bit signed is {-1, 0}, 1-bit unsigned {0, 1}.
  const Operand s1{1, OperandKind::Signed}, u1{1, OperandKind::Unsigned};
  CHECK(vals(conv2d(T4({1, 2, 1, 1}, {1, 1}), u1, T4({1, 2, 1, 1}, {-1, -1}), {s1}, geom(1, 1, 1))) ==
        std::vector<int64_t>{-2});
  CHECK_THROWS(conv2d(T4({1, 2, 1, 1}, {1, 1}), u1, T4({1, 2, 1, 1}, {1, 0}), {s1}, geom(1, 1, 1)));
  // int16 x int16 extremes: 4 * (-32768)^2 = 2^32 needs the int64 path.
  const Operand s16{16, OperandKind::Signed}, u16{16, OperandKind::Unsigned};
  CHECK(vals(conv2d(T4({1, 4, 1, 1}, {-32768, -32768, -32768, -32768}), s16,
                    T4({1, 4, 1, 1}, {-32768, -32768, -32768, -32768}), {s16}, geom(1, 1, 1))) ==
        std::vector<int64_t>{int64_t{1} << 32});
  // uint16 does not fit the int16 fast path.
  CHECK(vals(conv2d(T4({1, 2, 1, 1}, {65535, 65535}), u16, T4({1, 2, 1, 1}, {32767, 1}), {s16}, geom(1, 1, 1))) ==
        std::vector<int64_t>{int64_t{65535} * 32768});
  CHECK_THROWS_WITH(conv2d(x, u4, T4({1, 2, 3, 3}, std::vector<int32_t>(18, 0)), {kS8}, geom(1, 1, 1)),
                    Catch::Contains("shape 1x2x3x3, expected 1x2x1x1"));
  CHECK_THROWS_WITH(conv2d(T4({1, 3, 1, 1}, {1, 1, 1}), u4, T4({2, 1, 1, 1}, {1, 1}), {kS8}, geom(2, 1, 1, 1, 0, 1, 2)),
                    Catch::Contains("groups 2 must divide"));
}

TEST_CASE("accumulator width follows the operand ranges", "[unit][func]") {
  const Operand s16{16, OperandKind::Signed}, u16{16, OperandKind::Unsigned};
  CHECK(accumulatorBound(kU8, kS8, 576) == 576u * 255u * 128u);
  CHECK(accumulatorWidth(kU8, kS8, 576) == AccWidth::Int32);
  CHECK(accumulatorBound(kBip, kBip, 1000) == 1000u);
  CHECK(accumulatorWidth(s16, s16, 1) == AccWidth::Int32);     // 2^30
  CHECK(accumulatorWidth(s16, s16, 2) == AccWidth::Int64);     // 2^31 > INT32_MAX
  CHECK(accumulatorWidth(kU8, kS8, 65793) == AccWidth::Int32); // 65793 * 32640 = 2147483520
  CHECK(accumulatorWidth(kU8, kS8, 65794) == AccWidth::Int64);
  CHECK_NOTHROW(accumulatorBound(u16, u16, int64_t{1} << 30));
  CHECK_THROWS_WITH(accumulatorBound(u16, u16, int64_t{1} << 32), Catch::Contains("could exceed int64"));
  CHECK_THROWS_WITH(accumulatorBound(Operand{17, OperandKind::Signed}, kS8, 1), Catch::Contains("1..16"));
}
