// Background masters on the shared DRAM (docs/system.md): a synthetic master taking 90 % of the
// DRAM's bandwidth makes a weight-streaming design DRAM-bound and the report says so; a master
// without priority competes first come first served; a DRAMSys trace and a CSV trace replay
// request by request.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {
// The chain network with fc's weights streamed from a 2 GB/s DRAM: 11520 bytes per frame, about
// 0.44 GB/s at the compute-bound interval (c1: 5184 cycles at 200 MHz), 22 % of the DRAM alone.
std::string streamingRun(const std::string& extra) {
  return mpsim::test::chainRunText("dram: {channels: 1, bandwidth_gbps: 2}", "weights: dram",
                                   "simulation: {frames: 8}\n" + extra);
}
} // namespace

TEST_CASE("a background master at 90 % of the DRAM makes a weight-streaming design DRAM-bound", "[module][system]") {
  const auto alone = simulateText(streamingRun(""));
  INFO(alone.report["summary"].dump(2));
  REQUIRE(alone.report["summary"]["bottleneck"]["reason"] != "DRAM");
  REQUIRE(alone.report["dram"]["utilization"].get<double>() < 0.5);
  // A priority master (QoS: its requests are served first) asking for 90 %: it gets them.
  const auto r = simulateText(
      streamingRun("background:\n  - {name: video, kind: synthetic, gbps: 1.8, burst_bytes: 256, priority: true}\n"));
  const auto& s = r.report["summary"];
  const auto& b = r.report["system"]["background"];
  INFO(s.dump(2) << "\n" << b.dump(2));
  CHECK(s["bottleneck"]["reason"] == "DRAM");
  CHECK(s["bottleneck"]["engine"] == "fc.weights");
  CHECK(b["masters"][0]["name"] == "video");
  CHECK(b["masters"][0]["share_of_peak"].get<double>() == Approx(0.9).margin(0.05));
  CHECK_FALSE(b["masters"][0]["stopped_at_horizon"].get<bool>());
  CHECK(b["accelerator"]["fps_alone"].get<double>() == alone.report["summary"]["fps"].get<double>());
  CHECK(b["accelerator"]["slowdown"].get<double>() > 1.5);
  CHECK(b["dram"]["utilization"].get<double>() > 0.95);
  // A light master (10 %) leaves the design compute-bound at its own speed.
  const auto light = simulateText(streamingRun("background:\n  - {kind: synthetic, gbps: 0.2, priority: true}\n"));
  CHECK(light.report["summary"]["bottleneck"]["reason"] != "DRAM");
  CHECK(light.report["system"]["background"]["accelerator"]["slowdown"].get<double>() == Approx(1).margin(0.02));
}

TEST_CASE("a master without priority shares the DRAM first come first served", "[module][system]") {
  const auto r = simulateText(streamingRun("background:\n  - {name: video, kind: synthetic, gbps: 1.8, burst_bytes: 4096}\n"));
  const auto& b = r.report["system"]["background"];
  INFO(b.dump(2));
  // Both ask for more than the DRAM has (0.44 + 1.8 GB/s of 2): the master gets less than it asks,
  // the accelerator slows down, and together they fill the DRAM.
  CHECK(b["masters"][0]["share_of_peak"].get<double>() < 0.88);
  CHECK(b["accelerator"]["slowdown"].get<double>() > 1.05);
  CHECK(b["dram"]["utilization"].get<double>() > 0.95);
}

TEST_CASE("a DRAMSys trace and a CSV trace replay request by request", "[module][system]") {
  test::TempDir tmp;
  const std::string stl = tmp.write("t.stl", "# three requests\n0: (64) read 0x100\n10: write 200\n20: (128) read 0x0\n");
  const std::string csv = tmp.write("t.csv", "time_ns,op,address,bytes\n0,read,0,4096\n50,write,0x1000,4096\n");
  const auto r = simulateText(streamingRun("background:\n  - {name: cpu, kind: stl, file: " + stl +
                                           ", clock_mhz: 100, bytes: 32}\n  - {name: dma, kind: csv, file: " + csv +
                                           "}\n"));
  const auto& m = r.report["system"]["background"]["masters"];
  INFO(m.dump(2));
  CHECK(m[0]["requests"].get<int>() == 3);
  CHECK(m[0]["read_bytes"].get<int>() == 64 + 128);
  CHECK(m[0]["write_bytes"].get<int>() == 32); // the line without a length takes `bytes`
  CHECK(m[1]["requests"].get<int>() == 2);
  CHECK(m[1]["write_bytes"].get<int>() == 4096);
  CHECK(r.report["summary"]["status"] == "ok");
  // The shipped CPU trace, repeated until the accelerator is done.
  const auto cpu = simulateText(streamingRun(std::string("background:\n  - {name: cpu, kind: stl, file: ") +
                                             MPSIM_SOURCE_DIR + "/traces/cpu_memory.stl, repeat: true}\n"));
  const auto& c = cpu.report["system"]["background"]["masters"][0];
  CHECK(c["requests"].get<int>() > 2000); // more than one pass
  CHECK(c["achieved_gbps"].get<double>() > 0);
}
