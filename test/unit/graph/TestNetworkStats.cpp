// Network statistics (graph/NetworkStats): the weight-memory reduction from the actual per-channel
// widths.
#include <catch2/catch.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/NetworkStats.hpp"

using namespace mpsim;
using namespace mpsim::graph;

TEST_CASE("network stats: reduction is computed from the actual per-channel widths", "[unit][quant]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 2, 4, 4);
  b.conv("c", "in", 4, 1);
  g.finalize();
  g.layers().back().weight_bits = 8;
  g.layers().back().channel_bits = {8, 4, 4, 2};
  g.finalize();
  auto s = computeStats(g);
  CHECK(s.weights == 8);
  CHECK(s.weight_bits == 2 * (8 + 4 + 4 + 2));
  CHECK(s.fp32_bits == 8 * 32);
  CHECK(s.reduction == Approx(256.0 / 36.0));
  CHECK(s.layers[1].weight_bits_label == "mixed 8/4/2");
}
