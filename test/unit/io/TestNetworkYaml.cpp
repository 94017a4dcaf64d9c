// The network YAML (io/NetworkYaml): every layer type with shapes and bit-widths, geometry pairs,
// defaults, concat types, input types, the round trip through writeNetworkYaml, and errors that name
// the layer and the location. Format: docs/network-format.md.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "ConfigTestUtil.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/io/NetworkYaml.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

TEST_CASE("network YAML: every layer type with shapes and per-layer and per-channel bits", "[unit][config][network]") {
  const std::string text = R"(name: tiny
input: {shape: [8, 16, 16], bits: 8}
defaults: {weights: 4, activations: 4}
layers:
  - {name: conv1, type: conv, out_channels: 16, kernel: 3, padding: 1, weights: 8}
  - {name: dw, type: conv, out_channels: 16, kernel: 3, padding: 1, groups: 16, weight_type: unsigned}
  - {name: pw, type: conv, out_channels: 16, kernel: 1, channels: [8, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2]}
  - {name: res, type: add, inputs: [pw, conv1], activations: 6, activations_signed: true}
  - {name: mp, type: maxpool, kernel: 2}
  - {name: ap, type: avgpool, inputs: [mp], kernel: 3, stride: 1, padding: 1, activations: 5}
  - {name: cat, type: concat, inputs: [mp, ap]}
  - {name: gap, type: global_avgpool, activations: 7, requant: scale_shift}
  - {name: flat, type: flatten}
  - {name: fc, type: fc, out_features: 10, weights: 1, acc_bits: 12}
  - {name: q, type: quantizer, activations: 3}
)";
  auto g = io::loadNetworkYamlString(text, "tiny.yaml");
  using graph::Shape;
  CHECK(g.name() == "tiny");
  CHECK(g.source() == "tiny.yaml");
  CHECK(g.at("input").out_shape == Shape{1, 8, 16, 16});
  CHECK(g.at("input").out.bits == 8);
  CHECK_FALSE(g.at("input").out.is_signed);

  const auto& conv1 = g.at("conv1");
  CHECK(conv1.out_shape == Shape{1, 16, 16, 16});
  CHECK(conv1.weight_bits == 8);
  CHECK(conv1.weight_type == graph::WeightType::Signed);
  CHECK(conv1.out.bits == 4);
  CHECK(conv1.in.bits == 8);
  CHECK(conv1.line == 5);
  CHECK(conv1.requant == graph::Requant::Thresholds);

  const auto& dw = g.at("dw");
  CHECK(dw.isDepthwise());
  CHECK(dw.out_shape == Shape{1, 16, 16, 16});
  CHECK(dw.weight_bits == 4);
  CHECK(dw.weight_type == graph::WeightType::Unsigned);
  CHECK(dw.macs() == 9 * 16 * 16 * 16);
  CHECK(dw.weightCount() == 9 * 16);

  const auto& pw = g.at("pw");
  REQUIRE(pw.channel_bits.size() == 16);
  CHECK(pw.channel_bits.front() == 8);
  CHECK(pw.channel_bits[4] == 4);
  CHECK(pw.channel_bits.back() == 2);
  CHECK(pw.weight_bits == 8);
  CHECK(pw.weightMemoryBits() == 16 * (4 * 8 + 8 * 4 + 4 * 2));

  CHECK(g.at("res").out_shape == Shape{1, 16, 16, 16});
  CHECK(g.at("res").out.bits == 6);
  CHECK(g.at("res").out.is_signed);
  // max pool passes its input type through (not the 4-bit default).
  CHECK(g.at("mp").out_shape == Shape{1, 16, 8, 8});
  CHECK(g.at("mp").out.bits == 6);
  CHECK(g.at("mp").out.is_signed);
  CHECK(g.at("ap").out_shape == Shape{1, 16, 8, 8});
  CHECK(g.at("ap").out.bits == 5);
  CHECK_FALSE(g.at("ap").out.is_signed);
  CHECK(g.at("cat").out_shape == Shape{1, 32, 8, 8});
  CHECK(g.at("gap").out_shape == Shape{1, 32, 1, 1});
  CHECK(g.at("gap").out.bits == 7);
  CHECK(g.at("gap").requant == graph::Requant::ScaleShift);
  CHECK(g.at("flat").out_shape == Shape{1, 32, 1, 1});
  CHECK(g.at("flat").out.bits == 7);

  const auto& fc = g.at("fc");
  CHECK(fc.out_shape == Shape{1, 10, 1, 1});
  CHECK(fc.weight_bits == 1);
  CHECK(fc.weight_type == graph::WeightType::Bipolar);
  CHECK(fc.in.bits == 7);
  CHECK(fc.dotLength() == 32);
  CHECK(fc.accBits() == 12);
  CHECK(fc.out.bits == 4);
  CHECK(g.at("q").out.bits == 3);
  CHECK(g.at("q").out_shape == Shape{1, 10, 1, 1});
  REQUIRE(g.find("output") != nullptr);
  CHECK(g.at("output").inputs == std::vector<std::string>{"q"});
  CHECK(g.at("output").out.bits == 3);

  auto s = graph::computeStats(g);
  CHECK(s.macs == 72 * 16 * 256 + 9 * 16 * 256 + 16 * 16 * 256 + 32 * 10);
  CHECK(s.weight_bits == 72 * 16 * 8 + 144 * 4 + 16 * 72 + 320);
  bool sawDw = false;
  for (const auto& l : s.layers)
    if (l.name == "dw") sawDw = l.kind == "conv_dw";
  CHECK(sawDw);
}

TEST_CASE("network YAML: geometry pairs and defaults section and explicit outputs", "[unit][config][network]") {
  const std::string text = R"(input: {shape: [4, 9, 9], bits: 6, signed: true}
defaults: {weights: 3, activations: 5, requant: none}
layers:
  - {name: c, type: conv, out_channels: 8, kernel: [3, 1], stride: [2, 1], padding: [1, 0], dilation: 2}
  - {name: p, type: maxpool, kernel: 2, stride: 1}
  - {name: v, type: fc, inputs: [input], out_features: 5}
outputs: [p, v]
)";
  auto g = io::loadNetworkYamlString(text, "geo.yaml");
  CHECK(g.name() == "geo"); // no name: the file stem
  CHECK(g.at("input").out.bits == 6);
  CHECK(g.at("input").out.is_signed);
  const auto& c = g.at("c");
  // H: (9 + 2 - 5) / 2 + 1 = 4; W: (9 - 1) / 1 + 1 = 9.
  CHECK(c.out_shape == graph::Shape{1, 8, 4, 9});
  CHECK(c.weight_bits == 3);
  CHECK(c.out.bits == 5);
  CHECK(c.requant == graph::Requant::None);
  CHECK(g.at("p").out_shape == graph::Shape{1, 8, 3, 8});
  CHECK(g.at("v").dotLength() == 4 * 9 * 9);
  CHECK(g.at("output0").inputs == std::vector<std::string>{"p"});
  CHECK(g.at("output1").inputs == std::vector<std::string>{"v"});
  CHECK(g.at("output1").out.bits == 5);
}

TEST_CASE("network YAML: labelselect / topk with k, and a round trip through writeNetworkYaml",
          "[unit][config][network]") {
  const std::string text = R"(name: head
input: {shape: [8, 4, 4], bits: 4}
defaults: {weights: 2, activations: 3}
layers:
  - {name: c, type: conv, out_channels: 6, kernel: 3, padding: 1}
  - {name: fl, type: flatten}
  - {name: fc, type: fc, out_features: 300}
  - {name: top5, type: labelselect, k: 5}
  - {name: top1, type: topk, inputs: [fc]}
outputs: [top5, top1]
)";
  auto g = io::loadNetworkYamlString(text, "head.yaml");
  const auto& t5 = g.at("top5");
  CHECK(t5.kind == graph::LayerKind::LabelSelect);
  CHECK(t5.topk == 5);
  CHECK(t5.out_shape == graph::Shape{1, 5, 1, 1});
  CHECK(t5.out.bits == 9); // indices 0..299
  CHECK_FALSE(t5.out.is_signed);
  CHECK(t5.in.bits == 3);
  CHECK(t5.line == 8);
  const auto& t1 = g.at("top1");
  CHECK(t1.kind == graph::LayerKind::LabelSelect);
  CHECK(t1.topk == 1); // the default
  CHECK(t1.out_shape == graph::Shape{1, 1, 1, 1});
  CHECK(g.at("output0").out_shape == graph::Shape{1, 5, 1, 1});
  CHECK(g.at("output1").out.bits == 9);

  // Round trip: writeNetworkYaml -> loadNetworkYamlString gives the same layers, k included.
  auto one = io::loadNetworkYamlString(R"(input: {shape: [20]}
layers:
  - {name: fc, type: fc, out_features: 12, weights: 4, activations: 6, activations_signed: true}
  - {name: top, type: labelselect, k: 3}
)",
                                       "one.yaml");
  std::ostringstream os;
  io::writeNetworkYaml(one, os);
  INFO(os.str());
  auto back = io::loadNetworkYamlString(os.str(), "back.yaml");
  REQUIRE(back.layers().size() == one.layers().size());
  for (const auto& l : one.layers()) {
    const auto* b = back.find(l.name);
    REQUIRE(b);
    CHECK(b->kind == l.kind);
    CHECK(b->topk == l.topk);
    CHECK(b->out_shape == l.out_shape);
    CHECK(b->out.bits == l.out.bits);
    CHECK(b->out.is_signed == l.out.is_signed);
    CHECK(b->in.bits == l.in.bits);
    CHECK(b->inputs == l.inputs);
  }
  CHECK(back.at("top").out.bits == 4);
  CHECK(back.at("top").topk == 3);
  CHECK(back.at("top").in.is_signed);
}

TEST_CASE("network YAML: errors name the layer and the location and what is valid", "[unit][config][network]") {
  const std::string head = "input: {shape: [8, 8, 8]}\nlayers:\n"; // layers start on line 3
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: convolution, out_channels: 4, kernel: 3}\n"),
                "n.yaml:3:15: layers[0].type: 'convolution' is not a layer type; valid: input, output, conv, fc, "
                "maxpool, avgpool, global_avgpool, add, fork, concat, flatten, quantizer, labelselect, topk");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, kernel: 3}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'layers[0].out_channels'");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'kernel'");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: fc}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'layers[0].out_features'");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"
                                 "  - {name: d, type: conv, inputs: [nope], out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'd' (conv): input 'nope' is not a layer of this network (dangling edge)");
  CHECK_MESSAGE(netErrors(head + "  - {name: a, type: conv, out_channels: 16, kernel: 1}\n"
                                 "  - {name: sum, type: add, inputs: [a, input]}\n"),
                "n.yaml:4: layer 'sum' (add): inputs have different shapes: 1x16x8x8 and 1x8x8x8");
  CHECK_MESSAGE(netErrors(head + "  - {name: sum, type: add}\n"),
                "n.yaml:3: layer 'sum' (add): needs 2 input(s), has 1");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, activations: 4}\n"),
                "n.yaml:3:5: layers[0]: layer 'p' (maxpool) passes its input type through; 'activations' does not "
                "apply");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, weights: 4}\n"),
                "layer 'p' (maxpool) has no weights; weights, weight_type, channels and acc_bits apply to conv and fc");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: fc, out_features: 4, stride: 2}\n"),
                "n.yaml:3:42: layers[0].stride: unknown key; valid keys: name, type, inputs, out_features, weights");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1, channels: [8, 4]}\n"),
                "layers[0].channels: the channels list has 2 entries but the layer has 4 output channels");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1, weights: 4, "
                                 "weight_type: bipolar}\n"),
                "n.yaml:3: layer 'c' (conv): bipolar weights must be 1 bit, got 4");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 6, kernel: 1, groups: 4}\n"),
                "layer 'c' (conv): groups=4 must divide both input channels (8) and out_channels (6)");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 9}\n"),
                "layer 'c' (conv): kernel 9x9 does not fit the input 1x8x8x8");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: [1, 2, 3]}\n"),
                "layers[0].kernel: expected one integer or a list of two [height, width]");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"
                                 "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'c' (conv): duplicate layer name");
  CHECK_MESSAGE(netErrors("layers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "input: missing required key 'input.shape' ([C, H, W])");
  CHECK_MESSAGE(netErrors("input: {shape: [8, 8, 8]}\nlayers: {c: conv}\n"),
                "n.yaml:2:1: layers: expected a list of layers");
  CHECK_MESSAGE(netErrors(head + "  - {name: i2, type: input}\n"),
                "layers[0].type: the network input is declared under 'input:', not as a layer");
  CHECK_MESSAGE(netErrors(head + "  - {name: q, type: quantizer, activations: 40}\n"),
                "n.yaml:3:32: layers[0].activations: value 40 is out of range; valid: 1..32");

  // labelselect (top-k): k on the layer, the input must be a score vector, no activations.
  CHECK_MESSAGE(netErrors(head + "  - {name: top, type: labelselect, k: 2}\n"),
                "n.yaml:3: layer 'top' (labelselect): input 1x8x8x8 is not a vector of class scores (C x 1 x 1); "
                "put a flatten (or a global_avgpool) before it");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: flatten}\n  - {name: top, type: topk, k: 513}\n"),
                "n.yaml:4: layer 'top' (labelselect): k = 513 is outside 1..512 (the 512 class scores of its input)");
  CHECK_MESSAGE(netErrors(head + "  - {name: g, type: global_avgpool}\n  - {name: top, type: labelselect, k: 0}\n"),
                "n.yaml:4:36: layers[1].k: value 0 is out of range; valid: 1..C (C = the class scores of the input)");
  CHECK_MESSAGE(
      netErrors(head + "  - {name: g, type: global_avgpool}\n  - {name: top, type: labelselect, activations: 4}\n"),
      "n.yaml:4:5: layers[1]: layer 'top' (labelselect) outputs class indices (unsigned, ceil(log2(classes)) "
      "bits); 'activations' does not apply");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, k: 2}\n"),
                "n.yaml:3:41: layers[0].k: unknown key; valid keys: name, type, inputs, kernel, stride, padding");

  // All problems of a file come in one LoadError.
  auto errs =
      netErrors(head + "  - {name: a, type: pool}\n  - {name: b, type: conv, kernel: 1}\n  - {name: c, type: fc, "
                       "out_features: 0}\n");
  // An unknown type is reported once: its other keys are not checked against a guessed type.
  CHECK(errs.size() == 3);
  CHECK_MESSAGE(errs, "n.yaml:3:15: layers[0].type: 'pool' is not a layer type");
  CHECK_MESSAGE(errs, "n.yaml:4:5: layers[1]: missing required key 'layers[1].out_channels'");
  CHECK_MESSAGE(errs, "n.yaml:5:25: layers[2].out_features: value 0 is out of range; valid: 1..16777216");
}

TEST_CASE("concat output width comes from its inputs only", "[unit][config][network]") {
  auto g = io::loadNetworkYamlString(
      "input: {shape: [4, 8, 8], bits: 4}\ndefaults: {activations: 4}\nlayers:\n"
      "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
      "  - {name: b, type: conv, inputs: [input], out_channels: 4, kernel: 1, activations: 3}\n"
      "  - {name: c, type: concat, inputs: [a, b]}\n",
      "n.yaml");
  CHECK(g.at("c").out_shape == graph::Shape{1, 8, 8, 8});
  CHECK(g.at("c").out.bits == 4);
  CHECK_FALSE(g.at("c").out.is_signed);
  CHECK(g.at("output").out.bits == 4);
  // Re-finalized after quant rules: narrower and signed inputs give a narrower, signed concat.
  graph::QuantRules rules;
  rules.defaults.activations = 2;
  rules.layers["b"].activations_signed = true;
  graph::applyQuantRules(g, rules);
  CHECK(g.at("c").out.bits == 3); // uint2 and int2: int3 holds 0..3 and -2..1
  CHECK(g.at("c").out.is_signed);
  CHECK(g.at("output").out.bits == 3);
}

TEST_CASE("concat type holds every input's values, and one too wide is an error naming the layer and types",
          "[unit][config][network]") {
  // Regression: uint4 concat int4 was int4, so the unsigned values 8..15 did not fit.
  auto typeOf = [](const std::string& a, const std::string& b) {
    auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8], bits: 4}\nlayers:\n"
                                       "  - {name: a, type: conv, out_channels: 4, kernel: 1, " +
                                           a +
                                           "}\n"
                                           "  - {name: b, type: conv, inputs: [input], out_channels: 4, kernel: 1, " +
                                           b +
                                           "}\n"
                                           "  - {name: c, type: concat, inputs: [a, b]}\n",
                                       "n.yaml");
    CHECK(g.at("output").out == g.at("c").out);
    return g.at("c").out.str();
  };
  CHECK(typeOf("activations: 4", "activations: 4, activations_signed: true") == "int5");
  CHECK(typeOf("activations: 4, activations_signed: true", "activations: 4") == "int5");
  CHECK(typeOf("activations: 3, activations_signed: true", "activations: 7") == "int8");
  CHECK(typeOf("activations: 8, activations_signed: true", "activations: 3") == "int8");
  CHECK(typeOf("activations: 2", "activations: 5") == "uint5");
  CHECK(typeOf("activations: 6, activations_signed: true", "activations: 3, activations_signed: true") == "int6");
  // Bipolar {-1, +1}: bipolar with bipolar stays bipolar; with others it needs a signed type of at
  // least 2 bits (int1 is {-1, 0}), and one more bit than any unsigned input.
  CHECK(typeOf("activation_type: bipolar", "activation_type: bipolar") == "bipolar");
  CHECK(typeOf("activation_type: bipolar", "activations: 1, activations_signed: true") == "int2");
  CHECK(typeOf("activation_type: bipolar", "activations: 3") == "int4");
  CHECK(typeOf("activations: 5, activations_signed: true", "activation_type: bipolar") == "int5");
  // Three inputs.
  auto g3 = io::loadNetworkYamlString(
      "input: {shape: [4, 8, 8], bits: 6}\nlayers:\n"
      "  - {name: a, type: conv, out_channels: 4, kernel: 1, activations: 2, activations_signed: true}\n"
      "  - {name: c, type: concat, inputs: [a, input, a]}\n",
      "n.yaml");
  CHECK(g3.at("c").out.str() == "int7");
  CHECK(g3.at("c").out_shape == graph::Shape{1, 12, 8, 8});
  // uint32 and int8 would need 33 bits: rejected, naming the layer and the input types.
  auto errs =
      netErrors("input: {shape: [4, 8, 8], bits: 32}\nlayers:\n"
                "  - {name: a, type: conv, out_channels: 4, kernel: 1, activations: 8, activations_signed: true}\n"
                "  - {name: cat, type: concat, inputs: [input, a]}\n");
  CHECK_MESSAGE(errs, "n.yaml:4: layer 'cat' (concat)", "uint32 ('input')", "int8 ('a')", "int33");
}

TEST_CASE("network YAML: defaults.acc_bits applies to weighted layers without their own", "[unit][config][network]") {
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {acc_bits: 20}\nlayers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1, acc_bits: 24}\n"
                                     "  - {name: p, type: maxpool, kernel: 2}\n"
                                     "  - {name: f, type: fc, out_features: 2}\n",
                                     "n.yaml");
  CHECK(g.at("a").accBits() == 20);
  CHECK(g.at("b").accBits() == 24);
  CHECK(g.at("f").accBits() == 20);
  CHECK(g.at("p").acc_bits_given == 0); // not a weighted layer
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {acc_bits: 65}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:2:12: defaults.acc_bits: value 65 is out of range; valid: 1..64");
}

TEST_CASE("network YAML: a layer's own weights replace per-channel widths from the defaults",
          "[unit][config][network]") {
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 4, channels: {8: 0.5, 4: 0.5}}\n"
                                     "layers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1, weights: 2}\n",
                                     "n.yaml");
  CHECK(g.at("a").channel_bits == std::vector<int>{8, 8, 4, 4});
  CHECK(g.at("a").weight_bits == 8);
  CHECK(g.at("b").channel_bits.empty());
  CHECK(g.at("b").weight_bits == 2);
  // A default list that does not fit a layer is reported at the layer.
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {channels: [8, 4]}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4:5: layers[0]: defaults.channels: the channels list has 2 entries but the layer has 4 output "
                "channels");
}

TEST_CASE("network YAML: input.type and input.signed are alternatives, both given is an error",
          "[unit][config][network]") {
  const std::string layers = "layers:\n  - {name: f, type: fc, out_features: 4}\n";
  auto in = [&](const std::string& input) {
    return io::loadNetworkYamlString("input: {shape: [16]" + input + "}\n" + layers, "n.yaml").layers().front().out;
  };
  // Every spelling alone (get() once wrote the default of the absent 'signed' into the tree, so that
  // any 'type' was reported as given together with 'signed').
  CHECK(in(", bits: 1, type: bipolar") == graph::ActType::makeBipolar());
  CHECK(in(", type: bipolar") == graph::ActType::makeBipolar()); // bipolar is 1 bit
  CHECK(in(", bits: 4, type: signed") == graph::ActType{4, true});
  CHECK(in(", bits: 4, type: unsigned") == graph::ActType{4, false});
  CHECK(in(", type: signed") == graph::ActType{8, true});
  CHECK(in(", bits: 4, signed: true") == graph::ActType{4, true});
  CHECK(in("") == graph::ActType{8, false});
  // Both really given, and a bipolar input of more than 1 bit, are errors.
  CHECK_MESSAGE(netErrors("input: {shape: [16], bits: 1, type: bipolar, signed: true}\n" + layers),
                "n.yaml:1:", "input.type: give either 'type' or 'signed', not both");
  CHECK_MESSAGE(netErrors("input: {shape: [16], type: unsigned, signed: false}\n" + layers),
                "input.type: give either 'type' or 'signed', not both");
  CHECK_MESSAGE(netErrors("input: {shape: [16], bits: 4, type: bipolar}\n" + layers),
                "input.type: a bipolar input is 1 bit; 'bits' is 4");
  CHECK_MESSAGE(netErrors("input: {shape: [16], type: ternary}\n" + layers),
                "input.type: 'ternary' is not valid; valid: signed, unsigned, bipolar");
}
