// Element-wise engines (add, concat, quantizer) and the fork: spec, closed form, resources.
#include <algorithm>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched::elementwise {

int64_t maxPe(const graph::Layer& l) { return l.out_shape.c; }

int64_t cycles(const graph::Layer& l, int64_t pe) { return l.out_shape.pixels() * ceilDiv(l.out_shape.c, pe); }

EngineSpec engine(const graph::Layer& l, const std::vector<graph::Shape>& inputs, int64_t pe) {
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.pe = pe;
  e.out_tokens_per_frame = l.out_shape.pixels();
  e.latency = 1;
  e.kind = l.kind == graph::LayerKind::Add      ? EngineKind::Add
           : l.kind == graph::LayerKind::Concat ? EngineKind::Concat
           : l.kind == graph::LayerKind::Fork   ? EngineKind::Fork
                                                : EngineKind::Quantizer;
  for (const auto& in : inputs) {
    PortSpec p;
    p.tokens_per_frame = in.pixels();
    p.read_cost = ceilDiv(in.c, e.pe);
    e.in.push_back(p);
  }
  e.out_cost = ceilDiv(l.out_shape.c, e.pe);
  e.closed_form_cycles = cycles(l, pe);
  return e;
}

EngineSpec fork(const std::string& tensor, int64_t channels, int64_t pixels, int64_t producerOutCost) {
  EngineSpec f;
  f.name = tensor + ".fork";
  f.layer = tensor;
  f.kind = EngineKind::Fork;
  // As fast as its producer delivers pixels: the smallest PE that keeps up with it.
  const int64_t rate = std::max<int64_t>(1, producerOutCost);
  f.pe = channels;
  for (int64_t d : divisors(channels))
    if (ceilDiv(channels, d) <= rate) {
      f.pe = d;
      break;
    }
  PortSpec p;
  p.tokens_per_frame = pixels;
  p.read_cost = ceilDiv(channels, f.pe);
  f.in.push_back(p);
  f.out_tokens_per_frame = p.tokens_per_frame;
  f.out_cost = ceilDiv(channels, f.pe);
  f.latency = 1;
  f.closed_form_cycles = f.out_tokens_per_frame * f.out_cost;
  return f;
}

hw::Resources resources(const EngineSpec& e, int bits, const hw::CostCoefficients& c) {
  return hw::engineResources(e.pe * bits * int64_t(std::max<size_t>(1, e.in.size())), c);
}

} // namespace mpsim::sched::elementwise
