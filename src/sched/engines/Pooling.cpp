// Window pooling (maxpool, avgpool) and global average pooling: spec, closed form, resources.
#include <algorithm>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched::pool {

int64_t maxPe(const graph::Layer& l) { return l.out_shape.c; }

EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe) {
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.pe = pe;
  e.out_tokens_per_frame = l.out_shape.pixels();
  e.latency = 1;
  const int64_t c = l.out_shape.c;
  PortSpec p;
  p.tokens_per_frame = inShape.pixels();
  p.read_cost = ceilDiv(inShape.c, e.pe);
  e.out_cost = ceilDiv(c, e.pe);
  if (l.kind == graph::LayerKind::GlobalAvgPool) {
    e.kind = EngineKind::GlobalPool;
    p.need = NeedKind::All;
    p.capacity = inShape.pixels(); // accumulates; holds no pixels, but cannot start a frame before emitting
    e.tail = e.out_cost;
    e.closed_form_cycles = p.tokens_per_frame * p.read_cost + e.out_cost;
  } else {
    e.kind = EngineKind::Pool;
    e.geom = WindowGeom(graph::Window::of(l), inShape.h, inShape.w, l.out_shape.h, l.out_shape.w);
    p.need = NeedKind::Window;
    p.capacity = swu::lineBufferPixels(l, inShape);
    e.tail = 0;
  }
  e.in.push_back(p);
  if (e.kind == EngineKind::Pool) e.closed_form_cycles = swu::steadyStateCycles(e);
  return e;
}

int64_t cycles(const graph::Layer& l, int64_t pe) { return engine(l, l.stream_in, pe).closed_form_cycles; }

hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c) {
  const int a = l.in.bits;
  const int64_t ch = l.stream_in.c;
  hw::Resources r;
  if (e.kind == EngineKind::GlobalPool) {
    const int accw = a + log2Ceil(l.stream_in.h * l.stream_in.w);
    r = hw::engineResources(e.pe * accw, c);
    r += hw::bufferResources(ceilDiv(ch, e.pe), e.pe * accw, c);
  } else {
    r = hw::engineResources(e.pe * a, c);
    r += hw::bufferResources(e.in[0].capacity * ceilDiv(ch, e.pe), e.pe * a, c);
  }
  return r;
}

} // namespace mpsim::sched::pool
