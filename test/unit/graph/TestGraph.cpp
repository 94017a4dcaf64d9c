// The graph (graph/Graph, graph/Layer): shape inference, validation, accumulator widths, concat and
// label-select types, where bipolar activations may go.
#include <catch2/catch.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/io/NetworkYaml.hpp"

using namespace mpsim;
using namespace mpsim::graph;

namespace {
std::string loadErrorText(Graph& g) {
  try {
    g.finalize();
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}
} // namespace

TEST_CASE("conv shape inference: stride, padding, dilation, groups", "[unit][graph]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 16, 32, 30);
  b.conv("c1", "in", 32, 3, 2, 1);       // (32+2-3)/2+1 = 16, (30+2-3)/2+1 = 15
  b.conv("c2", "c1", 32, 3, 1, 2, 1, 2); // dilation 2: eff 5, (16+4-5)+1 = 16
  b.conv("dw", "c2", 32, 3, 1, 1, 32);   // depthwise
  b.conv("g4", "dw", 64, 1, 1, 0, 4);    // grouped 1x1
  g.finalize();
  CHECK(g.at("c1").out_shape == Shape{1, 32, 16, 15});
  CHECK(g.at("c2").out_shape == Shape{1, 32, 16, 15});
  CHECK(g.at("dw").isDepthwise());
  CHECK(g.at("dw").macs() == 32 * 9 * 16 * 15);
  CHECK(g.at("dw").weightCount() == 32 * 9);
  CHECK(g.at("g4").dotLength() == 8);
  CHECK(g.at("g4").weightCount() == 64 * 8);
  CHECK_FALSE(g.at("g4").isDepthwise());
}

TEST_CASE("pooling, global pooling, flatten, fc, add, fork, concat, quantizer shapes", "[unit][graph]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 8, 13, 13);
  b.maxPool("mp", "in", 3, 2, 1); // (13+2-3)/2+1 = 7
  b.avgPool("ap", "in", 2, 2);    // 6
  b.fork("f", "mp");
  b.conv("c", "f", 8, 3, 1, 1);
  b.add("a", "c", "f");
  b.concat("cat", {"a", "f"});
  b.quantizer("q", "cat", 2);
  b.globalAvgPool("gap", "q");
  b.flatten("fl", "gap");
  b.fc("fc", "fl", 10);
  b.output("out", "fc");
  g.finalize();
  CHECK(g.at("mp").out_shape == Shape{1, 8, 7, 7});
  CHECK(g.at("ap").out_shape == Shape{1, 8, 6, 6});
  CHECK(g.at("f").out_shape == Shape{1, 8, 7, 7});
  CHECK(g.at("a").out_shape == Shape{1, 8, 7, 7});
  CHECK(g.at("cat").out_shape == Shape{1, 16, 7, 7});
  CHECK(g.at("q").out.bits == 2);
  CHECK(g.at("gap").out_shape == Shape{1, 16, 1, 1});
  CHECK(g.at("fl").out_shape == Shape{1, 16, 1, 1});
  CHECK(g.at("fc").out_shape == Shape{1, 10, 1, 1});
  CHECK(g.at("fc").macs() == 160);
  CHECK(g.at("out").out_shape == Shape{1, 10, 1, 1});
  // Topological order: every layer after its inputs.
  for (const auto& l : g.layers())
    for (const auto& i : l.inputs) CHECK(g.indexOf(i) < g.indexOf(l.name));
}

TEST_CASE("fc after a spatial tensor flattens it", "[unit][graph]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 4, 3, 3);
  b.fc("fc", "in", 5);
  g.finalize();
  CHECK(g.at("fc").dotLength() == 36);
  CHECK(g.at("fc").macs() == 180);
}

TEST_CASE("validation rejects shape mismatch, dangling edges, cycles, bad bits", "[unit][graph]") {
  SECTION("add of different shapes") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 8, 8, 8);
    b.conv("c", "in", 16, 3, 1, 1);
    b.add("a", "c", "in");
    CHECK_THAT(loadErrorText(g),
               Catch::Contains("layer 'a' (add): inputs have different shapes: 1x16x8x8 and 1x8x8x8"));
  }
  SECTION("dangling edge") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 8, 8, 8);
    b.conv("c", "nowhere", 16, 3);
    CHECK_THAT(loadErrorText(g), Catch::Contains("input 'nowhere' is not a layer of this network"));
  }
  SECTION("cycle") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 8, 8, 8);
    b.add("a", "in", "c2");
    b.conv("c1", "a", 8, 1);
    b.conv("c2", "c1", 8, 1);
    CHECK_THAT(loadErrorText(g), Catch::Contains("cycle through layers: a, c1, c2"));
  }
  SECTION("bits outside 1..32") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 8, 8, 8);
    b.conv("c", "in", 8, 1);
    g.layers().back().weight_bits = 33;
    CHECK_THAT(loadErrorText(g), Catch::Contains("weight bits = 33 is outside 1..32"));
    g.layers().back().weight_bits = 0;
    CHECK_THAT(loadErrorText(g), Catch::Contains("weight bits = 0 is outside 1..32"));
  }
  SECTION("kernel larger than the input") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 8, 2, 2);
    b.conv("c", "in", 8, 3);
    CHECK_THAT(loadErrorText(g), Catch::Contains("does not fit the input"));
  }
  SECTION("groups must divide channels") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 6, 4, 4);
    b.conv("c", "in", 8, 1, 1, 0, 4);
    CHECK_THAT(loadErrorText(g), Catch::Contains("groups=4 must divide"));
  }
  SECTION("duplicate names") {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 6, 4, 4);
    b.conv("c", "in", 8, 1);
    b.conv("c", "in", 8, 1);
    CHECK_THAT(loadErrorText(g), Catch::Contains("duplicate layer name"));
  }
}

TEST_CASE("accumulator width is derived from W, A and the dot-product length", "[unit][graph]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 64, 8, 8, 4, false);
  b.conv("c", "in", 64, 3, 1, 1);
  g.layers().back().weight_bits = 4;
  g.finalize();
  // MW = 576 -> 10 bits of sum; signed 4-bit w (|w| <= 8 = 2^3), unsigned 4-bit a (< 2^4): 3+4+10+1.
  CHECK(g.at("c").accBits() == 18);
  // A sum of 576 products of at most 8*15 = 120 needs |acc| <= 69120 < 2^17, signed: 18 bits.
  CHECK((int64_t(1) << 17) > 576 * 120);
  g.layers().back().acc_bits_given = 24;
  CHECK(g.at("c").accBits() == 24);
}

TEST_CASE("concat holds the range of every input, also when re-finalized", "[unit][graph]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 4, 8, 8, 3, false);
  b.quantizer("qa", "in", 2);
  b.quantizer("qb", "in", 5);
  b.concat("cat", {"qa", "qb"});
  b.output("out", "cat");
  g.finalize();
  // Narrower than the 8 bits a Layer starts with.
  CHECK(g.at("cat").out.bits == 5);
  CHECK_FALSE(g.at("cat").out.is_signed);
  CHECK(g.at("out").out.bits == 5);
  // Re-finalizing after quant rules: the concat follows its inputs down as well as up.
  QuantRules r;
  r.defaults.activations = 3;
  QuantOverride qa;
  qa.activations_signed = true;
  r.layers["qa"] = qa;
  applyQuantRules(g, r);
  CHECK(g.at("cat").out.bits == 4); // int3 and uint3: int4 holds -4..3 and 0..7
  CHECK(g.at("cat").out.is_signed);
  CHECK(g.at("out").out.bits == 4);
  g.finalize(); // idempotent
  CHECK(g.at("cat").out.bits == 4);
}

TEST_CASE("labelselect: k indices of ceil(log2 C) unsigned bits, after fc or flatten, errors name the layer",
          "[unit][graph]") {
  auto top = [](int64_t classes, int k) {
    Graph g("t");
    GraphBuilder b(g);
    b.input("in", 16, 1, 1, 8, true);
    b.fc("fc", "in", classes);
    b.labelSelect("top", "fc", k);
    b.output("out", "top");
    g.finalize();
    return g;
  };
  Graph g = top(10, 3);
  const Layer& l = g.at("top");
  CHECK(l.kind == LayerKind::LabelSelect);
  CHECK(l.topk == 3);
  CHECK(l.out_shape == Shape{1, 3, 1, 1});
  CHECK(l.out.bits == 4);
  CHECK_FALSE(l.out.is_signed);
  CHECK(g.at("out").out_shape == Shape{1, 3, 1, 1});
  CHECK(g.at("out").out.bits == 4);
  CHECK(l.macs() == 0);
  CHECK(l.weightCount() == 0);
  // Index width: max(1, ceil(log2 C)).
  for (auto [classes, bits] :
       std::vector<std::pair<int64_t, int>>{{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {256, 8}, {257, 9}, {1000, 10}})
    CHECK(top(classes, 1).at("top").out.bits == bits);
  CHECK(top(7, 7).at("top").out_shape.c == 7);

  // A flattened spatial tensor is a score vector too.
  Graph f("t");
  GraphBuilder fb(f);
  fb.input("in", 2, 3, 3);
  fb.flatten("fl", "in");
  fb.labelSelect("top", "fl", 18);
  f.finalize();
  CHECK(f.at("top").out_shape == Shape{1, 18, 1, 1});
  CHECK(f.at("top").out.bits == 5);
  // The input is read only by the flatten: the host writes it flattened (one token of 18 values).
  CHECK(f.at("in").host_flattened);
  CHECK(f.at("top").stream_in == Shape{1, 18, 1, 1});
  // Behind a layer of the accelerator the flatten only re-indexes: the stream keeps its pixels.
  Graph f2("t");
  GraphBuilder fb2(f2);
  fb2.input("in", 2, 3, 3);
  fb2.conv("c", "in", 2, 1);
  fb2.flatten("fl", "c");
  fb2.labelSelect("top", "fl", 18);
  f2.finalize();
  CHECK(!f2.at("in").host_flattened);
  CHECK(f2.at("top").stream_in == Shape{1, 2, 3, 3});

  // Quantisation rules do not touch the index type (it is not a requantising layer).
  QuantRules r;
  r.defaults.activations = 2;
  applyQuantRules(g, r);
  CHECK(g.at("fc").out.bits == 2);
  CHECK(g.at("top").out.bits == 4);

  CHECK(parseLayerKind("labelselect") == LayerKind::LabelSelect);
  CHECK(parseLayerKind("topk") == LayerKind::LabelSelect);
  CHECK(std::string(toString(LayerKind::LabelSelect)) == "labelselect");

  SECTION("input not 1x1") {
    Graph e("t");
    GraphBuilder b(e);
    b.input("in", 10, 2, 2);
    b.labelSelect("head", "in", 1);
    CHECK_THAT(loadErrorText(e), Catch::Contains("layer 'head' (labelselect): input 1x10x2x2 is not a vector of class "
                                                 "scores (C x 1 x 1); put a flatten (or a global_avgpool) before it"));
  }
  SECTION("k out of range") {
    for (int k : {0, -1, 11}) {
      Graph e("t");
      GraphBuilder b(e);
      b.input("in", 10, 1, 1);
      b.labelSelect("head", "in", k);
      CHECK_THAT(loadErrorText(e), Catch::Contains("layer 'head' (labelselect): k = " + std::to_string(k) +
                                                   " is outside 1..10 (the 10 class scores of its input)"));
    }
  }
}

TEST_CASE("bipolar activations: only layers that decode or move them may read them, YAML spelling", "[unit][graph]") {
  auto bad = [](const std::string& yaml) {
    try {
      io::loadNetworkYamlString(yaml, "n.yaml");
    } catch (const LoadError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string head = "input: {shape: [16], bits: 8}\nlayers:\n"
                           "  - {name: q, type: quantizer, activation_type: bipolar}\n";
  auto ok = io::loadNetworkYamlString(head + "  - {name: f, type: fc, out_features: 4, weights: 1}\n", "n.yaml");
  CHECK(ok.at("q").out.bipolar);
  CHECK(ok.at("q").out.bits == 1);
  CHECK(ok.at("f").in.bipolar);
  CHECK(bad(head + "  - {name: p, type: global_avgpool}\n").find("carries bipolar activations") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: q, type: quantizer, activation_type: bipolar, activations: 4}\n")
            .find("bipolar activations are 1 bit") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: q, type: quantizer, activation_type: bipolar, "
            "activations_signed: true}\n")
            .find("either 'activation_type' or 'activations_signed'") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: f, type: fc, out_features: 4, activation_type: bipolar, "
            "requant: none}\n")
            .find("bipolar outputs need requant: thresholds") != std::string::npos);
}
