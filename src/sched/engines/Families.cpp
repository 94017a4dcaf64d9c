// Dispatch over the families folded by PE alone (pooling, element-wise, label select).
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched {

int64_t maxLanes(const graph::Layer& l) {
  switch (l.kind) {
  case graph::LayerKind::MaxPool:
  case graph::LayerKind::AvgPool:
  case graph::LayerKind::GlobalAvgPool: return pool::maxPe(l);
  case graph::LayerKind::Add:
  case graph::LayerKind::Concat:
  case graph::LayerKind::Fork:
  case graph::LayerKind::Quantizer: return elementwise::maxPe(l);
  case graph::LayerKind::LabelSelect: return labelselect::maxPe(l);
  default: return 0;
  }
}

int64_t defaultLanes(const graph::Layer& l) {
  // One pixel per cycle; label select one score per cycle (PE = 1, as FINN's LabelSelect).
  return l.kind == graph::LayerKind::LabelSelect ? 1 : maxLanes(l);
}

int64_t lanesCycles(const graph::Layer& l, int64_t pe) {
  switch (l.kind) {
  case graph::LayerKind::MaxPool:
  case graph::LayerKind::AvgPool:
  case graph::LayerKind::GlobalAvgPool: return pool::cycles(l, pe);
  case graph::LayerKind::LabelSelect: return labelselect::cycles(l, pe);
  default: return elementwise::cycles(l, pe);
  }
}

EngineSpec lanesEngine(const graph::Layer& l, int64_t pe) {
  switch (l.kind) {
  case graph::LayerKind::MaxPool:
  case graph::LayerKind::AvgPool:
  case graph::LayerKind::GlobalAvgPool: return pool::engine(l, l.stream_in, pe);
  case graph::LayerKind::LabelSelect: return labelselect::engine(l, l.stream_in, pe);
  default: return elementwise::engine(l, l.in_shapes, pe);
  }
}

hw::Resources lanesResources(const graph::Layer& l, int64_t pe, const hw::CostCoefficients& c) {
  const EngineSpec e = lanesEngine(l, pe);
  switch (l.kind) {
  case graph::LayerKind::MaxPool:
  case graph::LayerKind::AvgPool:
  case graph::LayerKind::GlobalAvgPool: return pool::resources(e, l, c);
  case graph::LayerKind::LabelSelect: return labelselect::resources(e, l, c);
  default: return elementwise::resources(e, l.out.bits, c);
  }
}

} // namespace mpsim::sched
