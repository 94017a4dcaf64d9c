#pragma once
// Network statistics: MACs, weights, parameter memory and its reduction against FP32.
// Parameter memory counts weights only (no bias, no BatchNorm, no thresholds).
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/graph/Graph.hpp"

namespace mpsim::graph {

struct LayerStats {
  std::string name;
  std::string kind;
  Shape out_shape;
  int64_t macs = 0;
  int64_t weights = 0;
  int64_t weight_bits = 0;       // parameter memory of the layer in bits
  std::string weight_bits_label; // "4", "mixed 8/4", or "-"
  int act_bits = 0;
};

struct NetworkStats {
  std::string name;
  std::vector<LayerStats> layers;
  int64_t macs = 0;
  int64_t ops = 0; // 2 per MAC
  int64_t weights = 0;
  int64_t weight_bits = 0;
  int64_t fp32_bits = 0;
  double reduction = 0; // fp32_bits / weight_bits
};

NetworkStats computeStats(const Graph& g);

} // namespace mpsim::graph
