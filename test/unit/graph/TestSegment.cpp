// Segments of a network (graph/Segment): which tensors cross a range's borders, what they cost per
// frame, and the range as a network of its own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>

#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/Segment.hpp"

using namespace mpsim;
using namespace mpsim::graph;

namespace {
// in -> a -> b -> add(b, a) -> c -> out: a residual block whose shortcut starts at a.
Graph block() {
  Graph g("blk");
  GraphBuilder bld(g);
  bld.input("in", 4, 8, 8, 8);
  bld.conv("a", "in", 6, 3, 1, 1);
  bld.conv("b", "a", 6, 3, 1, 1);
  bld.add("sum", "b", "a");
  bld.conv("c", "sum", 2, 1);
  bld.output("out", "c");
  for (auto& l : g.layers())
    if (l.isWeighted()) l.out = ActType{3, false};
  g.finalize();
  return g;
}
std::vector<std::string> names(const std::vector<CrossingTensor>& ts) {
  std::vector<std::string> out;
  for (const auto& t : ts) out.push_back(t.tensor);
  return out;
}
} // namespace

TEST_CASE("cuttable layers leave out input and output layers", "[unit][graph]") {
  const Graph g = block();
  std::vector<std::string> n;
  for (const Layer* l : cuttableLayers(g)) n.push_back(l->name);
  CHECK(n == std::vector<std::string>{"a", "b", "sum", "c"});
}

TEST_CASE("a cut inside a residual block: the shortcut's tensor crosses it", "[unit][graph]") {
  const Graph g = block();
  std::vector<CrossingTensor> in0, out0, in1, out1;
  const Graph s0 = segmentGraph(g, 0, 2, "s0", &in0, &out0); // a, b
  const Graph s1 = segmentGraph(g, 2, 4, "s1", &in1, &out1); // sum, c
  CHECK(names(in0) == std::vector<std::string>{"in"});
  CHECK(names(out0) == std::vector<std::string>{"a", "b"});
  // 6 x 8 x 8 values of 3 bits, packed: 144 bytes each.
  REQUIRE(out0.size() == 2);
  CHECK(out0[0].bytes == 144);
  CHECK(packedBytes(6 * 8 * 8, 3) == 144);
  CHECK(packedBytes(5, 3) == 2); // 15 bits: whole bytes
  CHECK(names(in1) == std::vector<std::string>{"b", "a"}); // in the order sum reads them
  CHECK(out1.empty());
  // s0 writes both tensors to DRAM; s1 reads them as inputs of the producers' names, types and shapes.
  CHECK(s0.find(toDramName("a")) != nullptr);
  CHECK(s0.find(toDramName("a"))->kind == LayerKind::Output);
  CHECK(s0.find("out") == nullptr);
  const Layer& a = s1.at("a");
  CHECK(a.kind == LayerKind::Input);
  CHECK(a.out_shape == g.at("a").out_shape);
  CHECK(a.out.bits == 3);
  CHECK(s1.at("sum").in_shapes == g.at("sum").in_shapes);
  CHECK(s1.find("out") != nullptr); // the network's output stays with its producer
  CHECK(s1.at("c").out_shape == g.at("c").out_shape);
}

TEST_CASE("the whole range is the network", "[unit][graph]") {
  const Graph g = block();
  std::vector<CrossingTensor> in, out;
  const Graph s = segmentGraph(g, 0, 4, "all", &in, &out);
  CHECK(s.layers().size() == g.layers().size());
  CHECK(out.empty());
  CHECK(names(in) == std::vector<std::string>{"in"});
  CHECK_THROWS_AS(segmentGraph(g, 2, 2, "empty"), std::logic_error);
  CHECK_THROWS_AS(segmentGraph(g, 0, 5, "past"), std::logic_error);
}
