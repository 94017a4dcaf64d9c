// Label-select engine bench: ceil(C/PE) + k cycles per frame, and a scan of every token of a
// flattened feature map.
#include <catch2/catch.hpp>

#include <algorithm>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {
const nlohmann::ordered_json& layerEntry(const nlohmann::ordered_json& report, const std::string& name) {
  for (const auto& l : report["layers"])
    if (l["name"] == name) return l;
  throw std::out_of_range("no layer " + name + " in the report");
}
} // namespace

TEST_CASE("labelselect engine: ceil(C/PE) + k cycles per frame in the per-layer report and the simulated interval",
          "[module][sim]") {
  // 200 class scores from a fast fc, top 5: the label-select engine is the bottleneck at small PE.
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml")
      << "name: head\ninput: {shape: [64], bits: 8}\n"
         "layers:\n  - {name: fc, type: fc, out_features: 200, weights: 2, activations: 4}\n"
         "  - {name: top, type: labelselect, k: 5}\n";
  auto config = [&](const std::string& pe) {
    return "network: {model: " + (dir / "net.yaml") +
           "}\nhardware: {device: zcu104, clock_mhz: 200}\n"
           "mapping:\n  fifos: {default_depth: 8}\n  layers:\n    fc: {pe: 200, simd: 64}\n" +
           (pe.empty() ? "" : "    top: {pe: " + pe + "}\n") + "simulation: {frames: 6}\n";
  };
  struct Case {
    std::string pe;
    int64_t cycles;
  };
  // PE 1 is the default; 7 does not divide 200 (ceil); 8 divides.
  for (const Case& c : {Case{"", 200 + 5}, Case{"7", 29 + 5}, Case{"8", 25 + 5}}) {
    INFO("pe " << (c.pe.empty() ? "default" : c.pe));
    auto r = simulateText(config(c.pe));
    const auto& spec = r.spec("top");
    CHECK(spec.kind == sched::EngineKind::LabelSelect);
    CHECK(spec.pe == (c.pe.empty() ? 1 : std::stoi(c.pe)));
    CHECK(spec.closed_form_cycles == c.cycles);
    CHECK(spec.out_tokens_per_frame == 1); // one token of k indices per frame
    const auto& entry = layerEntry(r.report, "top");
    CHECK(entry["kind"] == "label_select");
    CHECK(entry["cycles_per_frame"].get<int64_t>() == c.cycles);
    CHECK(entry["resources"]["bram18"].get<double>() == 0);
    CHECK(entry["resources"]["dsp"].get<double>() == 0);
    CHECK(r.report["summary"]["predicted"]["cycles_per_frame"].get<int64_t>() == c.cycles);
    CHECK(r.report["summary"]["predicted"]["bottleneck"] == "top");
    // The simulated steady-state interval is the engine's closed form: scan, then k indices out.
    CHECK(r.interval() == uint64_t(c.cycles));
    CHECK(r.report["summary"]["bottleneck"]["engine"] == "top");
    CHECK(r.engine("top").busy + r.engine("top").starved + r.engine("top").blocked == uint64_t(c.cycles));
  }
  // PE beyond the class count is an error naming the layer.
  CHECK_THROWS_WITH(simulateText(config("201")),
                    Catch::Contains("mapping.layers.top.pe = 201 exceeds the layer's 200 class scores"));
}

TEST_CASE("labelselect after a flatten scans every token of the frame", "[module][sim]") {
  // 8 x 2 x 2 scores of a 1x1 convolution arrive as 4 pixels of 8 channels: 4 * ceil(8 / PE) + k
  // (straight behind the input the host would write them flattened, graph::Layer::host_flattened).
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml") << "input: {shape: [8, 2, 2], bits: 4}\n"
                                     "layers:\n  - {name: c, type: conv, out_channels: 8, kernel: 1}\n"
                                     "  - {name: fl, type: flatten}\n  - {name: top, type: topk, k: 3}\n";
  for (auto [pe, cycles] : std::vector<std::pair<int, int64_t>>{{1, 4 * 8 + 3}, {4, 4 * 2 + 3}, {32, 4 * 1 + 3}}) {
    auto r = simulateText("network: {model: " + (dir / "net.yaml") +
                          "}\nhardware: {device: zcu104}\nmapping: {layers: {top: {pe: " + std::to_string(pe) +
                          "}}}\nsimulation: {frames: 4}\n");
    INFO("pe " << pe);
    CHECK(r.spec("top").in.at(0).tokens_per_frame == 4);
    CHECK(r.spec("top").closed_form_cycles == cycles);
    CHECK(layerEntry(r.report, "top")["cycles_per_frame"].get<int64_t>() == cycles);
    CHECK(r.report["summary"]["frames_done"].get<int>() == 4);
  }
}
