// Quantisation rules (graph/QuantRules): defaults, first / last layer, per layer and per channel, and
// the types of layers without weights.
#include <catch2/catch.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/QuantRules.hpp"

using namespace mpsim;
using namespace mpsim::graph;

TEST_CASE("quant rules: defaults, first/last layer, per layer, per channel", "[unit][quant]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 3, 8, 8);
  b.conv("c0", "in", 8, 3, 1, 1);
  b.conv("c1", "c0", 8, 3, 1, 1);
  b.maxPool("p", "c1", 2, 2);
  b.fc("fc", "p", 10);
  g.finalize();
  QuantRules r;
  r.defaults.weights = 4;
  r.defaults.activations = 3;
  r.input_bits = 6;
  r.first_layer = QuantOverride{};
  r.first_layer->weights = 8;
  r.last_layer = QuantOverride{};
  r.last_layer->weights = 1; // bipolar by default at 1 bit
  QuantOverride c1;
  c1.channels = ChannelSpec{{}, {{8, 0.25}, {2, 0.75}}};
  r.layers["c1"] = c1;
  applyQuantRules(g, r);
  CHECK(g.at("in").out.bits == 6);
  CHECK(g.at("c0").weight_bits == 8);
  CHECK(g.at("c0").in.bits == 6);
  CHECK(g.at("c0").out.bits == 3);
  CHECK(g.at("c1").channel_bits == std::vector<int>{8, 8, 2, 2, 2, 2, 2, 2});
  CHECK(g.at("c1").weight_bits == 8);
  CHECK(g.at("c1").weightMemoryBits() == (2 * 8 + 6 * 2) * 72);
  CHECK(g.at("p").out.bits == 3); // max pool passes its input type through
  CHECK(g.at("fc").weight_type == WeightType::Bipolar);
  CHECK(g.at("fc").weight_bits == 1);

  QuantRules bad;
  bad.layers["nope"] = QuantOverride{};
  CHECK_THROWS_WITH(applyQuantRules(g, bad), Catch::Contains("no layer named 'nope'"));
  QuantRules badList;
  QuantOverride l;
  l.channels = ChannelSpec{{4, 4, 4}, {}};
  badList.layers["c0"] = l;
  CHECK_THROWS_WITH(applyQuantRules(g, badList), Catch::Contains("has 3 entries but the layer has 8 output channels"));
}

TEST_CASE("quant rules: channels without weights turn an earlier bipolar type into signed", "[unit][quant]") {
  Graph g("t");
  GraphBuilder b(g);
  b.input("in", 3, 8, 8);
  b.conv("c0", "in", 4, 1);
  b.conv("c1", "c0", 4, 1);
  b.conv("c2", "c1", 4, 1);
  b.conv("c3", "c2", 4, 1);
  g.finalize();
  QuantRules r;
  r.defaults.weights = 1; // bipolar everywhere ...
  QuantOverride mixed;
  mixed.channels = ChannelSpec{{2, 2, 1, 1}, {}};
  r.layers["c0"] = mixed; // ... but c0 has 2-bit channels: signed
  QuantOverride allOne;
  allOne.channels = ChannelSpec{{1, 1, 1, 1}, {}};
  r.layers["c1"] = allOne; // all 1-bit: stays bipolar
  QuantOverride unsignedMixed = mixed;
  unsignedMixed.weight_type = WeightType::Unsigned;
  r.layers["c2"] = unsignedMixed; // an explicit type is kept
  applyQuantRules(g, r);
  CHECK(g.at("c0").weight_type == WeightType::Signed);
  CHECK(g.at("c0").weight_bits == 2);
  CHECK(g.at("c1").weight_type == WeightType::Bipolar);
  CHECK(g.at("c2").weight_type == WeightType::Unsigned);
  CHECK(g.at("c3").weight_type == WeightType::Bipolar);

  // Asking for bipolar together with wider channels is still an error.
  QuantRules bad;
  QuantOverride bip = mixed;
  bip.weight_type = WeightType::Bipolar;
  bad.layers["c0"] = bip;
  CHECK_THROWS_WITH(applyQuantRules(g, bad),
                    Catch::Contains("layer 'c0' (conv): bipolar weights must be 1 bit, got 2"));
}
