// The batched kernel paths of the functional simulation against the per-input reference paths on
// random data: PreparedConv::runWindows (many windows as one GEMM-like call, in (C, kh, kw) or
// channel-last order; int8-stored weights) against PreparedConv::run of each window alone, and PreparedRequant (thresholds checked once,
// branch-free searches four channels at a time) against a plain count and exact scale/shift
// arithmetic written here. Widths 1..8 (and 16, the int64 path), signed, unsigned and bipolar.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "mpsim/func/Kernels.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;

namespace {

Operand randomOperand(std::mt19937_64& rng, int maxBits) {
  const int kind = int(rng() % 3);
  if (kind == 2) return {1, OperandKind::Bipolar};
  return {1 + int(rng() % uint64_t(maxBits)), kind == 0 ? OperandKind::Signed : OperandKind::Unsigned};
}

int32_t randomValue(std::mt19937_64& rng, const Operand& t) {
  return int32_t(t.storedMin() + int64_t(rng() % uint64_t(t.storedMax() - t.storedMin() + 1)));
}

} // namespace

TEST_CASE("runWindows equals run() of each window alone (widths 1..8 and 16, all kinds, groups)", "[unit][func]") {
  std::mt19937_64 rng(20261203);
  int cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int maxBits = trial % 10 == 9 ? 16 : 8;
    const Operand xt = randomOperand(rng, maxBits);
    ConvGeometry g;
    g.kh = 1 + int(rng() % 3);
    g.kw = 1 + int(rng() % 3);
    const int groupsKind = int(rng() % 3); // 1, 2 or depthwise
    const int64_t Cg = groupsKind == 2 ? 1 : 1 + int64_t(rng() % 19);
    g.groups = groupsKind == 0 ? 1 : groupsKind == 1 ? 2 : 1 + int(rng() % 6);
    const int64_t C = Cg * g.groups;
    g.out_channels = int64_t(g.groups) * (groupsKind == 2 ? 1 : 1 + int64_t(rng() % 11));
    const int64_t K = g.out_channels, taps = Cg * g.kh * g.kw;
    // One weight type, or one per output channel.
    std::vector<Operand> wt;
    if (rng() % 3 == 0) {
      for (int64_t k = 0; k < K; ++k) wt.push_back(randomOperand(rng, maxBits));
    } else {
      wt.push_back(randomOperand(rng, maxBits));
    }
    Tensor w(Shape{K, Cg, g.kh, g.kw});
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < taps; ++i)
        w[size_t(k * taps + i)] = randomValue(rng, wt.size() == 1 ? wt[0] : wt[size_t(k)]);
    const PreparedConv conv(w, wt, xt, g, C);
    const int64_t count = 1 + int64_t(rng() % 40); // odd counts and partial blocks of 16
    const int64_t L = C * g.kh * g.kw;
    REQUIRE(conv.windowLength() == L);
    std::vector<std::vector<int32_t>> windows(static_cast<size_t>(count), std::vector<int32_t>(static_cast<size_t>(L)));
    // The same windows channel-last, (kh, kw, C), as the functional simulation's SWU emits them.
    const bool last = rng() % 2 == 0;
    const int64_t kk = int64_t(g.kh) * g.kw;
    std::vector<std::vector<int32_t>> channelLast;
    std::vector<const int32_t*> rows;
    for (auto& v : windows) {
      for (auto& e : v) e = randomValue(rng, xt);
      std::vector<int32_t> t(v.size());
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < kk; ++p) t[size_t(p * C + c)] = v[size_t(c * kk + p)];
      channelLast.push_back(std::move(t));
    }
    for (int64_t b = 0; b < count; ++b) rows.push_back(last ? channelLast[size_t(b)].data() : windows[size_t(b)].data());
    std::vector<int64_t> got(size_t(count * K), -7);
    conv.runWindows(rows.data(), count, got.data(),
                    last ? PreparedConv::WindowOrder::ChannelLast : PreparedConv::WindowOrder::ChannelMajor);
    for (int64_t b = 0; b < count; ++b) {
      const AccTensor want = conv.run(Tensor(Shape{1, C, g.kh, g.kw}, windows[size_t(b)]));
      REQUIRE(want.size() == size_t(K));
      for (int64_t k = 0; k < K; ++k) {
        INFO("trial " << trial << (last ? " channel-last" : "") << " x " << xt.str() << " C " << C << " K " << K << " groups " << g.groups << " kernel "
                      << g.kh << "x" << g.kw << " window " << b << " channel " << k);
        REQUIRE(got[size_t(b * K + k)] == want[size_t(k)]);
      }
    }
    ++cases;
  }
  CHECK(cases == 300);
}

TEST_CASE("runWindows: an operand outside its type is an error naming it, and the geometry is checked", "[unit][func]") {
  ConvGeometry g;
  g.kh = g.kw = 1;
  g.out_channels = 2;
  const Tensor w(Shape{2, 3, 1, 1}, std::vector<int32_t>{1, -1, 0, 1, 1, 1});
  const PreparedConv conv(w, {Operand{2, OperandKind::Signed}}, Operand{4, OperandKind::Unsigned}, g, 3);
  const std::vector<int32_t> ok{1, 2, 3}, bad{1, 16, 3};
  const int32_t* rows[2] = {ok.data(), bad.data()};
  std::vector<int64_t> out(4);
  CHECK_THROWS_WITH(conv.runWindows(rows, 2, out.data()),
                    Catch::Contains("conv input") && Catch::Contains("16") && Catch::Contains("uint4"));
  conv.runWindows(rows, 1, out.data());
  CHECK(out[0] == 1 - 2);
  CHECK(out[1] == 6);
  ConvGeometry padded = g;
  padded.pad_h = 1;
  const PreparedConv pc(w, {Operand{2, OperandKind::Signed}}, Operand{4, OperandKind::Unsigned}, padded, 3);
  CHECK_THROWS_WITH(pc.runWindows(rows, 1, out.data()), Catch::Contains("stride 1, no padding"));
}

TEST_CASE("PreparedRequant: thresholds (sorted, unsorted, shared, ties) equal a plain count", "[unit][func]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const bool bipolar = trial % 9 == 0;
    const ActType out = bipolar ? ActType::makeBipolar() : ActType{1 + int(rng() % 8), rng() % 2 == 0};
    const int64_t levels = out.thresholdCount();
    const int64_t T = 1 + int64_t(rng() % uint64_t(levels)); // 1 .. 2^bits - 1 thresholds
    const int64_t C = 1 + int64_t(rng() % 13);
    const bool shared = rng() % 4 == 0;
    const int64_t rows = shared ? 1 : C;
    AccTensor th(Shape{1, 1, rows, T});
    for (auto& v : th.values()) v = int64_t(rng() % 61) - 30; // a narrow range: many ties
    for (int64_t r = 0; r < rows; ++r)
      if (rng() % 5 != 0) std::sort(th.data() + r * T, th.data() + (r + 1) * T); // most rows sorted
    const PreparedRequant q(th, out, C);
    const int64_t bias = bipolar || !out.is_signed ? 0 : -(int64_t{1} << (out.bits - 1));
    for (int rep = 0; rep < 5; ++rep) {
      const int64_t rowsIn = 1 + int64_t(rng() % 11); // one token, or a batch (four rows in lockstep)
      std::vector<int64_t> acc(static_cast<size_t>(rowsIn * C));
      for (auto& a : acc) a = int64_t(rng() % 71) - 35;
      std::vector<int32_t> y(static_cast<size_t>(rowsIn * C), -99);
      if (rowsIn == 1)
        q.apply(acc.data(), y.data());
      else
        q.apply(acc.data(), rowsIn, y.data());
      for (int64_t b = 0; b < rowsIn; ++b)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t* row = th.data() + (shared ? 0 : c) * T;
          const int64_t a = acc[size_t(b * C + c)];
          int64_t want = bias;
          for (int64_t t = 0; t < T; ++t) want += a >= row[t];
          INFO("trial " << trial << " T " << T << " row " << b << " channel " << c << " acc " << a);
          REQUIRE(y[size_t(b * C + c)] == want);
          REQUIRE(q.value(c, a) == want);
        }
    }
  }
}

TEST_CASE("PreparedRequant: scale/shift and saturation equal exact arithmetic", "[unit][func]") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    graph::Layer l;
    l.out = ActType{1 + int(rng() % 8), rng() % 2 == 0};
    const int64_t C = 1 + int64_t(rng() % 9);
    LayerParams p;
    l.requant = trial % 4 == 0 ? graph::Requant::None : graph::Requant::ScaleShift;
    p.scale.scale.clear();
    p.scale.shift.clear();
    for (int64_t c = 0; c < C; ++c) {
      p.scale.scale.push_back(int64_t(rng() % 15) - 7);
      p.scale.bias.push_back(int64_t(rng() % 2001) - 1000);
      p.scale.shift.push_back(int(rng() % 12));
    }
    const PreparedRequant q(l, p, C);
    const int64_t lo = l.out.is_signed ? -(int64_t{1} << (l.out.bits - 1)) : 0;
    const int64_t hi = l.out.is_signed ? (int64_t{1} << (l.out.bits - 1)) - 1 : (int64_t{1} << l.out.bits) - 1;
    std::vector<int64_t> acc(static_cast<size_t>(C));
    for (auto& a : acc) a = int64_t(rng() % 20001) - 10000;
    std::vector<int32_t> y(static_cast<size_t>(C));
    if (trial % 2)
      q.apply(acc.data(), y.data());
    else
      q.apply(acc.data(), 1, y.data());
    for (int64_t c = 0; c < C; ++c) {
      int64_t want = acc[size_t(c)];
      if (l.requant == graph::Requant::ScaleShift) {
        // floor((acc * scale + bias) / 2^shift + 1/2), exactly (the values are far from int64 limits)
        const int64_t v = acc[size_t(c)] * p.scale.scale[size_t(c)] + p.scale.bias[size_t(c)];
        const int sh = p.scale.shift[size_t(c)];
        const int64_t num = 2 * v + (int64_t{1} << sh), den = int64_t{1} << (sh + 1);
        int64_t qv = num / den;
        if (num % den != 0 && num < 0) --qv;
        want = qv;
      }
      want = std::clamp(want, lo, hi);
      INFO("trial " << trial << " channel " << c);
      REQUIRE(y[size_t(c)] == want);
    }
  }
}
