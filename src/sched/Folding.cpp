#include "mpsim/sched/Folding.hpp"

#include <algorithm>

#include "mpsim/common/Math.hpp"

namespace mpsim::sched {

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> lo, hi;
  for (int64_t d = 1; d * d <= n; ++d) {
    if (n % d == 0) {
      lo.push_back(d);
      if (d != n / d) hi.push_back(n / d);
    }
  }
  lo.insert(lo.end(), hi.rbegin(), hi.rend());
  return lo;
}

int64_t mvCycles(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind) {
  const int64_t pixels = l.out_shape.h * l.out_shape.w;
  int64_t perPixel = hw::macCyclesPerPixel(hw::macUnitOf(l, pe, simd, kind, hw::MemKind::None));
  if (l.kind == graph::LayerKind::FullyConnected) {
    const auto& in = l.stream_in;
    perPixel = std::max(perPixel, in.h * in.w * ceilDiv(in.c, simd));
  }
  return pixels * perPixel;
}

Fold foldForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind) {
  const bool dw = l.isDepthwise();
  const auto pes = divisors(l.out_channels);
  const auto simds = divisors(dw ? int64_t(l.kh) * l.kw : l.dotLength());
  Fold best{pes.back(), simds.back(), mvCycles(l, pes.back(), simds.back(), kind)};
  bool found = false;
  for (int64_t pe : pes) {
    for (int64_t simd : simds) {
      int64_t c = mvCycles(l, pe, simd, kind);
      if (c > target) continue;
      // The first SIMD that meets the target is the cheapest for this PE.
      if (!found || pe * simd < best.pe * best.simd || (pe * simd == best.pe * best.simd && pe < best.pe)) {
        best = Fold{pe, simd, c};
        found = true;
      }
      break;
    }
  }
  return best;
}

} // namespace mpsim::sched
