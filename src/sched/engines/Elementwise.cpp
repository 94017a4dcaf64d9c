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

hw::Resources resources(const EngineSpec& e, const graph::Layer* l, const hw::CostCoefficients& c) {
  if (e.kind == EngineKind::Quantizer && l) {
    // finn-hlslib's Thresholding_Batch: PE x T comparators of A_in bits against thresholds from one
    // memory per PE and threshold (ceil(C/PE) deep, A_in wide: BRAM when deep and wide enough,
    // else LUTs; a single channel's thresholds are constants folded into the logic).
    const int ain = l->in.bits, aout = l->out.bits;
    const int64_t nthr = l->out.thresholdCount();
    const int64_t depth = ceilDiv(l->out_shape.c, e.pe);
    hw::Resources r;
    if (depth >= c.threshold_bram_min_depth && ain >= c.threshold_bram_min_width)
      r.bram18 = double(e.pe * nthr * hw::bram18For(depth, ain));
    const double compareBits = depth > 1 ? double(e.pe * nthr * ain) : 0.0;
    r.lut = c.thr_lut_base + c.thr_lut_per_threshold_bit * compareBits;
    r.ff = c.thr_ff_base + c.thr_ff_per_bit * double(e.pe * (ain + aout));
    return r;
  }
  const int bits = l ? l->out.bits : 8;
  return hw::engineResources(e.pe * bits * int64_t(std::max<size_t>(1, e.in.size())), c);
}

} // namespace mpsim::sched::elementwise
