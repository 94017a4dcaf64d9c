// Matrix-vector (MVU) and vector (VVU) units: folding range, closed form, spec, resources.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

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

namespace mac {

int64_t maxPe(const graph::Layer& l) { return l.out_channels; }

int64_t maxSimd(const graph::Layer& l) { return l.isDepthwise() ? int64_t(l.kh) * l.kw : l.dotLength(); }

int64_t cycles(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind) {
  const int64_t pixels = l.out_shape.h * l.out_shape.w;
  int64_t perPixel = hw::macCyclesPerPixel(hw::macUnitOf(l, pe, simd, kind, hw::MemKind::None));
  if (l.kind == graph::LayerKind::FullyConnected) {
    const auto& in = l.stream_in;
    perPixel = std::max(perPixel, in.h * in.w * ceilDiv(in.c, simd));
  }
  return pixels * perPixel;
}

Fold foldForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind) {
  const auto pes = divisors(maxPe(l));
  const auto simds = divisors(maxSimd(l));
  Fold best{pes.back(), simds.back(), cycles(l, pes.back(), simds.back(), kind)};
  bool found = false;
  for (int64_t pe : pes) {
    for (int64_t simd : simds) {
      int64_t c = cycles(l, pe, simd, kind);
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

std::vector<Fold> foldsForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind) {
  std::vector<Fold> out;
  const auto simds = divisors(maxSimd(l));
  for (int64_t pe : divisors(maxPe(l))) {
    for (int64_t simd : simds) {
      const int64_t c = cycles(l, pe, simd, kind);
      if (c <= target) out.push_back(Fold{pe, simd, c});
    }
  }
  if (out.empty()) out.push_back(foldForTarget(l, target, kind));
  return out;
}

hw::PeKind defaultKind(const graph::Layer& l) {
  return std::max(l.maxWeightBits(), l.in.bits) <= 4 ? hw::PeKind::Lut : hw::PeKind::Dsp;
}

hw::MemKind autoWeightMemory(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind,
                             const hw::CostCoefficients& c) {
  // FINN's decoupled weight streamer: Vivado infers LUTRAM for small memories (by their bits, not
  // their depth: a 64-deep, 128-bit wide memory lands in BRAM, test/data/synth), else BRAM.
  int64_t bits = 0;
  for (const auto& m : hw::weightMemories(hw::macUnitOf(l, pe, simd, kind, hw::MemKind::Bram)))
    bits = std::max(bits, m.depth * m.width);
  return bits <= c.weight_lutram_max_bits ? hw::MemKind::Lutram : hw::MemKind::Bram;
}

EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe, int64_t simd, hw::PeKind kind,
                  hw::MemKind mem, int64_t weightReuse) {
  const bool dw = l.isDepthwise();
  const int64_t mh = l.out_channels, mw = l.dotLength();
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.requant = l.requant;
  e.macs = l.macs();
  e.weight_bits = l.weightMemoryBits();
  e.kind = dw ? EngineKind::Vector : EngineKind::MatrixVector;
  e.pe = pe;
  e.simd = simd;
  e.pe_kind = kind;
  e.weight_mem = mem;
  e.out_cost = hw::macCyclesPerPixel(hw::macUnitOf(l, e.pe, e.simd, e.pe_kind, e.weight_mem));
  if (!dw && (mh % e.pe != 0 || mw % e.simd != 0))
    spdlog::warn("{}: pe={} / simd={} do not divide {} outputs / {} inputs; cycles use the ceiling", l.name, e.pe,
                 e.simd, mh, mw);
  e.latency = 3 + log2Ceil(e.simd);
  e.out_tokens_per_frame = l.out_shape.pixels();
  PortSpec data;
  if (swu::needed(l)) {
    // Windows from the sliding-window unit in front, one per output pixel.
    data.tokens_per_frame = l.out_shape.pixels();
    data.read_cost = dw ? e.out_cost : ceilDiv(mw, e.simd);
    data.capacity = 1;
    data.need = NeedKind::OneToOne;
  } else {
    // 1x1 stride-1 conv reads pixels; fc reads the (flattened) input tensor's tokens.
    data.tokens_per_frame = inShape.pixels();
    data.read_cost = ceilDiv(inShape.c, e.simd);
    if (l.kind == graph::LayerKind::FullyConnected) {
      data.need = NeedKind::All;
      data.capacity = inShape.pixels();
    } else {
      data.need = NeedKind::OneToOne;
      data.capacity = 1;
    }
  }
  const int64_t readTotal = data.read_cost * (data.need == NeedKind::All ? data.tokens_per_frame : 1);
  e.tail = std::max<int64_t>(0, e.out_cost - readTotal);
  e.in.push_back(data);
  e.closed_form_cycles = cycles(l, e.pe, e.simd, e.pe_kind);
  if (weightReuse > 0) {
    e.weights_in_dram = true;
    PortSpec wp;
    wp.need = NeedKind::Pass;
    wp.reuse = std::min<int64_t>(weightReuse, e.out_tokens_per_frame);
    wp.tokens_per_frame = dma::weightPasses(l, weightReuse);
    wp.read_cost = 0;
    wp.capacity = 1;
    e.in.push_back(wp);
  }
  return e;
}

hw::Resources resourcesWith(const graph::Layer& l, graph::Requant requant, int64_t pe, int64_t simd, hw::PeKind kind,
                            hw::MemKind mem, int64_t weightReuse, const config::HardwareConfig& h) {
  hw::MacUnit u = hw::macUnitOf(l, pe, simd, kind, mem);
  u.requant = requant;
  if (mem == hw::MemKind::Dram) u.weightReuse = weightReuse;
  return hw::macResources(u, h.device.dsp_kind, h.cost);
}

hw::Resources resources(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind, hw::MemKind mem,
                        int64_t weightReuse, const config::HardwareConfig& h) {
  return resourcesWith(l, l.requant, pe, simd, kind, mem, weightReuse, h);
}

hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const config::HardwareConfig& h) {
  const int64_t reuse = e.weights_in_dram && e.in.size() > 1 ? e.in[1].reuse : 1;
  return resourcesWith(l, e.requant, e.pe, e.simd, e.pe_kind, e.weight_mem, reuse, h);
}

std::vector<graph::Requant> requantChoices(const graph::Layer& l) {
  if (!l.requant_auto) return {l.requant};
  return {graph::Requant::Thresholds, graph::Requant::ScaleShift};
}

graph::Requant cheaperRequant(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind, hw::MemKind mem,
                              int64_t weightReuse, const config::HardwareConfig& h) {
  if (!l.requant_auto) return l.requant;
  // The larger share of the device over the kinds, as the scheduler's per-layer price would see it.
  auto share = [&](graph::Requant r) {
    const hw::Resources x = resourcesWith(l, r, pe, simd, kind, mem, weightReuse, h);
    const auto& d = h.device;
    auto f = [](double v, int64_t cap) { return cap > 0 ? v / double(cap) : (v > 0 ? 1e9 : 0.0); };
    return std::max({f(x.lut, d.lut), f(x.ff, d.ff), f(x.dsp, d.dsp), f(x.bram18, d.bram18), f(x.uram, d.uram)});
  };
  return share(graph::Requant::ScaleShift) < share(graph::Requant::Thresholds) ? graph::Requant::ScaleShift
                                                                                 : graph::Requant::Thresholds;
}

} // namespace mac
} // namespace mpsim::sched
