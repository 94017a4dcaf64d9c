// Label select (top-k): spec, closed form, resources.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched::labelselect {

int64_t maxPe(const graph::Layer& l) { return l.in_shapes[0].c; }

int64_t cycles(const graph::Layer& l, int64_t pe) {
  const graph::Shape& in = l.stream_in;
  return in.pixels() * ceilDiv(in.c, std::max<int64_t>(1, pe)) + l.topk;
}

EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe) {
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.kind = EngineKind::LabelSelect;
  e.pe = pe;
  e.out_tokens_per_frame = l.out_shape.pixels();
  e.latency = 1;
  PortSpec p;
  p.tokens_per_frame = inShape.pixels();
  p.read_cost = ceilDiv(inShape.c, e.pe);
  p.need = NeedKind::All;
  p.capacity = inShape.pixels(); // keeps only the running top k, but emits before the next frame
  e.in.push_back(p);
  // After the scan, the k indices leave one per cycle (highest score first); the next frame's
  // scan starts after them.
  e.out_cost = l.topk;
  e.tail = l.topk;
  e.closed_form_cycles = cycles(l, e.pe);
  if (l.in_shapes[0].c % e.pe != 0)
    spdlog::warn("{}: pe={} does not divide the {} class scores; cycles use the ceiling", l.name, e.pe,
                 l.in_shapes[0].c);
  return e;
}

hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c) {
  return hw::labelSelectResources(e.pe, l.topk, l.in.bits, l.out.bits, c);
}

} // namespace mpsim::sched::labelselect
