#include "mpsim/sched/EngineSpec.hpp"

#include "mpsim/common/Math.hpp"

namespace mpsim::sched {

const char* toString(EngineKind k) {
  switch (k) {
  case EngineKind::InputDma: return "input_dma";
  case EngineKind::OutputDma: return "output_dma";
  case EngineKind::Swu: return "swu";
  case EngineKind::MatrixVector: return "mvu";
  case EngineKind::Vector: return "vvu";
  case EngineKind::Pool: return "pool";
  case EngineKind::GlobalPool: return "global_pool";
  case EngineKind::Add: return "add";
  case EngineKind::Fork: return "fork";
  case EngineKind::Concat: return "concat";
  case EngineKind::Quantizer: return "quantizer";
  case EngineKind::LabelSelect: return "label_select";
  case EngineKind::WeightStreamer: return "weight_streamer";
  }
  return "?";
}

Need needOf(const EngineSpec& e, const PortSpec& p, int64_t k) {
  switch (p.need) {
  case NeedKind::OneToOne: return {k, k};
  case NeedKind::All: return {0, p.tokens_per_frame - 1};
  case NeedKind::Pass: return {k / p.reuse, k / p.reuse};
  case NeedKind::Window: {
    const WindowGeom& g = e.geom;
    int64_t oy = k / g.ow, ox = k % g.ow;
    int64_t r0 = oy * g.stride_h - g.pad_h, c0 = ox * g.stride_w - g.pad_w;
    int64_t r1 = r0 + int64_t(g.kh - 1) * g.dil_h, c1 = c0 + int64_t(g.kw - 1) * g.dil_w;
    r0 = clampTo(r0, 0, g.ih - 1);
    c0 = clampTo(c0, 0, g.iw - 1);
    r1 = clampTo(r1, 0, g.ih - 1);
    c1 = clampTo(c1, 0, g.iw - 1);
    return {r0 * g.iw + c0, r1 * g.iw + c1};
  }
  }
  return {k, k};
}

void appendNeedKey(const EngineSpec& e, const PortSpec& p, std::vector<int64_t>& key) {
  const WindowGeom& g = e.geom;
  key.insert(key.end(), {int64_t(p.need), p.tokens_per_frame, p.reuse, g.ih, g.iw, g.oh, g.ow, g.kh, g.kw, g.stride_h,
                         g.stride_w, g.pad_h, g.pad_w, g.dil_h, g.dil_w});
}

} // namespace mpsim::sched
