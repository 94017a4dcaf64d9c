// mapping.finn_folding (config/FinnFolding): FINN's published folding configs applied by node order.
#include <catch2/catch.hpp>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"

using namespace mpsim;

TEST_CASE("mapping.finn_folding applies FINN's published folding configs by node order", "[unit][finn]") {
  auto cnv = config::loadRunString("network: {model: cnv, quant: {weights: 1, activations: 1}}\n"
                                   "hardware: {device: pynq-z1, clock_mhz: 100}\n"
                                   "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/cnv-w1a1_folding_config.json,"
                                   " layers: {fc8: {pe: 10}}}\n",
                                   "<test>");
  const auto& ml = cnv.config.mapping.layers;
  CHECK(ml.at("conv0").pe == 16);
  CHECK(ml.at("conv0").simd == 3);
  CHECK(ml.at("conv4").pe == 4);
  CHECK(ml.at("fc7").simd == 8);
  CHECK(ml.at("fc8").pe == 10);  // mapping.layers refines the folding file
  CHECK(ml.at("fc8").simd == 1); // ... field by field
  CHECK(ml.at("conv1").pe_kind == hw::PeKind::Lut);
  auto m = flow::map(cnv).mapping;
  CHECK(m.engines[size_t(m.indexOf("fc6"))].closed_form_cycles == 32768);

  auto mb = config::loadRunString("network: {model: mobilenet_v1}\nhardware: {device: zcu102}\n"
                                  "mapping: {finn_folding: " MPSIM_TEST_DATA
                                  "/finn/mobilenet-v1_ZCU102_folding_config.json}\n",
                                  "<test>");
  // 15 MVAU nodes -> conv1, 13 pointwise convs, fc; 13 VVAU nodes -> the depthwise convs.
  size_t n = 0;
  for (const auto& l : mb.graph.layers())
    if (l.isWeighted()) {
      INFO(l.name);
      CHECK(mb.config.mapping.layers.count(l.name) == 1);
      ++n;
    }
  CHECK(n == 28);
  CHECK(mb.config.mapping.layers.at("conv_dw_1").pe == 16);                   // VVAU_hls_0: PE 16
  CHECK(mb.config.mapping.layers.at("conv_pw_1").pe_kind == hw::PeKind::Dsp); // MVAU_rtl_1: resType dsp

  // More MAC nodes than the graph has layers: a precise error.
  CHECK_THROWS_WITH(config::loadRunString("network: {model: tfc}\nhardware: {device: pynq-z1}\n"
                                          "mapping: {finn_folding: " MPSIM_TEST_DATA
                                          "/finn/cnv-w1a1_folding_config.json}\n",
                                          "t.yaml"),
                    Catch::Contains("mapping.finn_folding") &&
                        Catch::Contains("MVAU_hls_4 is matrix-vector node #5 but tfc has only 4 conv/fc layers"));
}
