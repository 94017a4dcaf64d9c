// Stall accounting: the input DMA's starved (DRAM) and blocked (full FIFO) cycles apart, and every
// engine's busy + starved + blocked (+ idle) partitions the measured frame interval.
#include <catch2/catch.hpp>

#include <algorithm>

#include "ForkNets.hpp"
#include "SimTestUtil.hpp"
#include "TempDir.hpp"

using namespace mpsim;
using mpsim::test::simulateText;
using namespace mpsim::test;

namespace {
const std::string kResnetBlock = "network: {model: " MPSIM_SOURCE_DIR "/configs/networks/resnet_block.yaml}\n"
                                 "hardware: {device: xczu3eg, clock_mhz: 250}\nsimulation: {frames: 6}\n";

// Every engine's busy + starved + blocked + idle is the measured frame interval.
void checkPartition(const test::SimRun& r) {
  const uint64_t interval = r.interval();
  REQUIRE(interval > 0);
  for (const auto& l : r.report["layers"]) {
    INFO(l["name"].get<std::string>() << ": busy " << l["busy"] << " starved " << l["starved"] << " blocked "
                                      << l["blocked"] << " idle " << l.value("idle", 0) << " dram_wait "
                                      << l["dram_wait"] << ", interval " << interval);
    const uint64_t used = l["busy"].get<uint64_t>() + l["starved"].get<uint64_t>() + l["blocked"].get<uint64_t>();
    CHECK(used <= interval);
    CHECK(used + l.value("idle", uint64_t(0)) == interval);
    if (l["kind"] != "output_dma") CHECK(l["dram_wait"].get<uint64_t>() <= l["starved"].get<uint64_t>());
  }
}
const nlohmann::ordered_json& layerOf(const test::SimRun& r, const std::string& name) {
  for (const auto& l : r.report["layers"])
    if (l["name"] == name) return l;
  throw std::out_of_range("no layer " + name);
}
} // namespace

TEST_CASE("input DMA: starved (DRAM) and blocked (full FIFO) apart, and a DRAM-bound input makes DRAM the bottleneck",
          "[module][sim]") {
  // Compute-bound (the stem conv): the input DMA waits on its full output FIFO, not on DRAM.
  auto compute = simulateText(kResnetBlock);
  CHECK(compute.report["summary"]["bottleneck"]["reason"] == "compute");
  const auto& in = layerOf(compute, "input");
  CHECK(in["blocked"].get<uint64_t>() > compute.interval() / 2);
  CHECK(in["starved"].get<uint64_t>() < in["blocked"].get<uint64_t>() / 10);
  checkPartition(compute);
  // 0.001 GB/s: the input frame (16x16x16 bytes) takes ~1M cycles at 250 MHz, longer than the stem's
  // 589824; DRAM is saturated and the input DMA waits on it (regression: reported 'input-starved'
  // at the stem, and the DMA's starved equalled its blocked cycles).
  auto slow = simulateText(kResnetBlock, {"hardware.dram.bandwidth_gbps=0.001"});
  CHECK(slow.report["dram"]["utilization"].get<double>() > 0.95);
  CHECK(slow.report["summary"]["bottleneck"]["reason"] == "DRAM");
  CHECK(slow.report["summary"]["bottleneck"]["engine"] == "input");
  const auto& sin = layerOf(slow, "input");
  CHECK(sin["starved"].get<uint64_t>() == sin["dram_wait"].get<uint64_t>());
  CHECK(sin["starved"] != sin["blocked"]);
  checkPartition(slow);
}

TEST_CASE("every engine's busy + starved + blocked (+ idle) partitions the measured frame interval", "[module][sim]") {
  mpsim::test::TempDir dir("mpsim_partition");
  const std::string fork = writeNet(dir, kForkThree);
  const std::string tfc = "network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}\n"
                          "hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 64}}\n"
                          "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/tfc-w1a1_folding_config.json}\n"
                          "simulation: {frames: 8}\n";
  const std::string cnv = "network: {model: cnv, quant: {weights: 2, activations: 2}}\n"
                          "hardware: {device: pynq-z1, clock_mhz: 100}\n"
                          "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/cnv-w1a1_folding_config.json}\n"
                          "simulation: {frames: 5}\n";
  const std::vector<std::pair<std::string, std::vector<std::string>>> designs = {
      {tfc, {}},                                                                       // I/O-bound
      {tfc, {"hardware.dram.bandwidth_gbps=0.05"}},                                    // DRAM-bound input
      {cnv, {}},                                                                       // compute-bound
      {cnv, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=0.05"}}, // weight streaming
      {kResnetBlock, {}},                                                              // shortcuts
      {kResnetBlock, {"hardware.dram.bandwidth_gbps=0.002"}},
      {fork, test::balancedFolding(fork, 1200)}, // three-way fork into a concat
      {fork, {"mapping.fifos.default_depth=64", "simulation.frames=3"}},
  };
  for (const auto& [cfg, sets] : designs) {
    std::string what = cfg;
    for (const auto& s : sets) what += " --set " + s;
    INFO(what);
    auto r = simulateText(cfg, sets);
    REQUIRE_FALSE(r.result.deadlock.detected);
    checkPartition(r);
  }
}
