// Quantisation rules of a run config (network.quant): precedence of defaults, first / last layer and
// per-layer rules, per-channel widths as lists and fractions, and their errors.
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
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/io/NetworkYaml.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

TEST_CASE("quant rules: defaults < first_layer / last_layer < layers.<name> with channels as list and fractions",
          "[unit][config][quant]") {
  const std::string text = R"(network:
  model: cnv
  quant:
    weights: 2
    activations: 2
    input_bits: 8
    first_layer: {weights: 8, activations: 8}
    last_layer: {weights: 8, activations: 16, activations_signed: true}
    layers:
      conv0: {weights: 4}
      conv1: {channels: {8: 0.25, 4: 0.75}}
      fc8: {channels: [8, 8, 4, 4, 4, 4, 2, 2, 2, 2]}
      fc7: {weights: 1}
      fc6: {weight_type: unsigned, acc_bits: 24}
hardware:
  device: pynq-z1
)";
  auto run = config::loadRunString(text, "q.yaml");
  const auto& g = run.graph;
  CHECK(g.at("input").out.bits == 8);
  // conv0: layers.conv0 beats first_layer for the weights; first_layer's activations stay.
  CHECK(g.at("conv0").weight_bits == 4);
  CHECK(g.at("conv0").weight_type == graph::WeightType::Signed);
  CHECK(g.at("conv0").out.bits == 8);
  CHECK(g.at("conv0").in.bits == 8);
  // conv1: 64 channels, the first quarter 8-bit, the rest 4-bit.
  const auto& conv1 = g.at("conv1");
  REQUIRE(conv1.channel_bits.size() == 64);
  CHECK(std::count(conv1.channel_bits.begin(), conv1.channel_bits.begin() + 16, 8) == 16);
  CHECK(std::count(conv1.channel_bits.begin() + 16, conv1.channel_bits.end(), 4) == 48);
  CHECK(conv1.weight_bits == 8);
  CHECK(conv1.in.bits == 8);
  CHECK(conv1.out.bits == 2);
  CHECK(g.at("pool0").out.bits == 2); // max pool passes conv1's type through
  CHECK(g.at("conv2").weight_bits == 2);
  CHECK(g.at("conv2").in.bits == 2);
  // fc8: last_layer then layers.fc8's explicit list.
  const auto& fc8 = g.at("fc8");
  CHECK(fc8.channel_bits == std::vector<int>{8, 8, 4, 4, 4, 4, 2, 2, 2, 2});
  CHECK(fc8.out.bits == 16);
  CHECK(fc8.out.is_signed);
  CHECK(g.at("output").out.bits == 16);
  // 1-bit weights default to bipolar; weight_type and acc_bits are kept.
  CHECK(g.at("fc7").weight_bits == 1);
  CHECK(g.at("fc7").weight_type == graph::WeightType::Bipolar);
  CHECK(g.at("fc6").weight_type == graph::WeightType::Unsigned);
  CHECK(g.at("fc6").accBits() == 24);

  auto s = graph::computeStats(g);
  auto layer = [&](const std::string& n) {
    for (const auto& l : s.layers)
      if (l.name == n) return l;
    FAIL("no layer " << n);
    return graph::LayerStats{};
  };
  CHECK(layer("conv1").weight_bits == 576 * (16 * 8 + 48 * 4));
  CHECK(layer("conv1").weight_bits_label == "mixed 8/4");
  CHECK(layer("fc8").weight_bits == 512 * (2 * 8 + 4 * 4 + 4 * 2));
  CHECK(layer("fc8").weight_bits_label == "mixed 8/4/2");
  CHECK(layer("conv0").weight_bits == 1728 * 4);
  CHECK(layer("conv0").weight_bits_label == "4");
  CHECK(layer("fc7").weight_bits == 262144);
  // conv0 4b, conv1 mixed, conv2..conv5 2b, fc6 2b, fc7 1b, fc8 mixed.
  const int64_t expected =
      1728 * 4 + 576 * 320 + (73728 + 147456 + 294912 + 589824) * 2 + 131072 * 2 + 262144 + 512 * 40;
  CHECK(s.weight_bits == expected);
  CHECK(s.weights == 1542848);
}

TEST_CASE("quant rules: fractions are assigned in order and the last width takes the remainder",
          "[unit][config][quant]") {
  // tfc fc3 has 10 outputs: 0.25 * 10 = 2.5 rounds to 3 channels of 8 bits, 7 of 4 bits.
  auto run = config::loadRunString("network:\n  model: tfc\n  quant:\n    layers:\n      fc3:\n"
                                   "        channels: {8: 0.25, 4: 0.75}\nhardware:\n  device: pynq-z1\n",
                                   "f.yaml");
  CHECK(run.graph.at("fc3").channel_bits == std::vector<int>{8, 8, 8, 4, 4, 4, 4, 4, 4, 4});
  // Three widths: round(4.5) = 5 x 8, round(3.5) = 4 x 4, and the last width gets the remaining 1
  // channel (not 0.2 * 10 = 2).
  run = config::loadRunString("network:\n  model: tfc\nhardware:\n  device: pynq-z1\n", "f.yaml",
                              {"network.quant.layers.fc3.channels={8: 0.45, 4: 0.35, 2: 0.2}"});
  CHECK(run.graph.at("fc3").channel_bits == std::vector<int>{8, 8, 8, 8, 8, 4, 4, 4, 4, 2});
  CHECK(run.graph.at("fc3").weightMemoryBits() == 64 * (5 * 8 + 4 * 4 + 2));
  // Widths are assigned in the order written, not sorted.
  run = config::loadRunString(kResnetZcu102, "t.yaml", {"network.quant.layers.fc.channels={2: 0.25, 8: 0.5, 4: 0.25}"});
  const auto& fc = run.graph.at("fc");
  REQUIRE(fc.channel_bits.size() == 1000);
  CHECK(std::count(fc.channel_bits.begin(), fc.channel_bits.begin() + 250, 2) == 250);
  CHECK(std::count(fc.channel_bits.begin() + 250, fc.channel_bits.begin() + 750, 8) == 500);
  CHECK(std::count(fc.channel_bits.begin() + 750, fc.channel_bits.end(), 4) == 250);
  CHECK(fc.weightMemoryBits() == 512 * (250 * 2 + 500 * 8 + 250 * 4));
}

TEST_CASE("quant rules: bad channel specifications are errors", "[unit][config][quant]") {
  auto quant = [](const std::string& layerRule) {
    return "network:\n  model: cnv\n  quant:\n    layers:\n      conv1: " + layerRule +
           "\nhardware:\n  device: pynq-z1\n";
  };
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 0.5, 4: 0.25}}")),
                "t.yaml:5:15: network.quant.layers.conv1.channels: fractions sum to 0.75; they must sum to 1");
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 0.5, 4: 0.625}}")),
                "t.yaml:5:15: network.quant.layers.conv1.channels: fractions sum to 1.125; they must sum to 1");
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 1.5}}")),
                "t.yaml:5:26: network.quant.layers.conv1.channels.8: fraction 1.5 must be in (0, 1]");
  CHECK_MESSAGE(runErrors(quant("{channels: {eight: 1}}")),
                "network.quant.layers.conv1.channels.eight: expected a bit-width 1..32 as key");
  CHECK_MESSAGE(runErrors(quant("{channels: [8, 4, 4]}")), "t.yaml:5:7: layer 'conv1': the channels list has 3 entries "
                                                           "but the layer has 64 output channels");
  CHECK_MESSAGE(runErrors(quant("{channels: [8, 40]}")),
                "network.quant.layers.conv1.channels: element 1: value 40 is out of range; valid: 1..32");
  CHECK_MESSAGE(runErrors(quant("{channels: []}")),
                "network.quant.layers.conv1.channels: the list of per-channel widths is empty");
  CHECK_MESSAGE(runErrors(quant("{channels: 8}")), "network.quant.layers.conv1.channels: expected a list of widths");
  auto errs = runErrors("network:\n  model: cnv\n  quant:\n    layers:\n      pool0: {channels: [8]}\n"
                        "hardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "t.yaml:5:7: layer 'pool0' (maxpool) has no weights; 'channels', 'acc_bits' and 'requant' "
                      "apply to conv and fc layers only");
  errs = runErrors("network:\n  model: cnv\n  quant:\n    weights: 4\n    weight_type: bipolar\n"
                   "hardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "layer 'conv0' (conv): bipolar weights must be 1 bit, got 4");
}

TEST_CASE("channels without weights turn an inherited bipolar type into signed", "[unit][config][quant][network]") {
  // Run config: 1-bit (bipolar) defaults, per-channel widths on one layer.
  auto run = config::loadRunString("network:\n  model: cnv\n  quant:\n    weights: 1\n    layers:\n"
                                   "      conv1: {channels: {2: 0.5, 1: 0.5}}\n      fc8: {channels: {1: 1}}\n"
                                   "hardware:\n  device: pynq-z1\n",
                                   "b.yaml");
  const auto& conv1 = run.graph.at("conv1");
  CHECK(conv1.weight_type == graph::WeightType::Signed);
  CHECK(conv1.weight_bits == 2);
  REQUIRE(conv1.channel_bits.size() == 64);
  CHECK(conv1.channel_bits.front() == 2);
  CHECK(conv1.channel_bits.back() == 1);
  CHECK(run.graph.at("conv2").weight_type == graph::WeightType::Bipolar);
  CHECK(run.graph.at("fc8").weight_type == graph::WeightType::Bipolar); // all 1-bit: stays bipolar
  // Asking for bipolar in the same rule is still an error.
  auto errs =
      runErrors("network:\n  model: cnv\n  quant:\n    weights: 1\n    layers:\n"
                "      conv1: {channels: {2: 0.5, 1: 0.5}, weight_type: bipolar}\nhardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "layer 'conv1' (conv): bipolar weights must be 1 bit, got 2");
  // The same through --set.
  run = config::loadRunString("network:\n  model: tfc\n  quant: {weights: 1}\nhardware:\n  device: pynq-z1\n", "b.yaml",
                              {"network.quant.layers.fc3.channels=[2,2,1,1,1,1,1,1,1,1]"});
  CHECK(run.graph.at("fc3").weight_type == graph::WeightType::Signed);
  CHECK(run.graph.at("fc2").weight_type == graph::WeightType::Bipolar);

  // Network file: 1-bit default weights (bipolar by default), one layer with per-channel widths.
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 1}\nlayers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 2, 1, 1]}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: c, type: conv, out_channels: 4, kernel: 1, weights: 4}\n",
                                     "n.yaml");
  CHECK(g.at("a").weight_type == graph::WeightType::Signed);
  CHECK(g.at("a").weight_bits == 2);
  CHECK(g.at("b").weight_type == graph::WeightType::Bipolar);
  CHECK(g.at("c").weight_type == graph::WeightType::Signed);
  // An explicit bipolar default still yields to a layer's own wider widths ...
  g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 1, weight_type: bipolar}\nlayers:\n"
                                "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 2, 1, 1]}\n"
                                "  - {name: b, type: conv, out_channels: 4, kernel: 1}\n",
                                "n.yaml");
  CHECK(g.at("a").weight_type == graph::WeightType::Signed);
  CHECK(g.at("b").weight_type == graph::WeightType::Bipolar);
  // ... but bipolar with wider widths in the same place is an error.
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {weights: 4, weight_type: bipolar}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'a' (conv): bipolar weights must be 1 bit, got 4");
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 1, 1, 1], "
                          "weight_type: bipolar}\n"),
                "n.yaml:3: layer 'a' (conv): bipolar weights must be 1 bit, got 2");
}
