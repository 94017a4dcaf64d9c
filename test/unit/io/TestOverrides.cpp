// --set overrides (io/Overrides): key paths with dotted and bracketed layer names, new and existing
// keys, list and mapping values, malformed overrides, and values located as "(from --set)".
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
#include "mpsim/io/Overrides.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

TEST_CASE("set overrides change existing keys and create new ones and take lists and mappings", "[unit][config]") {
  const std::string base = kResnetZcu102 + "  clock_mhz: 200\n";
  auto run = config::loadRunString(base, "t.yaml",
                                   {"hardware.clock_mhz=150", "simulation.frames=8", "hardware.dram.channels=2",
                                    "mapping.layers.fc={pe: 10, simd: 8}", "simulation.frames=16"});
  const auto& c = run.config;
  CHECK(c.hardware.clock_mhz == Approx(150));
  CHECK(c.simulation.frames == 16); // the later override wins
  CHECK(c.hardware.dram.channels == 2);
  REQUIRE(c.mapping.layers.count("fc") == 1);
  CHECK(c.mapping.layers.at("fc").pe == 10);
  CHECK(c.mapping.layers.at("fc").simd == 8);
  // The overrides are part of the effective config.
  CHECK(config::effectiveConfig(c)["hardware"]["clock_mhz"].as<double>() == Approx(150));
  CHECK(config::effectiveConfig(c)["simulation"]["frames"].as<int>() == 16);
  CHECK(config::effectiveConfig(c)["hardware"]["dram"]["channels"].as<int>() == 2);

  // A list value: one width per output channel of conv1 (64 channels; 7x7x3 = 147 weights each).
  std::string list = "[";
  for (int i = 0; i < 64; ++i) list += std::string(i ? "," : "") + (i < 16 ? "8" : i < 48 ? "4" : "2");
  list += "]";
  run = config::loadRunString(kResnetZcu102, "t.yaml", {"network.quant.layers.conv1.channels=" + list});
  const auto& conv1 = run.graph.at("conv1");
  REQUIRE(conv1.channel_bits.size() == 64);
  CHECK(conv1.channel_bits[0] == 8);
  CHECK(conv1.channel_bits[16] == 4);
  CHECK(conv1.channel_bits[63] == 2);
  CHECK(conv1.weight_bits == 8);
  CHECK(conv1.weightMemoryBits() == 147 * (16 * 8 + 32 * 4 + 16 * 2));
  CHECK(config::effectiveConfig(run.config)["network"]["quant"]["layers"]["conv1"]["channels"].size() == 64);
}

TEST_CASE("set overrides reach layer names that contain dots", "[unit][config]") {
  // Below `layers`, everything up to the last component is the layer name.
  auto parts = io::splitKeyPath("mapping.layers.layer1.0.conv1.pe");
  CHECK(parts == std::vector<std::string>{"mapping", "layers", "layer1.0.conv1", "pe"});
  parts = io::splitKeyPath("network.quant.layers.conv1.channels");
  CHECK(parts == std::vector<std::string>{"network", "quant", "layers", "conv1", "channels"});
  parts = io::splitKeyPath("mapping.layers.\"layer2.0.downsample\".weights");
  CHECK(parts == std::vector<std::string>{"mapping", "layers", "layer2.0.downsample", "weights"});

  auto run = config::loadRunString(kResnetZcu102, "t.yaml",
                                   {"mapping.layers.layer1.0.conv1.pe=4", "mapping.layers.\"layer1.0.conv1\".simd=2",
                                    "network.quant.layers.layer4.1.conv2.weights=2"});
  REQUIRE(run.config.mapping.layers.count("layer1.0.conv1") == 1);
  CHECK(run.config.mapping.layers.size() == 1);
  CHECK(run.config.mapping.layers.at("layer1.0.conv1").pe == 4);
  CHECK(run.config.mapping.layers.at("layer1.0.conv1").simd == 2);
  CHECK(run.graph.at("layer4.1.conv2").weight_bits == 2);
  CHECK(run.graph.at("layer4.1.conv1").weight_bits == 8);
}

TEST_CASE("malformed set overrides are rejected", "[unit][config]") {
  struct Case {
    std::string set;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"hardware.clock_mhz", "--set hardware.clock_mhz: expected key.path=value"},
      {"=3", "--set =3: expected key.path=value"},
      {"mapping.layers[conv1.pe=4", "--set mapping.layers[conv1.pe: unbalanced [ in key path"},
      {"mapping.layers.\"conv1.pe=4", "--set mapping.layers.\"conv1.pe: unbalanced \" in key path"},
      {"mapping.layers.[conv1]pe=4", "--set mapping.layers.[conv1]pe: expected '.' after ']'"},
      {"simulation..frames=4", "--set simulation..frames: empty component in key path"},
      {"hardware.clock_mhz=[1", "--set hardware.clock_mhz=[1: value is not valid YAML"},
      {"hardware.device.name=x", "--set hardware.device.name=x: 'device' holds a value, not a mapping"},
  };
  for (const auto& c : cases) {
    INFO("--set " << c.set);
    CHECK_MESSAGE(runErrors(kResnetZcu102, {c.set}), c.fragment);
  }
}

TEST_CASE("an invalid value given by a set override is located as from --set", "[unit][config]") {
  auto errs = runErrors(kResnetZcu102, {"network.quant.weights=40"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): network.quant.weights: value 40 is out of range; valid: 1..32");
  errs = runErrors(kResnetZcu102, {"simulation.mode=fast"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): simulation.mode: 'fast' is not valid; valid: timestamped, reference");
  errs = runErrors(kResnetZcu102, {"mapping.layers.conv9.pe=2"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): mapping.layers.conv9: no layer named 'conv9' in resnet18");
  errs = runErrors(kResnetZcu102, {"hardware.dram.bandwith_gbps=3"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): hardware.dram.bandwith_gbps: unknown key; valid keys: channels");
}

TEST_CASE("set override with a bracketed key", "[unit][config]") {
  CHECK(io::splitKeyPath("mapping.layers[layer1.0.conv1].simd") ==
        std::vector<std::string>{"mapping", "layers", "layer1.0.conv1", "simd"});
  CHECK(io::splitKeyPath("mapping.layers.[layer1.0.conv1].simd") ==
        std::vector<std::string>{"mapping", "layers", "layer1.0.conv1", "simd"});
  auto errs = runErrors(kResnetZcu102, {"mapping.layers[layer1.0.conv1].simd=2"});
  INFO(joined(errs));
  CHECK(errs.empty());
  auto run =
      config::loadRunString(kResnetZcu102, "t.yaml",
                            {"mapping.layers[layer1.0.conv1].simd=2", "mapping.layers[layer2.0.downsample]={pe: 4}"});
  REQUIRE(run.config.mapping.layers.count("layer1.0.conv1") == 1);
  CHECK(run.config.mapping.layers.at("layer1.0.conv1").simd == 2);
  REQUIRE(run.config.mapping.layers.count("layer2.0.downsample") == 1);
  CHECK(run.config.mapping.layers.at("layer2.0.downsample").pe == 4);
}

TEST_CASE("values given with --set are located as from --set and missing sections at the file", "[unit][config]") {
  // Overriding a key that exists in the file: the value is the override's, so is the location.
  auto errs = runErrors(kResnetZcu102 + "  clock_mhz: 200\n", {"hardware.clock_mhz=fast"});
  CHECK(errs.size() == 1);
  CHECK_MESSAGE(errs, "t.yaml (from --set): hardware.clock_mhz: expected a number, got 'fast'");
  // A mapping value given with --set: positions inside the --set text are not file positions.
  errs = runErrors(kResnetZcu102, {"mapping.layers.conv1={pe: 0}"});
  CHECK(errs.size() == 1);
  CHECK_MESSAGE(errs, "t.yaml (from --set): mapping.layers.conv1.pe: value 0 is out of range; valid: 1..1048576");
  errs =
      runErrors(kResnetZcu102 + "mapping:\n  layers:\n    conv1: {pe: 2}\n", {"mapping.layers.conv1={pe: 2, pex: 1}"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): mapping.layers.conv1.pex: unknown key; valid keys: pe, simd");
  errs = runErrors(kResnetZcu102, {"network.quant.layers.conv1.channels={8: 0.5, 4: 0.25}"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): network.quant.layers.conv1.channels: fractions sum to 0.75; they must "
                      "sum to 1");
  // A whole section replaced by --set: the keys inside it are from --set too.
  errs = runErrors(kResnetZcu102 + "simulation:\n  frames: 8\n", {"simulation={frames: 0}"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): simulation.frames: value 0 is out of range; valid: 1..100000");

  // Keys next to an overridden one keep their file locations, and the order of the keys is kept.
  const std::string text = kResnetZcu102 + "  clock_mhz: 200\nsimulation:\n  frames: 0\n  mode: reference\n";
  errs = runErrors(text, {"simulation.mode=fast", "hardware.clock_mhz=150"});
  CHECK(errs.size() == 2);
  CHECK_MESSAGE(errs, "t.yaml:7:3: simulation.frames: value 0 is out of range; valid: 1..100000");
  CHECK_MESSAGE(errs, "t.yaml (from --set): simulation.mode: 'fast' is not valid; valid: timestamped, reference");
  auto run = config::loadRunString(text, "t.yaml", {"hardware.clock_mhz=150", "simulation.frames=3"});
  CHECK(run.config.hardware.clock_mhz == Approx(150));
  CHECK(run.config.simulation.frames == 3);
  std::vector<std::string> hwKeys, simKeys;
  for (const auto& kv : config::effectiveConfig(run.config)["hardware"]) hwKeys.push_back(kv.first.as<std::string>());
  for (const auto& kv : config::effectiveConfig(run.config)["simulation"])
    simKeys.push_back(kv.first.as<std::string>());
  REQUIRE(hwKeys.size() >= 2);
  CHECK(hwKeys[0] == "device");
  CHECK(hwKeys[1] == "clock_mhz");
  REQUIRE(simKeys.size() >= 2);
  CHECK(simKeys[0] == "frames");
  CHECK(simKeys[1] == "mode");

  // A section missing from the file is not "from --set": it is located at the file.
  errs = runErrors("network:\n  model: resnet18\n");
  INFO(joined(errs));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("(from --set)") == std::string::npos);
  CHECK(errs[0].rfind("t.yaml: hardware: missing required key 'hardware.device'", 0) == 0);
  // ... also when --set adds other keys elsewhere.
  errs = runErrors("network:\n  model: resnet18\n", {"simulation.frames=8"});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].rfind("t.yaml: hardware: missing required key 'hardware.device'", 0) == 0);
  // A section written as `key:` with no value is located at its key.
  errs = runErrors("network:\n  model: resnet18\nhardware:\nsimulation:\n  frames: 8\n");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].rfind("t.yaml:3:1: hardware: missing required key 'hardware.device'", 0) == 0);
  // The same in network files.
  CHECK_MESSAGE(netErrors("layers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml: input: missing required key 'input.shape' ([C, H, W])");
  CHECK_MESSAGE(netErrors("input:\nlayers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:1:1: input: missing required key 'input.shape' ([C, H, W])");
}
