#include "mpsim/graph/NetworkStats.hpp"

#include <map>

namespace mpsim::graph {

namespace {
std::string bitsLabel(const Layer& l) {
  if (!l.isWeighted()) return "-";
  if (l.channel_bits.empty()) return std::to_string(l.weight_bits);
  std::map<int, int64_t, std::greater<int>> count;
  for (int b : l.channel_bits) ++count[b];
  if (count.size() == 1) return std::to_string(count.begin()->first);
  std::string s = "mixed ";
  bool first = true;
  for (const auto& [b, n] : count) {
    s += (first ? "" : "/") + std::to_string(b);
    first = false;
  }
  return s;
}
} // namespace

NetworkStats computeStats(const Graph& g) {
  NetworkStats s;
  s.name = g.name();
  for (const auto& l : g.layers()) {
    LayerStats ls;
    ls.name = l.name;
    ls.kind = toString(l.kind);
    if (l.isWeighted() && l.isDepthwise()) ls.kind = "conv_dw";
    ls.out_shape = l.out_shape;
    ls.macs = l.macs();
    ls.weights = l.weightCount();
    ls.weight_bits = l.weightMemoryBits();
    ls.weight_bits_label = bitsLabel(l);
    ls.act_bits = l.out.bits;
    s.macs += ls.macs;
    s.weights += ls.weights;
    s.weight_bits += ls.weight_bits;
    s.layers.push_back(std::move(ls));
  }
  s.ops = 2 * s.macs;
  s.fp32_bits = 32 * s.weights;
  s.reduction = s.weight_bits > 0 ? double(s.fp32_bits) / double(s.weight_bits) : 0.0;
  return s;
}

} // namespace mpsim::graph
