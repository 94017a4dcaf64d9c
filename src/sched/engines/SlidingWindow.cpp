// Sliding-window units (line buffer in front of a conv's MAC unit): spec, closed form, resources.
#include <algorithm>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched::swu {

bool needed(const graph::Layer& l) {
  return l.kind == graph::LayerKind::Conv &&
         (l.kh > 1 || l.kw > 1 || l.stride_h > 1 || l.stride_w > 1 || l.pad_h > 0 || l.pad_w > 0);
}

// Line buffer in pixels: the (K_h-1) dilated rows plus K_w pixels that one window spans (the
// minimum with which every window can form), plus one more row so that reading the next pixels
// overlaps the emission of the current window (FINN's sliding-window units keep ceil(K/S)+1 row
// blocks for the same reason). With only the minimum, each window waits for its own release.
int64_t lineBufferPixels(const graph::Layer& l, const graph::Shape& in) {
  return int64_t((l.kh - 1) * l.dil_h) * in.w + int64_t((l.kw - 1) * l.dil_w) + 1 + in.w;
}

EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, const EngineSpec& consumer) {
  const int64_t kk = int64_t(l.kh) * l.kw;
  // Window elements per cycle: the consumer's SIMD (a VVU takes PE channels of SIMD window positions).
  const int64_t consumerSimd = l.isDepthwise() ? consumer.pe * consumer.simd : consumer.simd;
  EngineSpec s;
  s.name = l.name + ".swu";
  s.layer = l.name;
  s.kind = EngineKind::Swu;
  s.simd = std::min<int64_t>(consumerSimd, kk * inShape.c);
  s.geom = WindowGeom(graph::Window::of(l), inShape.h, inShape.w, l.out_shape.h, l.out_shape.w);
  PortSpec p;
  p.tokens_per_frame = inShape.pixels();
  p.read_cost = ceilDiv(inShape.c, std::min<int64_t>(s.simd, inShape.c));
  p.need = NeedKind::Window;
  p.capacity = lineBufferPixels(l, inShape);
  s.in.push_back(p);
  s.out_tokens_per_frame = l.out_shape.pixels();
  s.out_cost = ceilDiv(kk * inShape.c, s.simd);
  s.tail = s.out_cost;
  s.latency = 1;
  s.closed_form_cycles = std::max(p.tokens_per_frame * p.read_cost, s.out_tokens_per_frame * s.out_cost);
  return s;
}

hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c) {
  // The line buffer holds the unit's capacity in words of min(SIMD, C) x A bits. A 1-D window (the
  // image one pixel wide or high) of whole pixels in at most srl_max_depth words is a register
  // chain (FINN's 1-D generator); else distributed RAM (FINN's default ram_style) up to
  // linebuffer_lutram_max_bits, else BRAM.
  const int a = l.in.bits;
  const int64_t ch = l.stream_in.c;
  const int64_t word = std::min<int64_t>(e.simd, ch);
  const int64_t depth = e.in[0].capacity * ceilDiv(ch, word), width = word * a;
  double registerBits = 0;
  hw::Resources r;
  const bool oneD = l.stream_in.w == 1 || l.stream_in.h == 1;
  if (oneD && word == ch && depth <= c.srl_max_depth)
    registerBits = double(depth * width);
  else if (depth * width <= c.linebuffer_lutram_max_bits)
    r.lut += hw::lutramLuts(depth, width, c);
  else
    r.bram18 += double(hw::bram18For(depth, width));
  const double datapath = double(e.simd * a);
  r.lut += c.swu_lut_base + c.swu_lut_per_bit * datapath + c.swu_lut_per_register_bit * registerBits;
  r.ff += c.swu_ff_base + c.swu_ff_per_bit * datapath + c.swu_ff_per_register_bit * registerBits;
  return r;
}

} // namespace mpsim::sched::swu
