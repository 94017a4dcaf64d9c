// Whole-design throughput benches: a balanced chain reaches f_clk / max(cycles per frame), I/O- and
// DRAM-bound designs reach their bound, FINN's CNV folding matches its closed forms, timestamped and
// reference modes agree, and a run is deterministic.
#include <catch2/catch.hpp>

#include <algorithm>

#include "SimTestUtil.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/zoo/Zoo.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {

// A chain with known closed forms: conv 3x3 (SWU + MVU), conv 1x1, fc.
const char* kChainNet = R"(
name: chain
input: {shape: [8, 12, 12], bits: 8}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c1, type: conv, out_channels: 16, kernel: 3, padding: 1}
  - {name: c2, type: conv, out_channels: 16, kernel: 1}
  - {name: fc, type: fc, out_features: 10}
)";

} // namespace

TEST_CASE("balanced chain with deep FIFOs reaches exactly f_clk / max(cycles per frame)", "[module][sim]") {
  // c1: 144 px * (16/PE) * (72/SIMD); c2: 144 * (16/PE) * (16/SIMD); fc: (10/PE) * (2304/SIMD).
  auto g = io::loadNetworkYamlString(kChainNet, "chain");
  REQUIRE(g.at("c1").macs() == 144 * 16 * 72);

  struct Case {
    int c1pe, c1simd, c2pe, c2simd, fcpe, fcsimd;
  };
  for (Case c :
       {Case{4, 8, 2, 4, 2, 64}, Case{16, 72, 16, 16, 10, 2304}, Case{1, 1, 1, 1, 1, 1}, Case{2, 3, 4, 2, 5, 16}}) {
    std::vector<std::string> sets = {"mapping.layers.c1.pe=" + std::to_string(c.c1pe),
                                     "mapping.layers.c1.simd=" + std::to_string(c.c1simd),
                                     "mapping.layers.c2.pe=" + std::to_string(c.c2pe),
                                     "mapping.layers.c2.simd=" + std::to_string(c.c2simd),
                                     "mapping.layers.fc.pe=" + std::to_string(c.fcpe),
                                     "mapping.layers.fc.simd=" + std::to_string(c.fcsimd),
                                     "mapping.fifos.default_depth=256",
                                     "simulation.frames=5"};
    auto r = simulateText(std::string("network: {model: ") + MPSIM_SOURCE_DIR +
                              "/test/data/chain.yaml}\nhardware: {device: zcu104, clock_mhz: 200}\n",
                          sets);
    int64_t c1 = 144 * (16 / c.c1pe) * (72 / c.c1simd);
    int64_t c2 = 144 * (16 / c.c2pe) * (16 / c.c2simd);
    // fc also cannot run faster than its 144 input pixels of 16 channels arrive at SIMD per cycle.
    int64_t fc = std::max<int64_t>((10 / c.fcpe) * (2304 / c.fcsimd), 144 * ((16 + c.fcsimd - 1) / c.fcsimd));
    int64_t expect = std::max({c1, c2, fc});
    INFO("c1=" << c1 << " c2=" << c2 << " fc=" << fc);
    CHECK(r.spec("c1").closed_form_cycles == c1);
    CHECK(r.spec("c2").closed_form_cycles == c2);
    CHECK(r.spec("fc").closed_form_cycles == fc);
    CHECK(r.interval() == uint64_t(expect));
    CHECK(r.report["summary"]["fps"].get<double>() == Approx(200e6 / double(expect)).epsilon(1e-9));
    CHECK(r.report["summary"]["steady_state"].get<bool>());
  }
}

TEST_CASE("an I/O-limited design reaches the I/O bound, not the compute bound", "[module][sim]") {
  // TFC with FINN's TFC-W1A1 folding: 64 cycles per frame of compute, but 784 input bytes per frame
  // through a 64-bit port take 98 cycles.
  auto r = simulateText(R"(
network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 64}}
mapping:
  layers:
    fc0: {pe: 16, simd: 49}
    fc1: {pe: 8, simd: 8}
    fc2: {pe: 8, simd: 8}
    fc3: {pe: 10, simd: 8}
simulation: {frames: 8}
)");
  CHECK(r.spec("fc0").closed_form_cycles == 64);
  CHECK(r.spec("input").closed_form_cycles == 98);
  CHECK(r.interval() == 98);
  CHECK(r.report["summary"]["bottleneck"]["engine"] == "input");
  CHECK(r.report["summary"]["bottleneck"]["reason"] == "I/O");
  // A wider port moves the bound back to compute.
  auto wide = simulateText(R"(
network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 256}}
mapping: {layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 8, simd: 8}, fc2: {pe: 8, simd: 8}, fc3: {pe: 10, simd: 8}}}
simulation: {frames: 8}
)");
  CHECK(wide.interval() == 64);
  CHECK(wide.report["summary"]["bottleneck"]["engine"] == "fc0");
  CHECK(wide.report["summary"]["bottleneck"]["reason"] == "compute");
}

TEST_CASE("DRAM-placed weights with too little bandwidth make DRAM the bottleneck", "[module][sim]") {
  const std::string cfg = R"(
network: {model: cnv, quant: {weights: 2, activations: 2}}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {finn_folding: )" MPSIM_TEST_DATA R"(/finn/cnv-w1a1_folding_config.json}
simulation: {frames: 8}
)";
  auto onchip = simulateText(cfg);
  CHECK(onchip.report["summary"]["bottleneck"]["reason"] == "compute");
  // fc7's 512x512 2-bit weights are 64 KiB per frame; at 0.2 GB/s and 100 MHz that is 32768+ cycles
  // of transfer alone, at 0.05 GB/s four times that.
  auto slow = simulateText(cfg, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=0.05"});
  CHECK(slow.report["summary"]["bottleneck"]["reason"] == "DRAM");
  CHECK(slow.report["summary"]["bottleneck"]["layer"] == "fc7");
  CHECK(slow.interval() >= uint64_t(65536.0 / (0.05e9 / 100e6)));
  CHECK(slow.interval() > onchip.interval());
  // Plenty of bandwidth: streaming weights costs no throughput.
  auto fast = simulateText(cfg, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=19.2"});
  CHECK(fast.interval() == onchip.interval());
}

TEST_CASE("cnv with FINN's CNV-W1A1 folding at 100 MHz: per-layer closed forms and fps within 1 %", "[module][sim]") {
  auto r = simulateText(R"(
network: {model: cnv, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100}
# FINN's published folding (test/data/finn, from finn-examples build/bnn-pynq/folding_config)
mapping: {finn_folding: )" MPSIM_TEST_DATA R"(/finn/cnv-w1a1_folding_config.json}
simulation: {frames: 5}
)");
  // (MH/PE) * (MW/SIMD) * OFM_H * OFM_W, by hand:
  const std::pair<const char*, int64_t> expect[] = {
      {"conv0", 4 * 9 * 900},  {"conv1", 2 * 18 * 784}, {"conv2", 8 * 18 * 144},
      {"conv3", 8 * 36 * 100}, {"conv4", 64 * 36 * 9},  {"conv5", 256 * 72 * 1},
      {"fc6", 512 * 64},       {"fc7", 512 * 64},       {"fc8", 2 * 512}};
  int64_t mx = 0;
  for (auto [name, cycles] : expect) {
    INFO(name);
    CHECK(r.spec(name).closed_form_cycles == cycles);
    mx = std::max(mx, cycles);
  }
  CHECK(mx == 32768);
  double fps = r.report["summary"]["fps"].get<double>();
  CHECK(fps == Approx(100e6 / 32768.0).epsilon(0.01));
}

TEST_CASE("timestamped and reference modes give identical cycles on every zoo network", "[module][sim][slow]") {
  for (const auto& model : zoo::modelNames()) {
    INFO(model);
    std::string cfg = "network: {model: " + model +
                      ", quant: {weights: 4, activations: 4}}\n"
                      "hardware: {device: zcu102, clock_mhz: 200}\nsimulation: {frames: 3}\n";
    auto fold = test::balancedFolding(cfg, model == "tfc" ? 500 : 400000);
    auto ts = simulateText(cfg, fold);
    auto sets = fold;
    sets.push_back("simulation.mode=reference");
    auto ref = simulateText(cfg, sets);
    CHECK_FALSE(ts.result.deadlock.detected);
    CHECK(ts.result.frame_done == ref.result.frame_done);
    REQUIRE(ts.result.engines.size() == ref.result.engines.size());
    for (size_t i = 0; i < ts.result.engines.size(); ++i) {
      INFO(ts.result.engines[i].name);
      CHECK(nlohmann::json(ts.result.engines[i]) == nlohmann::json(ref.result.engines[i]));
    }
    for (size_t i = 0; i < ts.result.streams.size(); ++i)
      CHECK(ts.result.streams[i].max_occupancy == ref.result.streams[i].max_occupancy);
  }
}

TEST_CASE("the same inputs give the same report byte for byte", "[module][sim]") {
  const std::string cfg = "network: {model: resnet18}\nhardware: {device: zcu102}\nsimulation: {frames: 2}\n";
  auto a = simulateText(cfg);
  auto b = simulateText(cfg);
  CHECK(a.report.dump() == b.report.dump());
}

TEST_CASE("streamed weights near the DRAM's peak: passes paced at their layer's use keep the predicted throughput",
          "[module][sim]") {
  // ResNet-18 W2A2 on xczu7ev at 200 MHz, auto: 12 layers stream their weights, from passes of
  // 9 KB per output row (conv1: one every 896 cycles) to 576 KB once per frame (layer4). Fetched
  // whole as fast as two bursts in flight allow, the large passes took most of the DRAM for
  // thousands of cycles and conv1's rows arrived late: 3.8 % below the prediction.
  const std::string cfg = "network: {model: resnet18, quant: {weights: 2, activations: 2, input_bits: 8, "
                          "first_layer: {weights: 8}, last_layer: {weights: 8}}}\n"
                          "hardware: {device: xczu7ev, clock_mhz: 200}\nmapping: {mode: auto}\n"
                          "simulation: {frames: 6}\n";
  auto r = simulateText(cfg);
  int streamers = 0;
  for (const auto& e : r.mapping.engines) streamers += e.kind == sched::EngineKind::WeightStreamer;
  REQUIRE(streamers >= 8);
  REQUIRE(r.report["dram"]["utilization"].get<double>() > 0.8); // the case that needs it
  const double predicted = r.report["summary"]["predicted"]["fps"].get<double>();
  const double fps = r.report["summary"]["fps"].get<double>();
  CHECK(fps >= 0.999 * predicted);
  CHECK(fps <= 1.001 * predicted);
  // The streamers wait on buffer space (their layer), hardly on DRAM.
  for (const auto& l : r.report["layers"])
    if (l["kind"] == "weight_streamer") {
      INFO(l["name"].get<std::string>());
      CHECK(l["dram_wait"].get<uint64_t>() < r.interval() / 10);
    }
}
