// Run-config loading (config/RunConfig): the values of a valid file, device defaults filled in,
// board aliases, inline device blocks. Format: docs/run-config.md.
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
#include "mpsim/io/YamlReader.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

TEST_CASE("a valid run config loads with device defaults filled into the effective config", "[unit][config]") {
  const std::string text = R"(network:
  model: resnet18
  quant:
    weights: 4
hardware:
  device: vcu118
mapping:
  layers:
    conv1: {pe: 16, simd: 3, weights: dram, weight_reuse: 8}
    layer1.0.conv1: {pe: 8}
)";
  auto run = config::loadRunString(text, "valid.yaml");
  const config::RunConfig& c = run.config;
  CHECK(c.file == "valid.yaml");
  CHECK(c.network.model == "resnet18");
  CHECK(c.hardware.device.name == "xcvu9p"); // vcu118 is a board alias
  // Not given: taken from the device (xcvu9p: 250 MHz, 4 DRAM channels of 19.25 GB/s, 512-bit I/O).
  CHECK(c.hardware.clock_mhz == Approx(250));
  CHECK(c.hardware.dram.channels == 4);
  CHECK(c.hardware.dram.bandwidth_gbps == Approx(19.25));
  CHECK(c.hardware.dram.latency_ns == Approx(100));
  CHECK(c.hardware.dram.burst_bytes == 4096);
  CHECK(c.hardware.io.in_bits_per_cycle == 512);
  CHECK(c.hardware.io.out_bits_per_cycle == 512);
  CHECK(c.mapping.mode == config::MappingMode::Manual);
  CHECK(c.mapping.fifos.default_depth == 2);
  CHECK_FALSE(c.mapping.fifos.shortcut_depth.has_value());
  CHECK(c.mapping.fifos.depths.empty());
  CHECK(c.simulation.frames == 4);
  CHECK(c.simulation.mode == config::SimMode::Timestamped);
  CHECK_FALSE(c.simulation.functional);

  REQUIRE(c.mapping.layers.size() == 2);
  const auto& m = c.mapping.layers.at("conv1");
  CHECK(m.pe == 16);
  CHECK(m.simd == 3);
  CHECK(m.weights == config::WeightPlacement::Dram);
  CHECK(m.weight_reuse == 8);
  CHECK(m.where == "valid.yaml:9:5");
  const auto& m2 = c.mapping.layers.at("layer1.0.conv1");
  CHECK(m2.pe == 8);
  CHECK_FALSE(m2.simd.has_value());
  CHECK_FALSE(m2.weights.has_value());

  // The quant rules reached the graph.
  CHECK(run.graph.name() == "resnet18");
  CHECK(run.graph.at("layer1.0.conv1").weight_bits == 4);
  CHECK(run.graph.at("fc").weight_bits == 4);
  CHECK(run.graph.at("layer1.0.conv1").out.bits == 8); // activations not set: the zoo's 8 bits stay

  // The effective config: the file plus every default.
  const YAML::Node e = config::effectiveConfig(c);
  CHECK(e["network"]["model"].as<std::string>() == "resnet18");
  CHECK(e["hardware"]["clock_mhz"].as<double>() == Approx(250));
  CHECK(e["hardware"]["dram"]["channels"].as<int>() == 4);
  CHECK(e["hardware"]["dram"]["bandwidth_gbps"].as<double>() == Approx(19.25));
  CHECK(e["hardware"]["dram"]["latency_ns"].as<double>() == Approx(100));
  CHECK(e["hardware"]["dram"]["burst_bytes"].as<int>() == 4096);
  CHECK(e["hardware"]["io"]["in_bits_per_cycle"].as<int>() == 512);
  CHECK(e["mapping"]["mode"].as<std::string>() == "manual");
  CHECK(e["mapping"]["fifos"]["default_depth"].as<int>() == 2);
  CHECK(e["mapping"]["fifos"]["shortcut_depth"].as<std::string>() == "auto");
  CHECK(e["simulation"]["frames"].as<int>() == 4);
  CHECK(e["simulation"]["mode"].as<std::string>() == "timestamped");
  CHECK(e["simulation"]["functional"].as<bool>() == false);
  CHECK(e["mapping"]["layers"]["conv1"]["pe"].as<int>() == 16);
}

TEST_CASE("an inline device block is read with its defaults", "[unit][config]") {
  const std::string text = R"(network:
  model: tfc
hardware:
  device:
    name: mypart
    lut: 100000
    ff: 200000
    dsp: 400
    bram36: 150
    dsp_kind: DSP48E1
    dram_channels: 2
)";
  auto run = config::loadRunString(text, "inline.yaml");
  const auto& d = run.config.hardware.device;
  CHECK(d.name == "mypart");
  CHECK(d.lut == 100000);
  CHECK(d.ff == 200000);
  CHECK(d.dsp == 400);
  CHECK(d.bram18 == 300); // 2 x bram36
  CHECK(d.uram == 0);
  CHECK(d.dsp_kind == hw::DspKind::DSP48E1);
  CHECK(run.config.hardware.dram.channels == 2);
  CHECK(run.config.hardware.dram.bandwidth_gbps == Approx(19.2));
  CHECK(run.config.hardware.clock_mhz == Approx(200));
  CHECK(run.config.hardware.io.in_bits_per_cycle == 128);

  auto errs = runErrors(R"(network:
  model: tfc
hardware:
  device: {name: p, ff: 10, bram18: 2, bram36: 1, colour: red}
)");
  CHECK_MESSAGE(errs, "t.yaml:4:11: hardware.device: missing required key 'hardware.device.lut'");
  CHECK_MESSAGE(errs, "hardware.device.bram36: give either bram18 or bram36, not both");
  CHECK_MESSAGE(errs, "t.yaml:4:51: hardware.device.colour: unknown key; valid keys: name, lut, ff, dsp, bram18, "
                      "bram36, uram, dsp_kind, dram_channels, dram_gbps_per_channel, clock_mhz, io_port_bits");
}

TEST_CASE("the devices added for issue #13: board aliases, DSP kind, HBM channels", "[unit][config]") {
  // Board aliases resolve to the part; figures as in src/hw/Device.cpp (sources: docs/run-config.md).
  auto dev = [](const char* board) {
    auto d = hw::findDevice(board);
    REQUIRE(d);
    return *d;
  };
  CHECK(dev("kv260").name == "xck26");
  CHECK(dev("K26").name == "xck26");
  CHECK(dev("zcu106").name == "xczu7ev");
  CHECK(dev("vck190").dsp_kind == hw::DspKind::DSP58);
  CHECK(dev("vck190").dsp == 1968); // AMD AM004, Table 1
  CHECK(dev("kv260").uram == 64);
  CHECK(dev("kv260").dram_channels * dev("kv260").dram_gbps_per_channel == Approx(19.2)); // 64 bit x 2400 MT/s
  // HBM: 32 pseudo-channels; U55C and U280 at 14.375 GB/s each = 460 GB/s (UG1393).
  for (const char* b : {"u55c", "u280"}) {
    CHECK(dev(b).dram_channels == 32);
    CHECK(dev(b).dram_channels * dev(b).dram_gbps_per_channel == Approx(460));
  }
  CHECK(dev("u50").dram_channels * dev("u50").dram_gbps_per_channel == Approx(316));
  // A run config takes the board's defaults.
  auto run = config::loadRunString("network: {model: tfc}\nhardware: {device: u55c}\n", "<test>");
  CHECK(run.config.hardware.dram.channels == 32);
  CHECK(run.config.hardware.io.in_bits_per_cycle == 512);
}
