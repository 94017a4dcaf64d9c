// The need functions (sched::needOf, sched/EngineSpec.hpp): which input tokens of a frame output token
// k of a port needs. OneToOne: token k. All: the whole frame. Pass: weight pass k / reuse. Window:
// the first and last raster index of a sliding window over the input image, the window's taps
// (stride, padding, dilation) clamped to the image edge; cross-checked against a brute-force walk of
// every tap over random geometries (fixed seed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>

#include "mpsim/graph/Layer.hpp"
#include "mpsim/sched/EngineSpec.hpp"

using namespace mpsim;
using sched::EngineSpec;
using sched::Need;
using sched::NeedKind;
using sched::PortSpec;
using sched::WindowGeom;

namespace {

PortSpec port(NeedKind need, int64_t tokensPerFrame = 0, int64_t reuse = 1) {
  PortSpec p;
  p.need = need;
  p.tokens_per_frame = tokensPerFrame;
  p.reuse = reuse;
  return p;
}

/// A sliding-window engine over an ih x iw image: kernel kh x kw, stride, padding, dilation; the
/// output size as a convolution computes it.
EngineSpec window(int64_t ih, int64_t iw, int kh, int kw, int sh = 1, int sw = 1, int ph = 0, int pw = 0, int dh = 1,
                  int dw = 1) {
  EngineSpec e;
  e.kind = sched::EngineKind::Swu;
  const graph::Window w{kh, kw, sh, sw, ph, pw, dh, dw};
  e.geom = WindowGeom(w, ih, iw, (ih + 2 * ph - int64_t(dh) * (kh - 1) - 1) / sh + 1,
                      (iw + 2 * pw - int64_t(dw) * (kw - 1) - 1) / sw + 1);
  e.in.push_back(port(NeedKind::Window, ih * iw));
  return e;
}

Need need(const EngineSpec& e, int64_t k) { return sched::needOf(e, e.in.at(0), k); }

std::string describe(const WindowGeom& g) {
  std::ostringstream s;
  s << "image " << g.ih << "x" << g.iw << ", kernel " << g.kh << "x" << g.kw << ", stride " << g.stride_h << "x"
    << g.stride_w << ", padding " << g.pad_h << "x" << g.pad_w << ", dilation " << g.dil_h << "x" << g.dil_w
    << ", output " << g.oh << "x" << g.ow;
  return s.str();
}

/// Brute force: every tap of window k, each clamped to the image edge, as a raster index.
Need bruteForceClamped(const WindowGeom& g, int64_t k) {
  const int64_t oy = k / g.ow, ox = k % g.ow;
  Need n{INT64_MAX, INT64_MIN};
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j) {
      const int64_t r = std::clamp<int64_t>(oy * g.stride_h - g.pad_h + int64_t(i) * g.dil_h, 0, g.ih - 1);
      const int64_t c = std::clamp<int64_t>(ox * g.stride_w - g.pad_w + int64_t(j) * g.dil_w, 0, g.iw - 1);
      n.first = std::min(n.first, r * g.iw + c);
      n.last = std::max(n.last, r * g.iw + c);
    }
  return n;
}

/// Brute force over the taps inside the image only (padding taps read nothing); false when every
/// tap of the window falls into the padding.
bool bruteForceInside(const WindowGeom& g, int64_t k, Need& n) {
  const int64_t oy = k / g.ow, ox = k % g.ow;
  n = Need{INT64_MAX, INT64_MIN};
  for (int i = 0; i < g.kh; ++i)
    for (int j = 0; j < g.kw; ++j) {
      const int64_t r = oy * g.stride_h - g.pad_h + int64_t(i) * g.dil_h;
      const int64_t c = ox * g.stride_w - g.pad_w + int64_t(j) * g.dil_w;
      if (r < 0 || r >= g.ih || c < 0 || c >= g.iw) continue;
      n.first = std::min(n.first, r * g.iw + c);
      n.last = std::max(n.last, r * g.iw + c);
    }
  return n.first != INT64_MAX;
}

} // namespace

TEST_CASE("need functions: one-to-one, all, and weight passes", "[unit][sched]") {
  const EngineSpec e; // the engine's geometry plays no part in these
  const PortSpec one = port(NeedKind::OneToOne, 100);
  for (int64_t k : {0, 1, 7, 99}) {
    const Need n = sched::needOf(e, one, k);
    CHECK(n.first == k);
    CHECK(n.last == k);
  }
  // Every output needs the whole frame of its input, whatever k.
  const PortSpec all = port(NeedKind::All, 37);
  for (int64_t k : {0, 1, 36, 500}) {
    const Need n = sched::needOf(e, all, k);
    CHECK(n.first == 0);
    CHECK(n.last == 36);
  }
  // Weights: output k needs weight pass k / reuse, one pass per `reuse` outputs.
  const PortSpec pass4 = port(NeedKind::Pass, 10, 4);
  const int64_t expected[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
  for (int64_t k = 0; k < 10; ++k) {
    INFO("k = " << k);
    const Need n = sched::needOf(e, pass4, k);
    CHECK(n.first == expected[k]);
    CHECK(n.last == expected[k]);
  }
  const PortSpec pass1 = port(NeedKind::Pass, 10, 1);
  CHECK(sched::needOf(e, pass1, 6).first == 6);
  CHECK(sched::needOf(e, pass1, 6).last == 6);
}

TEST_CASE("need functions: hand-checked windows with stride, padding, dilation and edge clamping", "[unit][sched]") {
  // 3x3 over 8x8, no padding (6x6 outputs): window 0 spans pixels 0 .. 2*8+2 = 18 (the line-buffer
  // bench's first window), the last window (5, 5) spans 5*8+5 = 45 .. 63.
  const EngineSpec plain = window(8, 8, 3, 3);
  REQUIRE(plain.geom.oh == 6);
  REQUIRE(plain.geom.ow == 6);
  CHECK(need(plain, 0).first == 0);
  CHECK(need(plain, 0).last == 18);
  CHECK(need(plain, 7).first == 1 * 8 + 1); // window (1, 1)
  CHECK(need(plain, 7).last == 3 * 8 + 3);
  CHECK(need(plain, 35).first == 45);
  CHECK(need(plain, 35).last == 63);

  // Padding 1 (8x8 outputs): the padding taps clamp to the edge. Window (0, 0) covers rows and
  // columns -1..1, so pixels 0 .. 1*8+1; window (7, 7) covers 6..8, so 6*8+6 .. 63.
  const EngineSpec padded = window(8, 8, 3, 3, 1, 1, 1, 1);
  REQUIRE(padded.geom.oh == 8);
  CHECK(need(padded, 0).first == 0);
  CHECK(need(padded, 0).last == 9);
  CHECK(need(padded, 7).first == 6); // window (0, 7): columns 6..8, rows -1..1
  CHECK(need(padded, 7).last == 1 * 8 + 7);
  CHECK(need(padded, 63).first == 54);
  CHECK(need(padded, 63).last == 63);

  // Stride 2, padding 1 (4x4 outputs): window (0, 1) covers columns 1..3, rows -1..1.
  const EngineSpec strided = window(8, 8, 3, 3, 2, 2, 1, 1);
  REQUIRE(strided.geom.ow == 4);
  CHECK(need(strided, 1).first == 1);
  CHECK(need(strided, 1).last == 1 * 8 + 3);
  CHECK(need(strided, 5).first == 1 * 8 + 1); // window (1, 1): rows 1..3, columns 1..3
  CHECK(need(strided, 5).last == 3 * 8 + 3);

  // Dilation 2 (a 5x5 footprint, 4x4 outputs): window 0's last tap is (4, 4).
  const EngineSpec dilated = window(8, 8, 3, 3, 1, 1, 0, 0, 2, 2);
  REQUIRE(dilated.geom.oh == 4);
  CHECK(need(dilated, 0).first == 0);
  CHECK(need(dilated, 0).last == 4 * 8 + 4);
  CHECK(need(dilated, 15).first == 3 * 8 + 3);
  CHECK(need(dilated, 15).last == 63);

  // A rectangular kernel (1x3) over a 4x5 image with column padding 1: window (0, 4) covers
  // columns 3..5, clamped to 3..4.
  const EngineSpec rect = window(4, 5, 1, 3, 1, 1, 0, 1);
  REQUIRE(rect.geom.oh == 4);
  REQUIRE(rect.geom.ow == 5);
  CHECK(need(rect, 4).first == 3);
  CHECK(need(rect, 4).last == 4);
  CHECK(need(rect, 5).first == 5); // window (1, 0): columns -1..1 of row 1
  CHECK(need(rect, 5).last == 6);
}

TEST_CASE("need functions: windows agree with a brute-force walk of every tap over random geometries",
          "[unit][sched]") {
  std::mt19937_64 rng(20240611);
  auto pick = [&](int lo, int hi) { return int(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  int64_t windows = 0, dilatedPadded = 0, differsFromInside = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int kh = pick(1, 5), kw = pick(1, 5), dh = pick(1, 3), dw = pick(1, 3);
    const int ph = pick(0, (kh - 1) * dh), pw = pick(0, (kw - 1) * dw);
    const int sh = pick(1, 3), sw = pick(1, 3);
    const int64_t ih = pick(1, 14), iw = pick(1, 14);
    if (ih + 2 * ph - int64_t(dh) * (kh - 1) - 1 < 0 || iw + 2 * pw - int64_t(dw) * (kw - 1) - 1 < 0) continue;
    const EngineSpec e = window(ih, iw, kh, kw, sh, sw, ph, pw, dh, dw);
    const WindowGeom& g = e.geom;
    REQUIRE(g.oh >= 1);
    REQUIRE(g.ow >= 1);
    if ((dh > 1 || dw > 1) && (ph > 0 || pw > 0)) ++dilatedPadded;
    for (int64_t k = 0; k < g.oh * g.ow; ++k) {
      ++windows;
      const Need got = need(e, k);
      const Need clamped = bruteForceClamped(g, k);
      if (got.first != clamped.first || got.last != clamped.last) {
        INFO(describe(g) << ", window " << k << ": needOf (" << got.first << ", " << got.last << "), brute force ("
                         << clamped.first << ", " << clamped.last << ")");
        CHECK(got.first == clamped.first);
        CHECK(got.last == clamped.last);
      }
      CHECK(got.first >= 0);
      CHECK(got.first <= got.last);
      CHECK(got.last < g.ih * g.iw);
      // Never later than the pixels the window really reads (else a window could form before its
      // data arrived), exact when the taps are contiguous (no dilation).
      Need inside;
      if (bruteForceInside(g, k, inside)) {
        INFO(describe(g) << ", window " << k);
        CHECK(got.first <= inside.first);
        CHECK(got.last >= inside.last);
        if (g.dil_h == 1 && g.dil_w == 1) {
          CHECK(got.first == inside.first);
          CHECK(got.last == inside.last);
        }
        if (got.first != inside.first || got.last != inside.last) ++differsFromInside;
      }
    }
  }
  // The seed covers plenty of windows, including dilated and padded ones where clamping a tap to the
  // edge reaches beyond the pixels the window reads.
  CHECK(windows > 5000);
  CHECK(dilatedPadded > 50);
  CHECK(differsFromInside > 0);
}
