// The effective config (config::effectiveConfig): the file plus every default, a fixed point when
// loaded again, the same design for every shipped example, numbers written without noise.
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
#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/flow/Segments.hpp"
#include "mpsim/io/YamlReader.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

TEST_CASE("explicit values win over device defaults and the effective config reloads to the same run",
          "[unit][config]") {
  const std::string text = R"(network:
  model: cnv
hardware:
  device: ZCU102
  dram: {channels: 2, latency_ns: 0}
  io: {in_bits_per_cycle: 32}
mapping:
  fifos:
    default_depth: 8
    shortcut_depth: 64
    depths: {conv0_to_conv1: 128}
simulation:
  frames: 16
  mode: reference
)";
  auto run = config::loadRunString(text, "explicit.yaml");
  const auto& c = run.config;
  CHECK(c.hardware.device.name == "xczu9eg");   // board alias, case-insensitive
  CHECK(c.hardware.clock_mhz == Approx(187.5)); // xczu9eg default clock
  CHECK(c.hardware.dram.channels == 2);
  CHECK(c.hardware.dram.bandwidth_gbps == Approx(19.2));
  CHECK(c.hardware.dram.latency_ns == Approx(0));
  CHECK(c.hardware.io.in_bits_per_cycle == 32);
  CHECK(c.hardware.io.out_bits_per_cycle == 128);
  CHECK(c.mapping.fifos.default_depth == 8);
  CHECK(c.mapping.fifos.shortcut_depth == 64);
  CHECK(c.mapping.fifos.depths.at("conv0_to_conv1") == 128);
  CHECK(c.simulation.frames == 16);
  CHECK(c.simulation.mode == config::SimMode::Reference);

  TempDir dir;
  std::string eff = (dir.path / "effective.yaml").string();
  config::writeEffectiveConfig(c, eff);
  auto again = config::loadRun(eff);
  CHECK(again.config.file == eff);
  CHECK(again.config.hardware.clock_mhz == Approx(187.5));
  CHECK(again.config.hardware.dram.channels == 2);
  CHECK(again.config.hardware.io.out_bits_per_cycle == 128);
  CHECK(again.config.mapping.fifos.shortcut_depth == 64);
  CHECK(again.config.mapping.fifos.depths.at("conv0_to_conv1") == 128);
  CHECK(again.config.simulation.frames == 16);
  // The same effective config again: the conversion is a fixed point.
  CHECK(YAML::Dump(config::effectiveConfig(again.config)) == YAML::Dump(config::effectiveConfig(c)));
}

TEST_CASE("the effective config of every shipped example and golden case maps to the same design again",
          "[unit][config]") {
  // effective-config.yaml records the scheduler's choice: loaded again (relative paths from the
  // original file's folder) it gives the same map.json, and the same effective config.
  const std::vector<fs::path> files = shippedRunConfigs();
  REQUIRE(files.size() >= 10);
  for (const auto& f : files) {
    INFO(f.string());
    const config::Run run = flow::load(f.string());
    if (flow::segmentsRequested(run)) { // segments: the cuts and every segment's design again
      const flow::SegmentedDesign s = flow::mapSegments(run);
      const std::string eff = YAML::Dump(config::effectiveConfig(s.effectiveConfig()));
      const flow::SegmentedDesign again = flow::mapSegments(flow::loadText(eff, "<effective>", {}, f.parent_path().string()));
      auto design = [](const flow::SegmentedDesign& x) {
        nlohmann::ordered_json j = flow::segmentsMapJson(x);
        j.erase("why");
        j.erase("candidates");
        for (auto& g : j["segments"]) g["map"]["summary"].erase("limit");
        return j.dump();
      };
      CHECK(s.segments.size() > 1);
      CHECK(design(again) == design(s));
      CHECK(YAML::Dump(config::effectiveConfig(again.effectiveConfig())) == eff);
      continue;
    }
    const flow::Design d = flow::map(config::Run(run));
    const std::string eff = YAML::Dump(config::effectiveConfig(d.effectiveConfig()));
    const flow::Design again = flow::map(flow::loadText(eff, "<effective>", {}, f.parent_path().string()));
    // summary.limit describes the search (why not faster), and the search over an effective
    // config, whose layers are all fixed, is another one: the designs must be the same.
    auto design = [](const flow::Design& x) {
      nlohmann::ordered_json j = flow::mapReport(x);
      j["summary"].erase("limit");
      return j.dump();
    };
    CHECK(design(again) == design(d));
    CHECK(YAML::Dump(config::effectiveConfig(again.effectiveConfig())) == eff);
  }
}

TEST_CASE("numbers in messages and defaults in the effective config are written without noise", "[unit][config]") {
  CHECK(io::formatNumber(19.2) == "19.2");
  CHECK(io::formatNumber(5000) == "5000");
  CHECK(io::formatNumber(0.75) == "0.75");
  CHECK(io::formatNumber(-3) == "-3");
  CHECK(io::formatNumber(187.5) == "187.5");
  CHECK(io::formatNumber(0.1 + 0.2) == "0.30000000000000004"); // round-trips exactly

  auto run = config::loadRunString(config::defaultRunYaml(), "<built-in default>");
  TempDir dir;
  std::string eff = (dir.path / "effective.yaml").string();
  config::writeEffectiveConfig(run.config, eff);
  std::ifstream in(eff);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  CHECK(text.find("bandwidth_gbps: 19.2\n") != std::string::npos);
  CHECK(text.find("latency_ns: 100\n") != std::string::npos);
  CHECK(text.find("19.19999") == std::string::npos);
  CHECK(text.find("0000000") == std::string::npos);
  auto again = config::loadRun(eff);
  CHECK(again.config.hardware.dram.bandwidth_gbps == 19.2);
  // Device defaults with fractions (xcvu9p: 19.25 GB/s per channel).
  run = config::loadRunString("network:\n  model: tfc\nhardware:\n  device: vcu118\n", "t.yaml");
  CHECK(YAML::Dump(config::effectiveConfig(run.config)["hardware"]["dram"]["bandwidth_gbps"]) == "19.25");
}
