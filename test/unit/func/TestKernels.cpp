// Pooling, add, label-select and runLayer (the layer-level dispatch) kernels, hand-checked.
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

TEST_CASE("pooling: max ignores padding, averages round half up, global average", "[unit][func]") {
  const Tensor x = T4({1, 1, 4, 4}, {1, 2, 5, 6, 3, 4, 7, 8, -1, -2, 1, 1, -3, -4, 1, 2});
  PoolGeometry g;
  g.kh = g.kw = 2;
  g.stride_h = g.stride_w = 2;
  CHECK(vals(maxPool(x, g)) == std::vector<int32_t>{4, 8, -1, 2});
  // 10/4 = 2.5 -> 3; 26/4 = 6.5 -> 7; -10/4 = -2.5 -> -2; 5/4 = 1.25 -> 1.
  CHECK(vals(avgPool(x, g)) == std::vector<int32_t>{3, 7, -2, 1});
  // Negative plane with padding: the max is -5, not the padding.
  PoolGeometry p3;
  p3.kh = p3.kw = 3;
  p3.pad_h = p3.pad_w = 1;
  p3.stride_h = p3.stride_w = 2;
  const Tensor neg(Shape{1, 1, 3, 3}, -5);
  CHECK(vals(maxPool(neg, p3)) == std::vector<int32_t>{-5, -5, -5, -5});
  // Average with padding: corner window holds 4 values of -5: -20/9 -> -2 (counting padding) or -5.
  CHECK(vals(avgPool(neg, p3, true))[0] == -2);
  CHECK(vals(avgPool(neg, p3, false)) == std::vector<int32_t>{-5, -5, -5, -5});
  // Dilation 2 on the 4x4 plane: window {x00, x02, x20, x22} = {1, 5, -1, 1}.
  PoolGeometry d;
  d.kh = d.kw = 2;
  d.dil_h = d.dil_w = 2;
  CHECK(vals(maxPool(x, d)) == std::vector<int32_t>{5, 6, 7, 8});
  CHECK(vals(globalAvgPool(T4({1, 2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 2}))) == std::vector<int32_t>{3, 1});
  CHECK(globalAvgPool(T4({1, 2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 2})).shape() == Shape{1, 2, 1, 1});
  PoolGeometry bad;
  bad.kh = bad.kw = 2;
  bad.pad_h = bad.pad_w = 2;
  CHECK_THROWS_WITH(maxPool(x, bad), Catch::Contains("padding must be smaller"));
}

TEST_CASE("add: both inputs rescaled, rounded and saturated", "[unit][func]") {
  const Tensor a = T4({1, 1, 1, 2}, {3, -3}), b = T4({1, 1, 1, 2}, {1, 1});
  AddParams p;
  p.scale_a = 2;
  p.scale_b = 3;
  p.shift = 1;
  // (6 + 3) / 2 = 4.5 -> 5; (-6 + 3) / 2 = -1.5 -> -1
  CHECK(vals(add(a, b, p, ActType{8, true})) == std::vector<int32_t>{5, -1});
  CHECK(vals(add(a, b, p, ActType{2, false})) == std::vector<int32_t>{3, 0});
  CHECK(vals(add(a, b, AddParams{}, ActType{8, true})) == std::vector<int32_t>{4, -2});
  CHECK_THROWS_WITH(add(a, T4({1, 2, 1, 1}, {1, 1}), p, ActType{8, true}), Catch::Contains("shapes differ"));
}

TEST_CASE("runLayer: conv + thresholds, fc + scale/shift, quantizer, concat", "[unit][func]") {
  graph::Layer l;
  l.name = "c";
  l.kind = graph::LayerKind::Conv;
  l.kh = l.kw = 2;
  l.out_channels = 1;
  l.weight_bits = 2;
  l.in = ActType{4, false};
  l.out = ActType{2, false};
  l.requant = graph::Requant::Thresholds;
  LayerParams p;
  p.weights = T4({1, 1, 2, 2}, {1, 1, 1, 1});
  p.thresholds = AccTensor(Shape{1, 1, 1, 3}, std::vector<int64_t>{13, 16, 25});
  const Tensor x = T4({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  // acc {12, 16, 24, 28} -> {0, 2, 2, 3}
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{0, 2, 2, 3});
  l.requant = graph::Requant::ScaleShift;
  p.scale.shift = {3}; // {1.5, 2, 3, 3.5} -> {2, 2, 3, 4} -> saturate to 3
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{2, 2, 3, 3});
  l.requant = graph::Requant::None;
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{3, 3, 3, 3});

  graph::Layer cat;
  cat.kind = graph::LayerKind::Concat;
  const Tensor a = T4({1, 1, 1, 2}, {1, 2}), b = T4({1, 2, 1, 2}, {3, 4, 5, 6});
  const Tensor c = runLayer(cat, {&a, &b}, LayerParams{});
  CHECK(c.shape() == Shape{1, 3, 1, 2});
  CHECK(vals(c) == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("labelSelect: k largest in descending order, ties to the lower index, per frame", "[unit][func]") {
  // Two frames of 6 scores, signed; frame 0 has a three-way tie at 5 and a tie at -2.
  const Tensor x = T4({2, 6, 1, 1}, {5, -2, 5, 7, -2, 5, /**/ -8, -8, -8, 3, -8, 3});
  CHECK(vals(labelSelect(x, 1)) == std::vector<int32_t>{3, 3});
  const Tensor t3 = labelSelect(x, 3);
  CHECK(t3.shape() == Shape{2, 3, 1, 1});
  CHECK(vals(t3) == std::vector<int32_t>{3, 0, 2, /**/ 3, 5, 0});
  CHECK(vals(labelSelect(x, 6)) == std::vector<int32_t>{3, 0, 2, 5, 1, 4, /**/ 3, 5, 0, 1, 2, 4});
  // All equal: the indices in order.
  CHECK(vals(labelSelect(T4({1, 4, 1, 1}, {9, 9, 9, 9}), 4)) == std::vector<int32_t>{0, 1, 2, 3});
  // A (C, H, W) frame is read in C order (as a flatten would): index c*H*W + h*W + w.
  const Tensor sp = T4({1, 2, 2, 2}, {0, 1, 2, 3, 4, 9, 6, 9});
  CHECK(vals(labelSelect(sp, 3)) == std::vector<int32_t>{5, 7, 6});
  // k outside 1..C.
  CHECK_THROWS_WITH(labelSelect(x, 0), Catch::Contains("labelselect: k = 0 is outside 1..6"));
  CHECK_THROWS_WITH(labelSelect(x, 7), Catch::Contains("labelselect: k = 7 is outside 1..6"));

  // runLayer dispatches on the layer's k.
  graph::Layer l;
  l.name = "top";
  l.kind = graph::LayerKind::LabelSelect;
  l.topk = 2;
  CHECK(vals(runLayer(l, {&x}, LayerParams{})) == std::vector<int32_t>{3, 0, /**/ 3, 5});
}
