// The scheduler's design for ResNet-18 W4A4 on xczu9eg fits and simulates within 5 % of its target.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"

#include "mpsim/common/Error.hpp"
#include "mpsim/hw/CostModel.hpp"
#include <fstream>

using namespace mpsim;
using hw::MemKind;
using hw::PeKind;

TEST_CASE("scheduler: ResNet-18 W4A4 (8-bit first/last) on xczu9eg at 200 MHz fits and simulates within 5 %",
          "[module][sched]") {
  const std::string cfg = R"(
network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: xczu9eg, clock_mhz: 200}
mapping: {mode: auto, goal: max_fps}
simulation: {frames: 6}
)";
  auto r = test::simulateText(cfg);
  CHECK(r.report["resources"]["fits"].get<bool>());
  const double predicted = r.report["summary"]["predicted"]["fps"].get<double>();
  const double simulated = r.report["summary"]["fps"].get<double>();
  CHECK(predicted > 100);
  CHECK(simulated == Approx(predicted).epsilon(0.05));
  // Deterministic: the same inputs give the same mapping.
  auto again = config::loadRunString(cfg, "<test>");
  auto m2 = flow::map(again).mapping;
  REQUIRE(m2.engines.size() == r.mapping.engines.size());
  for (size_t i = 0; i < m2.engines.size(); ++i) {
    CHECK(m2.engines[i].pe == r.mapping.engines[i].pe);
    CHECK(m2.engines[i].simd == r.mapping.engines[i].simd);
  }
}

// Designs whose simulation fell short of the prediction before the DRAM fixes: ResNet-18 planned
// 99 % of the DRAM's peak (-5 %), ResNet-50's four channels were loaded unevenly (-16 %), TFC's
// input DMA waited for each frame's DRAM latency (-55 %). Now within 1 %, and ResNet-18 plans at
// most hardware.dram.max_utilization of the peak.
TEST_CASE("scheduler: auto designs simulate within 1 % of the prediction (DRAM share, channels, latency)",
          "[module][sched]") {
  struct Case {
    const char* name;
    const char* yaml;
  } cases[] = {
      {"ResNet-18 W4A4 xczu9eg 233 MHz",
       "network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: "
       "{weights: 8}}}\nhardware: {device: xczu9eg, clock_mhz: 233}\n"},
      {"ResNet-50 W4A4 xcu250 200 MHz",
       "network: {model: resnet50, quant: {weights: 4, activations: 4}}\nhardware: {device: xcu250, clock_mhz: 200}\n"},
      {"TFC W2A2 xcu250 200 MHz",
       "network: {model: tfc, quant: {weights: 2, activations: 2}}\nhardware: {device: xcu250, clock_mhz: 200}\n"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = test::simulateText(std::string(c.yaml) + "mapping: {mode: auto}\nsimulation: {frames: 4}\n");
    CHECK(r.report["resources"]["fits"].get<bool>());
    const double predicted = r.report["summary"]["predicted"]["fps"].get<double>();
    const double simulated = r.report["summary"]["fps"].get<double>();
    CHECK(simulated == Approx(predicted).epsilon(0.01));
    // The DRAM traffic the design plans stays within the planned share of the peak.
    const double gbps = r.report["dram"]["read_bytes_per_frame"].get<double>() * predicted / 1e9;
    CHECK(gbps <= config::kDefaultDramMaxUtilization * r.report["dram"]["peak_gbps"].get<double>() * 1.001);
  }
}

TEST_CASE("layers[].weight_stream states the DRAM traffic of streamed weights and why", "[module][sched]") {
  // conv4 of CNV forced to stream its weights once per output row in a manual mapping.
  const std::string cfg = R"(
network: {model: cnv, quant: {weights: 2, activations: 2}}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: manual, layers: {conv4: {pe: 4, simd: 32, weights: dram, weight_reuse: 3}}}
simulation: {frames: 4}
)";
  auto r = test::simulateText(cfg);
  const nlohmann::ordered_json* conv4 = nullptr;
  for (const auto& l : r.report["layers"]) {
    if (l["name"] == "conv4") conv4 = &l;
    if (l["name"] != "conv4") CHECK_FALSE(l.contains("weight_stream"));
  }
  REQUIRE(conv4);
  REQUIRE(conv4->contains("weight_stream"));
  const auto& w = (*conv4)["weight_stream"];
  CHECK(w["passes_per_frame"].get<int64_t>() == 3); // 3x3 output pixels, 3 per pass
  CHECK(w["output_pixels_per_pass"].get<int64_t>() == 3);
  CHECK(w["bytes_per_pass"].get<int64_t>() == 256 * 128 * 9 * 2 / 8);
  CHECK(w["bytes_per_frame"].get<int64_t>() == 3 * w["bytes_per_pass"].get<int64_t>());
  CHECK(w["on_chip"]["bram18"].get<double>() > 0);
  CHECK(w["why"].get<std::string>().find("weights: dram in the mapping") == 0);
  // The simulated streamer read exactly that per frame.
  for (const auto& d : r.report["dram"]["initiators"])
    if (d["name"] == "conv4.weights") CHECK(d["bytes_per_frame"].get<double>() == w["bytes_per_frame"].get<double>());
}
