// Run-config and network-YAML loading: valid files, defaults and the effective config, --set
// overrides, quantisation rules, and the exact text of the errors (key path, file:line:col, the
// "valid ..." hint). Formats: docs/run-config.md and docs/network-format.md.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
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

#include <unistd.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/Overrides.hpp"
#include "mpsim/io/YamlReader.hpp"

using namespace mpsim;
namespace fs = std::filesystem;

namespace {

/// The messages of the LoadError thrown by f, or {} when f does not throw one.
std::vector<std::string> errorsOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const LoadError& e) {
    return e.messages();
  }
  return {};
}

std::vector<std::string> runErrors(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return errorsOf([&] { config::loadRunString(text, "t.yaml", overrides); });
}

std::vector<std::string> netErrors(const std::string& text) {
  return errorsOf([&] { io::loadNetworkYamlString(text, "n.yaml"); });
}

std::string joined(const std::vector<std::string>& msgs) {
  std::string s = "messages (" + std::to_string(msgs.size()) + "):";
  for (const auto& m : msgs) s += "\n  " + m;
  return s;
}

/// True when one message contains every fragment.
bool hasMessage(const std::vector<std::string>& msgs, std::initializer_list<std::string> fragments) {
  for (const auto& m : msgs) {
    bool all = true;
    for (const auto& f : fragments)
      if (m.find(f) == std::string::npos) all = false;
    if (all) return true;
  }
  return false;
}

#define CHECK_MESSAGE(msgs, ...)                 \
  do {                                           \
    INFO(joined(msgs));                          \
    CHECK(hasMessage((msgs), {__VA_ARGS__}));    \
  } while (0)

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("mpsim_test_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

const std::string kResnetZcu102 = "network:\n  model: resnet18\nhardware:\n  device: zcu102\n"; // lines 1-4

} // namespace

// ---------------------------------------------------------------------------------------------
// Valid run configs, defaults, the effective config
// ---------------------------------------------------------------------------------------------

TEST_CASE("a valid run config loads with device defaults filled into the effective config",
          "[unit][config]") {
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
  CHECK(c.hardware.device.name == "xczu9eg"); // board alias, case-insensitive
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
  std::vector<fs::path> files;
  for (const char* dir : {"configs/examples", "test/golden"})
    for (const auto& e : fs::recursive_directory_iterator(fs::path(MPSIM_SOURCE_DIR) / dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 10);
  for (const auto& f : files) {
    INFO(f.string());
    const flow::Design d = flow::map(flow::load(f.string()));
    const std::string eff = YAML::Dump(config::effectiveConfig(d.effectiveConfig()));
    const flow::Design again = flow::map(flow::loadText(eff, "<effective>", {}, f.parent_path().string()));
    CHECK(flow::mapReport(again).dump() == flow::mapReport(d).dump());
    CHECK(YAML::Dump(config::effectiveConfig(again.effectiveConfig())) == eff);
  }
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

// ---------------------------------------------------------------------------------------------
// Errors: unknown keys, wrong types, ranges, devices, layer names, files
// ---------------------------------------------------------------------------------------------

TEST_CASE("unknown keys are reported with their key path and location and the valid keys", "[unit][config]") {
  const std::string text = R"(network:
  model: resnet18
  quant:
    layers:
      conv1: {weights: 8, bits: 3}
hardware:
  device: zcu102
  dram:
    bandwith_gbps: 10
mapping:
  layers:
    conv1: {pe: 4, pex: 2}
simulaton:
  frames: 8
)";
  auto errs = runErrors(text);
  CHECK(errs.size() == 4);
  CHECK_MESSAGE(errs, "t.yaml:13:1: simulaton: unknown key; valid keys: network, hardware, mapping, simulation");
  CHECK_MESSAGE(errs, "t.yaml:9:5: hardware.dram.bandwith_gbps: unknown key; valid keys: channels, bandwidth_gbps, "
                      "latency_ns, burst_bytes");
  // (Split around the place where mapping keys of the scheduler, being added in src/sched, go.)
  CHECK_MESSAGE(errs, "t.yaml:12:20: mapping.layers.conv1.pex: unknown key; valid keys: pe, simd, ",
                "weights, weight_reuse");
  // Keys that are absent from the file (channels, acc_bits) are listed too.
  CHECK_MESSAGE(errs, "t.yaml:5:27: network.quant.layers.conv1.bits: unknown key; valid keys: weights, activations, "
                      "activations_signed, activation_type, weight_type, channels, acc_bits");
}

TEST_CASE("wrong types and out-of-range values and bad choices name the key and what is valid", "[unit][config]") {
  struct Case {
    std::string text;
    std::vector<std::string> fragments;
  };
  const std::string p = kResnetZcu102; // lines 1-4; the cases below start at line 5
  const std::vector<Case> cases = {
      {p + "  clock_mhz: fast\n", {"t.yaml:5:3: hardware.clock_mhz: expected a number, got 'fast'"}},
      {p + "  clock_mhz: 5000\n", {"t.yaml:5:3: hardware.clock_mhz: value 5000 MHz is outside 0.001..2000"}},
      {p + "  clock_mhz: 2000.5\n", {"t.yaml:5:3: hardware.clock_mhz: value 2000.5 MHz is outside 0.001..2000"}},
      {p + "  clock_mhz: [1, 2]\n", {"t.yaml:5:3: hardware.clock_mhz: expected a number, got a list"}},
      {"network:\n  model: resnet18\n  quant:\n    weights: 40\nhardware:\n  device: zcu102\n",
       {"t.yaml:4:5: network.quant.weights: value 40 is out of range; valid: 1..32"}},
      {"network:\n  model: resnet18\n  quant:\n    activations: 0\nhardware:\n  device: zcu102\n",
       {"t.yaml:4:5: network.quant.activations: value 0 is out of range; valid: 1..32"}},
      {"network:\n  model: resnet18\n  quant:\n    weight_type: ternary\nhardware:\n  device: zcu102\n",
       {"t.yaml:4:5: network.quant.weight_type: 'ternary' is not valid; valid: signed, unsigned, bipolar"}},
      {"network:\n  model: resnet18\n  quant: 4\nhardware:\n  device: zcu102\n",
       {"t.yaml:3:3: network.quant: expected a mapping, got a scalar"}},
      {p + "mapping:\n  layers:\n    conv1:\n      pe: 0\n",
       {"t.yaml:8:7: mapping.layers.conv1.pe: value 0 is out of range; valid: 1..1048576"}},
      {p + "mapping:\n  layers:\n    conv1: {simd: 2.5}\n",
       {"t.yaml:7:13: mapping.layers.conv1.simd: expected an integer, got '2.5'"}},
      {p + "mapping:\n  layers:\n    conv1: {weights: sram}\n",
       {"t.yaml:7:13: mapping.layers.conv1.weights: 'sram' is not valid; valid: onchip, dram"}},
      {p + "mapping:\n  mode: greedy\n", {"t.yaml:6:3: mapping.mode: 'greedy' is not valid; valid: manual"}},
      {p + "mapping:\n  fifos:\n    shortcut_depth: big\n",
       {"t.yaml:7:5: mapping.fifos.shortcut_depth: expected an integer, got 'big'"}},
      {p + "mapping:\n  fifos:\n    depths: {a_to_b: 0}\n",
       {"t.yaml:7:14: mapping.fifos.depths.a_to_b: value 0 is out of range; valid: 1..16777216"}},
      {p + "simulation:\n  frames: 0\n", {"t.yaml:6:3: simulation.frames: value 0 is out of range; valid: 1..100000"}},
      {p + "  dram:\n    latency_ns: 1e15\n", {"t.yaml:6:5: hardware.dram.latency_ns: value 1e+15 ns is outside 0..1e+06"}},
      {p + "  dram:\n    bandwidth_gbps: 1e-9\n", {"t.yaml:6:5: hardware.dram.bandwidth_gbps: value 1e-09 GB/s is outside 1e-06..1e+05"}},
      {p + "  cost_model:\n    lutram_bits_per_lut: 0\n", {"t.yaml:6:5: hardware.cost_model.lutram_bits_per_lut: value 0 bits per LUT is outside 1..1e+06"}},
      {p + "simulation:\n  mode: fast\n",
       {"t.yaml:6:3: simulation.mode: 'fast' is not valid; valid: timestamped, reference"}},
      {p + "simulation:\n  functional: maybe\n",
       {"t.yaml:6:3: simulation.functional: expected true or false, got 'maybe'"}},
      {p + "  dram:\n    channels: two\n", {"t.yaml:6:5: hardware.dram.channels: expected an integer, got 'two'"}},
      {p + "  dram:\n    bandwidth_gbps: 0\n", {"t.yaml:6:5: hardware.dram.bandwidth_gbps: value 0 GB/s is outside 1e-06..1e+05"}},
      {p + "  dram:\n    latency_ns: -3\n", {"t.yaml:6:5: hardware.dram.latency_ns: value -3 ns is outside 0..1e+06"}},
      {p + "  dram:\n    latency_ns: -2.5e-3\n",
       {"t.yaml:6:5: hardware.dram.latency_ns: value -0.0025 ns is outside 0..1e+06"}},
      {p + "  dram: 4\n", {"t.yaml:5:3: hardware.dram: expected a mapping, got a scalar"}},
      {"network:\n  model: resnet18\nhardware:\n  device: zcu999\n",
       {"t.yaml:4:3: hardware.device: unknown device 'zcu999'; valid: xc7z020 (pynq-z1, pynq-z2, zedboard), ",
        "xczu9eg (zcu102)", "xcu250 (u250, alveo-u250), or an inline block"}},
      // A section missing from the file is located at the file (not "(from --set)").
      {"network:\n  model: resnet18\n", {"t.yaml: hardware: missing required key 'hardware.device' (a device name: xc7z020"}},
      {"hardware:\n  device: zcu102\n", {"t.yaml: network: missing required key 'network.model'"}},
      // A section written without a value is located at its key.
      {"network:\n  model: resnet18\nhardware:\n", {"t.yaml:3:1: hardware: missing required key 'hardware.device'"}},
  };
  for (const auto& c : cases) {
    INFO("config:\n" << c.text);
    auto errs = runErrors(c.text);
    REQUIRE_FALSE(errs.empty());
    INFO(joined(errs));
    CHECK(errs.size() == 1);
    for (const auto& f : c.fragments) CHECK(hasMessage(errs, {f}));
  }
  // `mapping.mode: auto` needs the scheduler (src/sched, being added concurrently): a build without
  // it says so and names the valid modes; a build with it accepts the value.
  {
    auto errs = runErrors(p + "mapping:\n  mode: auto\n");
    INFO(joined(errs));
    CHECK((errs.empty() ||
           hasMessage(errs, {"t.yaml:6:3: mapping.mode: 'auto' needs the scheduler", "valid: manual"})));
  }
}

TEST_CASE("the network model must be a zoo name or a network file", "[unit][config]") {
  // Located at the network.model key of the run config.
  auto errs = runErrors("network:\n  model: resnet19\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:2:3: network.model: 'resnet19' is neither a built-in model (resnet18, resnet34, resnet50, resnet101, resnet152, "
                      "vgg16, mobilenet_v1, cnv, tfc) nor a network file (.yaml, .yml, .onnx)");
  errs = runErrors("network:\n  model: nets/missing.yaml\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:2:3: network.model: nets/missing.yaml: network file not found (looked for nets/missing.yaml)");
  errs = runErrors("network:\n  model: model.onnx\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:2:3: network.model: model.onnx: network file not found (looked for model.onnx)");
  errs = runErrors(kResnetZcu102, {"network.model=vgg19"});
  CHECK_MESSAGE(errs, "t.yaml (from --set): network.model: 'vgg19' is neither a built-in model");
  // A network description where a run config belongs.
  errs = runErrors("input: {shape: [16]}\nlayers:\n  - {name: f, type: fc, out_features: 4}\n");
  CHECK_MESSAGE(errs, "t.yaml: this is a network description (input, layers), not a run config; run it with "
                      "`mpsim run --set network.model=t.yaml`");
  // Problems inside a network file are located in that file.
  TempDir dir;
  dir.write("bad_net.yaml", "input: {shape: [3, 4, 4]}\nlayers:\n  - {name: c, type: conv, kernel: 1}\n");
  errs = errorsOf([&] {
    config::loadRunString("network:\n  model: bad_net.yaml\nhardware:\n  device: zcu102\n", "t.yaml", {},
                          dir.path.string());
  });
  CHECK_MESSAGE(errs, (dir.path / "bad_net.yaml").string() + ":3:5: layers[0]: missing required key "
                                                               "'layers[0].out_channels'");
}

TEST_CASE("mapping and quant rules may only name layers of the network", "[unit][config]") {
  auto errs = runErrors(kResnetZcu102 + R"(mapping:
  layers:
    conv9: {pe: 2}
    maxpool: {weights: dram}
    layer1.0.conv2: {pe: 2}
)");
  CHECK(errs.size() == 2);
  CHECK_MESSAGE(errs, "t.yaml:7:5: mapping.layers.conv9: no layer named 'conv9' in resnet18");
  CHECK_MESSAGE(errs, "t.yaml:8:5: mapping.layers.maxpool.weights: layer 'maxpool' has no weights");

  errs = runErrors(R"(network:
  model: resnet18
  quant:
    layers:
      layer1.0.conv3: {weights: 2}
hardware:
  device: zcu102
)");
  CHECK_MESSAGE(errs, "t.yaml:5:7: network.quant.layers.layer1.0.conv3: no layer named 'layer1.0.conv3' in resnet18",
                "mpsim info resnet18");
}

TEST_CASE("a missing file names the path and malformed YAML gives file:line:col", "[unit][config]") {
  const std::string missing = "/nonexistent/mpsim/run.yaml";
  auto errs = errorsOf([&] { config::loadRun(missing); });
  CHECK_MESSAGE(errs, missing + ": cannot open YAML (No such file or directory)");
  errs = errorsOf([&] { io::loadNetworkYaml("/nonexistent/mpsim/net.yaml"); });
  CHECK_MESSAGE(errs, "/nonexistent/mpsim/net.yaml: cannot open YAML (No such file or directory)");

  TempDir dir;
  std::string bad = dir.write("bad.yaml", "network:\n  model: [resnet18\nhardware:\n  device: zcu102\n");
  errs = errorsOf([&] { config::loadRun(bad); });
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].rfind(bad + ":", 0) == 0);
  CHECK_MESSAGE(errs, bad + ":3:9: malformed YAML");

  CHECK_MESSAGE(runErrors("network:\n  model: resnet18\n   extra: 1\n"), "t.yaml:3:9: malformed YAML: illegal map value");
  CHECK_MESSAGE(netErrors("layers: [\n"), "n.yaml:2:1: malformed YAML");
  CHECK_MESSAGE(runErrors("- network\n- hardware\n"), "t.yaml:1:1: expected a mapping at the top level");
}

TEST_CASE("every problem in a file is reported in one LoadError", "[unit][config]") {
  const std::string text = R"(network:
  model: resnet18
  quant:
    weights: 40
hardware:
  device: zcu102
  clock_mhz: fast
mapping:
  layers:
    conv1: {pe: 0}
simulation:
  frames: many
  colour: blue
)";
  try {
    config::loadRunString(text, "multi.yaml");
    FAIL("no LoadError thrown");
  } catch (const LoadError& e) {
    const auto& errs = e.messages();
    INFO(joined(errs));
    CHECK(errs.size() == 5);
    CHECK(hasMessage(errs, {"multi.yaml:4:5: network.quant.weights: value 40 is out of range"}));
    CHECK(hasMessage(errs, {"multi.yaml:7:3: hardware.clock_mhz: expected a number, got 'fast'"}));
    CHECK(hasMessage(errs, {"multi.yaml:10:13: mapping.layers.conv1.pe: value 0 is out of range"}));
    CHECK(hasMessage(errs, {"multi.yaml:12:3: simulation.frames: expected an integer, got 'many'"}));
    CHECK(hasMessage(errs, {"multi.yaml:13:3: simulation.colour: unknown key; valid keys: frames, mode, functional"}));
    // what() lists every message, one per line.
    std::string what = e.what();
    CHECK(std::count(what.begin(), what.end(), '\n') == 4);
  }
}

// ---------------------------------------------------------------------------------------------
// --set overrides
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Quantisation rules (network.quant)
// ---------------------------------------------------------------------------------------------

TEST_CASE("quant rules: defaults < first_layer / last_layer < layers.<name> with channels as list and fractions",
          "[unit][config][quant]") {
  const std::string text = R"(network:
  model: cnv
  quant:
    weights: 2
    activations: 2
    input_bits: 8
    first_layer: {weights: 8, activations: 8}
    last_layer: {weights: 8, activations: 16, activations_signed: true}
    layers:
      conv0: {weights: 4}
      conv1: {channels: {8: 0.25, 4: 0.75}}
      fc8: {channels: [8, 8, 4, 4, 4, 4, 2, 2, 2, 2]}
      fc7: {weights: 1}
      fc6: {weight_type: unsigned, acc_bits: 24}
hardware:
  device: pynq-z1
)";
  auto run = config::loadRunString(text, "q.yaml");
  const auto& g = run.graph;
  CHECK(g.at("input").out.bits == 8);
  // conv0: layers.conv0 beats first_layer for the weights; first_layer's activations stay.
  CHECK(g.at("conv0").weight_bits == 4);
  CHECK(g.at("conv0").weight_type == graph::WeightType::Signed);
  CHECK(g.at("conv0").out.bits == 8);
  CHECK(g.at("conv0").in.bits == 8);
  // conv1: 64 channels, the first quarter 8-bit, the rest 4-bit.
  const auto& conv1 = g.at("conv1");
  REQUIRE(conv1.channel_bits.size() == 64);
  CHECK(std::count(conv1.channel_bits.begin(), conv1.channel_bits.begin() + 16, 8) == 16);
  CHECK(std::count(conv1.channel_bits.begin() + 16, conv1.channel_bits.end(), 4) == 48);
  CHECK(conv1.weight_bits == 8);
  CHECK(conv1.in.bits == 8);
  CHECK(conv1.out.bits == 2);
  CHECK(g.at("pool0").out.bits == 2); // max pool passes conv1's type through
  CHECK(g.at("conv2").weight_bits == 2);
  CHECK(g.at("conv2").in.bits == 2);
  // fc8: last_layer then layers.fc8's explicit list.
  const auto& fc8 = g.at("fc8");
  CHECK(fc8.channel_bits == std::vector<int>{8, 8, 4, 4, 4, 4, 2, 2, 2, 2});
  CHECK(fc8.out.bits == 16);
  CHECK(fc8.out.is_signed);
  CHECK(g.at("output").out.bits == 16);
  // 1-bit weights default to bipolar; weight_type and acc_bits are kept.
  CHECK(g.at("fc7").weight_bits == 1);
  CHECK(g.at("fc7").weight_type == graph::WeightType::Bipolar);
  CHECK(g.at("fc6").weight_type == graph::WeightType::Unsigned);
  CHECK(g.at("fc6").accBits() == 24);

  auto s = graph::computeStats(g);
  auto layer = [&](const std::string& n) {
    for (const auto& l : s.layers)
      if (l.name == n) return l;
    FAIL("no layer " << n);
    return graph::LayerStats{};
  };
  CHECK(layer("conv1").weight_bits == 576 * (16 * 8 + 48 * 4));
  CHECK(layer("conv1").weight_bits_label == "mixed 8/4");
  CHECK(layer("fc8").weight_bits == 512 * (2 * 8 + 4 * 4 + 4 * 2));
  CHECK(layer("fc8").weight_bits_label == "mixed 8/4/2");
  CHECK(layer("conv0").weight_bits == 1728 * 4);
  CHECK(layer("conv0").weight_bits_label == "4");
  CHECK(layer("fc7").weight_bits == 262144);
  // conv0 4b, conv1 mixed, conv2..conv5 2b, fc6 2b, fc7 1b, fc8 mixed.
  const int64_t expected = 1728 * 4 + 576 * 320 + (73728 + 147456 + 294912 + 589824) * 2 + 131072 * 2 + 262144 +
                           512 * 40;
  CHECK(s.weight_bits == expected);
  CHECK(s.weights == 1542848);
}

TEST_CASE("quant rules: fractions are assigned in order and the last width takes the remainder",
          "[unit][config][quant]") {
  // tfc fc3 has 10 outputs: 0.25 * 10 = 2.5 rounds to 3 channels of 8 bits, 7 of 4 bits.
  auto run = config::loadRunString("network:\n  model: tfc\n  quant:\n    layers:\n      fc3:\n"
                                   "        channels: {8: 0.25, 4: 0.75}\nhardware:\n  device: pynq-z1\n",
                                   "f.yaml");
  CHECK(run.graph.at("fc3").channel_bits == std::vector<int>{8, 8, 8, 4, 4, 4, 4, 4, 4, 4});
  // Three widths: round(4.5) = 5 x 8, round(3.5) = 4 x 4, and the last width gets the remaining 1
  // channel (not 0.2 * 10 = 2).
  run = config::loadRunString("network:\n  model: tfc\nhardware:\n  device: pynq-z1\n", "f.yaml",
                              {"network.quant.layers.fc3.channels={8: 0.45, 4: 0.35, 2: 0.2}"});
  CHECK(run.graph.at("fc3").channel_bits == std::vector<int>{8, 8, 8, 8, 8, 4, 4, 4, 4, 2});
  CHECK(run.graph.at("fc3").weightMemoryBits() == 64 * (5 * 8 + 4 * 4 + 2));
  // Widths are assigned in the order written, not sorted.
  run = config::loadRunString(kResnetZcu102, "t.yaml", {"network.quant.layers.fc.channels={2: 0.25, 8: 0.5, 4: 0.25}"});
  const auto& fc = run.graph.at("fc");
  REQUIRE(fc.channel_bits.size() == 1000);
  CHECK(std::count(fc.channel_bits.begin(), fc.channel_bits.begin() + 250, 2) == 250);
  CHECK(std::count(fc.channel_bits.begin() + 250, fc.channel_bits.begin() + 750, 8) == 500);
  CHECK(std::count(fc.channel_bits.begin() + 750, fc.channel_bits.end(), 4) == 250);
  CHECK(fc.weightMemoryBits() == 512 * (250 * 2 + 500 * 8 + 250 * 4));
}

TEST_CASE("quant rules: bad channel specifications are errors", "[unit][config][quant]") {
  auto quant = [](const std::string& layerRule) {
    return "network:\n  model: cnv\n  quant:\n    layers:\n      conv1: " + layerRule + "\nhardware:\n  device: pynq-z1\n";
  };
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 0.5, 4: 0.25}}")),
                "t.yaml:5:15: network.quant.layers.conv1.channels: fractions sum to 0.75; they must sum to 1");
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 0.5, 4: 0.625}}")),
                "t.yaml:5:15: network.quant.layers.conv1.channels: fractions sum to 1.125; they must sum to 1");
  CHECK_MESSAGE(runErrors(quant("{channels: {8: 1.5}}")),
                "t.yaml:5:26: network.quant.layers.conv1.channels.8: fraction 1.5 must be in (0, 1]");
  CHECK_MESSAGE(runErrors(quant("{channels: {eight: 1}}")),
                "network.quant.layers.conv1.channels.eight: expected a bit-width 1..32 as key");
  CHECK_MESSAGE(runErrors(quant("{channels: [8, 4, 4]}")), "t.yaml:5:7: layer 'conv1': the channels list has 3 entries "
                                                            "but the layer has 64 output channels");
  CHECK_MESSAGE(runErrors(quant("{channels: [8, 40]}")),
                "network.quant.layers.conv1.channels: element 1: value 40 is out of range; valid: 1..32");
  CHECK_MESSAGE(runErrors(quant("{channels: []}")),
                "network.quant.layers.conv1.channels: the list of per-channel widths is empty");
  CHECK_MESSAGE(runErrors(quant("{channels: 8}")), "network.quant.layers.conv1.channels: expected a list of widths");
  auto errs = runErrors("network:\n  model: cnv\n  quant:\n    layers:\n      pool0: {channels: [8]}\n"
                        "hardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "t.yaml:5:7: layer 'pool0' (maxpool) has no weights; 'channels' and 'acc_bits' apply to conv "
                      "and fc layers only");
  errs = runErrors("network:\n  model: cnv\n  quant:\n    weights: 4\n    weight_type: bipolar\n"
                   "hardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "layer 'conv0' (conv): bipolar weights must be 1 bit, got 4");
}

// ---------------------------------------------------------------------------------------------
// Network YAML
// ---------------------------------------------------------------------------------------------

TEST_CASE("network YAML: every layer type with shapes and per-layer and per-channel bits", "[unit][config][network]") {
  const std::string text = R"(name: tiny
input: {shape: [8, 16, 16], bits: 8}
defaults: {weights: 4, activations: 4}
layers:
  - {name: conv1, type: conv, out_channels: 16, kernel: 3, padding: 1, weights: 8}
  - {name: dw, type: conv, out_channels: 16, kernel: 3, padding: 1, groups: 16, weight_type: unsigned}
  - {name: pw, type: conv, out_channels: 16, kernel: 1, channels: [8, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2]}
  - {name: res, type: add, inputs: [pw, conv1], activations: 6, activations_signed: true}
  - {name: mp, type: maxpool, kernel: 2}
  - {name: ap, type: avgpool, inputs: [mp], kernel: 3, stride: 1, padding: 1, activations: 5}
  - {name: cat, type: concat, inputs: [mp, ap]}
  - {name: gap, type: global_avgpool, activations: 7, requant: scale_shift}
  - {name: flat, type: flatten}
  - {name: fc, type: fc, out_features: 10, weights: 1, acc_bits: 12}
  - {name: q, type: quantizer, activations: 3}
)";
  auto g = io::loadNetworkYamlString(text, "tiny.yaml");
  using graph::Shape;
  CHECK(g.name() == "tiny");
  CHECK(g.source() == "tiny.yaml");
  CHECK(g.at("input").out_shape == Shape{1, 8, 16, 16});
  CHECK(g.at("input").out.bits == 8);
  CHECK_FALSE(g.at("input").out.is_signed);

  const auto& conv1 = g.at("conv1");
  CHECK(conv1.out_shape == Shape{1, 16, 16, 16});
  CHECK(conv1.weight_bits == 8);
  CHECK(conv1.weight_type == graph::WeightType::Signed);
  CHECK(conv1.out.bits == 4);
  CHECK(conv1.in.bits == 8);
  CHECK(conv1.line == 5);
  CHECK(conv1.requant == graph::Requant::Thresholds);

  const auto& dw = g.at("dw");
  CHECK(dw.isDepthwise());
  CHECK(dw.out_shape == Shape{1, 16, 16, 16});
  CHECK(dw.weight_bits == 4);
  CHECK(dw.weight_type == graph::WeightType::Unsigned);
  CHECK(dw.macs() == 9 * 16 * 16 * 16);
  CHECK(dw.weightCount() == 9 * 16);

  const auto& pw = g.at("pw");
  REQUIRE(pw.channel_bits.size() == 16);
  CHECK(pw.channel_bits.front() == 8);
  CHECK(pw.channel_bits[4] == 4);
  CHECK(pw.channel_bits.back() == 2);
  CHECK(pw.weight_bits == 8);
  CHECK(pw.weightMemoryBits() == 16 * (4 * 8 + 8 * 4 + 4 * 2));

  CHECK(g.at("res").out_shape == Shape{1, 16, 16, 16});
  CHECK(g.at("res").out.bits == 6);
  CHECK(g.at("res").out.is_signed);
  // max pool passes its input type through (not the 4-bit default).
  CHECK(g.at("mp").out_shape == Shape{1, 16, 8, 8});
  CHECK(g.at("mp").out.bits == 6);
  CHECK(g.at("mp").out.is_signed);
  CHECK(g.at("ap").out_shape == Shape{1, 16, 8, 8});
  CHECK(g.at("ap").out.bits == 5);
  CHECK_FALSE(g.at("ap").out.is_signed);
  CHECK(g.at("cat").out_shape == Shape{1, 32, 8, 8});
  CHECK(g.at("gap").out_shape == Shape{1, 32, 1, 1});
  CHECK(g.at("gap").out.bits == 7);
  CHECK(g.at("gap").requant == graph::Requant::ScaleShift);
  CHECK(g.at("flat").out_shape == Shape{1, 32, 1, 1});
  CHECK(g.at("flat").out.bits == 7);

  const auto& fc = g.at("fc");
  CHECK(fc.out_shape == Shape{1, 10, 1, 1});
  CHECK(fc.weight_bits == 1);
  CHECK(fc.weight_type == graph::WeightType::Bipolar);
  CHECK(fc.in.bits == 7);
  CHECK(fc.dotLength() == 32);
  CHECK(fc.accBits() == 12);
  CHECK(fc.out.bits == 4);
  CHECK(g.at("q").out.bits == 3);
  CHECK(g.at("q").out_shape == Shape{1, 10, 1, 1});
  REQUIRE(g.find("output") != nullptr);
  CHECK(g.at("output").inputs == std::vector<std::string>{"q"});
  CHECK(g.at("output").out.bits == 3);

  auto s = graph::computeStats(g);
  CHECK(s.macs == 72 * 16 * 256 + 9 * 16 * 256 + 16 * 16 * 256 + 32 * 10);
  CHECK(s.weight_bits == 72 * 16 * 8 + 144 * 4 + 16 * 72 + 320);
  bool sawDw = false;
  for (const auto& l : s.layers)
    if (l.name == "dw") sawDw = l.kind == "conv_dw";
  CHECK(sawDw);
}

TEST_CASE("network YAML: geometry pairs and defaults section and explicit outputs", "[unit][config][network]") {
  const std::string text = R"(input: {shape: [4, 9, 9], bits: 6, signed: true}
defaults: {weights: 3, activations: 5, requant: none}
layers:
  - {name: c, type: conv, out_channels: 8, kernel: [3, 1], stride: [2, 1], padding: [1, 0], dilation: 2}
  - {name: p, type: maxpool, kernel: 2, stride: 1}
  - {name: v, type: fc, inputs: [input], out_features: 5}
outputs: [p, v]
)";
  auto g = io::loadNetworkYamlString(text, "geo.yaml");
  CHECK(g.name() == "geo"); // no name: the file stem
  CHECK(g.at("input").out.bits == 6);
  CHECK(g.at("input").out.is_signed);
  const auto& c = g.at("c");
  // H: (9 + 2 - 5) / 2 + 1 = 4; W: (9 - 1) / 1 + 1 = 9.
  CHECK(c.out_shape == graph::Shape{1, 8, 4, 9});
  CHECK(c.weight_bits == 3);
  CHECK(c.out.bits == 5);
  CHECK(c.requant == graph::Requant::None);
  CHECK(g.at("p").out_shape == graph::Shape{1, 8, 3, 8});
  CHECK(g.at("v").dotLength() == 4 * 9 * 9);
  CHECK(g.at("output0").inputs == std::vector<std::string>{"p"});
  CHECK(g.at("output1").inputs == std::vector<std::string>{"v"});
  CHECK(g.at("output1").out.bits == 5);
}

TEST_CASE("network YAML: labelselect / topk with k, and a round trip through writeNetworkYaml",
          "[unit][config][network]") {
  const std::string text = R"(name: head
input: {shape: [8, 4, 4], bits: 4}
defaults: {weights: 2, activations: 3}
layers:
  - {name: c, type: conv, out_channels: 6, kernel: 3, padding: 1}
  - {name: fl, type: flatten}
  - {name: fc, type: fc, out_features: 300}
  - {name: top5, type: labelselect, k: 5}
  - {name: top1, type: topk, inputs: [fc]}
outputs: [top5, top1]
)";
  auto g = io::loadNetworkYamlString(text, "head.yaml");
  const auto& t5 = g.at("top5");
  CHECK(t5.kind == graph::LayerKind::LabelSelect);
  CHECK(t5.topk == 5);
  CHECK(t5.out_shape == graph::Shape{1, 5, 1, 1});
  CHECK(t5.out.bits == 9); // indices 0..299
  CHECK_FALSE(t5.out.is_signed);
  CHECK(t5.in.bits == 3);
  CHECK(t5.line == 8);
  const auto& t1 = g.at("top1");
  CHECK(t1.kind == graph::LayerKind::LabelSelect);
  CHECK(t1.topk == 1); // the default
  CHECK(t1.out_shape == graph::Shape{1, 1, 1, 1});
  CHECK(g.at("output0").out_shape == graph::Shape{1, 5, 1, 1});
  CHECK(g.at("output1").out.bits == 9);

  // Round trip: writeNetworkYaml -> loadNetworkYamlString gives the same layers, k included.
  auto one = io::loadNetworkYamlString(R"(input: {shape: [20]}
layers:
  - {name: fc, type: fc, out_features: 12, weights: 4, activations: 6, activations_signed: true}
  - {name: top, type: labelselect, k: 3}
)", "one.yaml");
  std::ostringstream os;
  io::writeNetworkYaml(one, os);
  INFO(os.str());
  auto back = io::loadNetworkYamlString(os.str(), "back.yaml");
  REQUIRE(back.layers().size() == one.layers().size());
  for (const auto& l : one.layers()) {
    const auto* b = back.find(l.name);
    REQUIRE(b);
    CHECK(b->kind == l.kind);
    CHECK(b->topk == l.topk);
    CHECK(b->out_shape == l.out_shape);
    CHECK(b->out.bits == l.out.bits);
    CHECK(b->out.is_signed == l.out.is_signed);
    CHECK(b->in.bits == l.in.bits);
    CHECK(b->inputs == l.inputs);
  }
  CHECK(back.at("top").out.bits == 4);
  CHECK(back.at("top").topk == 3);
  CHECK(back.at("top").in.is_signed);
}

TEST_CASE("network YAML: errors name the layer and the location and what is valid", "[unit][config][network]") {
  const std::string head = "input: {shape: [8, 8, 8]}\nlayers:\n"; // layers start on line 3
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: convolution, out_channels: 4, kernel: 3}\n"),
                "n.yaml:3:15: layers[0].type: 'convolution' is not a layer type; valid: input, output, conv, fc, "
                "maxpool, avgpool, global_avgpool, add, fork, concat, flatten, quantizer, labelselect, topk");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, kernel: 3}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'layers[0].out_channels'");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'kernel'");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: fc}\n"),
                "n.yaml:3:5: layers[0]: missing required key 'layers[0].out_features'");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"
                                 "  - {name: d, type: conv, inputs: [nope], out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'd' (conv): input 'nope' is not a layer of this network (dangling edge)");
  CHECK_MESSAGE(netErrors(head + "  - {name: a, type: conv, out_channels: 16, kernel: 1}\n"
                                 "  - {name: sum, type: add, inputs: [a, input]}\n"),
                "n.yaml:4: layer 'sum' (add): inputs have different shapes: 1x16x8x8 and 1x8x8x8");
  CHECK_MESSAGE(netErrors(head + "  - {name: sum, type: add}\n"), "n.yaml:3: layer 'sum' (add): needs 2 input(s), has 1");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, activations: 4}\n"),
                "n.yaml:3:5: layers[0]: layer 'p' (maxpool) passes its input type through; 'activations' does not "
                "apply");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, weights: 4}\n"),
                "layer 'p' (maxpool) has no weights; weights, weight_type, channels and acc_bits apply to conv and fc");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: fc, out_features: 4, stride: 2}\n"),
                "n.yaml:3:42: layers[0].stride: unknown key; valid keys: name, type, inputs, out_features, weights");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1, channels: [8, 4]}\n"),
                "layers[0].channels: the channels list has 2 entries but the layer has 4 output channels");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1, weights: 4, "
                                 "weight_type: bipolar}\n"),
                "n.yaml:3: layer 'c' (conv): bipolar weights must be 1 bit, got 4");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 6, kernel: 1, groups: 4}\n"),
                "layer 'c' (conv): groups=4 must divide both input channels (8) and out_channels (6)");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 9}\n"),
                "layer 'c' (conv): kernel 9x9 does not fit the input 1x8x8x8");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: [1, 2, 3]}\n"),
                "layers[0].kernel: expected one integer or a list of two [height, width]");
  CHECK_MESSAGE(netErrors(head + "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"
                                 "  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'c' (conv): duplicate layer name");
  CHECK_MESSAGE(netErrors("layers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1}\n"),
                "input: missing required key 'input.shape' ([C, H, W])");
  CHECK_MESSAGE(netErrors("input: {shape: [8, 8, 8]}\nlayers: {c: conv}\n"), "n.yaml:2:1: layers: expected a list of layers");
  CHECK_MESSAGE(netErrors(head + "  - {name: i2, type: input}\n"),
                "layers[0].type: the network input is declared under 'input:', not as a layer");
  CHECK_MESSAGE(netErrors(head + "  - {name: q, type: quantizer, activations: 40}\n"),
                "n.yaml:3:32: layers[0].activations: value 40 is out of range; valid: 1..32");

  // labelselect (top-k): k on the layer, the input must be a score vector, no activations.
  CHECK_MESSAGE(netErrors(head + "  - {name: top, type: labelselect, k: 2}\n"),
                "n.yaml:3: layer 'top' (labelselect): input 1x8x8x8 is not a vector of class scores (C x 1 x 1); "
                "put a flatten (or a global_avgpool) before it");
  CHECK_MESSAGE(netErrors(head + "  - {name: f, type: flatten}\n  - {name: top, type: topk, k: 513}\n"),
                "n.yaml:4: layer 'top' (labelselect): k = 513 is outside 1..512 (the 512 class scores of its input)");
  CHECK_MESSAGE(netErrors(head + "  - {name: g, type: global_avgpool}\n  - {name: top, type: labelselect, k: 0}\n"),
                "n.yaml:4:36: layers[1].k: value 0 is out of range; valid: 1..C (C = the class scores of the input)");
  CHECK_MESSAGE(netErrors(head + "  - {name: g, type: global_avgpool}\n  - {name: top, type: labelselect, activations: 4}\n"),
                "n.yaml:4:5: layers[1]: layer 'top' (labelselect) outputs class indices (unsigned, ceil(log2(classes)) "
                "bits); 'activations' does not apply");
  CHECK_MESSAGE(netErrors(head + "  - {name: p, type: maxpool, kernel: 2, k: 2}\n"),
                "n.yaml:3:41: layers[0].k: unknown key; valid keys: name, type, inputs, kernel, stride, padding");

  // All problems of a file come in one LoadError.
  auto errs = netErrors(head + "  - {name: a, type: pool}\n  - {name: b, type: conv, kernel: 1}\n  - {name: c, type: fc, "
                               "out_features: 0}\n");
  // An unknown type is reported once: its other keys are not checked against a guessed type.
  CHECK(errs.size() == 3);
  CHECK_MESSAGE(errs, "n.yaml:3:15: layers[0].type: 'pool' is not a layer type");
  CHECK_MESSAGE(errs, "n.yaml:4:5: layers[1]: missing required key 'layers[1].out_channels'");
  CHECK_MESSAGE(errs, "n.yaml:5:25: layers[2].out_features: value 0 is out of range; valid: 1..16777216");
}

// ---------------------------------------------------------------------------------------------
// Shipped files
// ---------------------------------------------------------------------------------------------

TEST_CASE("every file under configs/ loads and the built-in default loads", "[unit][config][files]") {
  const fs::path root = fs::path(MPSIM_SOURCE_DIR) / "configs";
  int networks = 0, examples = 0;
  for (const auto& entry : fs::directory_iterator(root / "networks")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(io::loadNetworkYaml(entry.path().string()));
    ++networks;
  }
  for (const auto& entry : fs::directory_iterator(root / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    try {
      config::loadRun(entry.path().string());
    } catch (const LoadError& e) {
      FAIL(e.what());
    }
    ++examples;
  }
  CHECK(networks >= 2);
  CHECK(examples >= 4);

  auto def = config::loadRunString(config::defaultRunYaml(), "<built-in default>");
  CHECK(def.config.network.model == "resnet18");
  CHECK(def.config.hardware.device.name == "xczu9eg");
  CHECK(def.config.hardware.clock_mhz == Approx(200));
  CHECK(def.graph.at("conv1").weight_bits == 8);
  CHECK(def.graph.at("fc").weight_bits == 8);
  CHECK(def.graph.at("layer2.0.conv1").weight_bits == 4);
  CHECK(def.graph.at("layer2.0.conv1").out.bits == 4);
  CHECK(def.graph.at("input").out.bits == 8);

  // configs/examples/resnet18_zcu102.yaml is the built-in default, commented.
  auto file = config::loadRun((root / "examples" / "resnet18_zcu102.yaml").string());
  CHECK(YAML::Dump(config::effectiveConfig(file.config)) == YAML::Dump(config::effectiveConfig(def.config)));
}

TEST_CASE("the shipped examples carry the intended values", "[unit][config][files]") {
  const fs::path ex = fs::path(MPSIM_SOURCE_DIR) / "configs" / "examples";

  // FINN CNV-W1A1 folding (finn-examples cnv-w1a1_folding_config.json, MVAU_hls_0..8).
  auto cnv = config::loadRun((ex / "cnv_w1a1_pynq.yaml").string());
  CHECK(cnv.config.hardware.device.name == "xc7z020");
  CHECK(cnv.config.hardware.clock_mhz == Approx(100));
  const std::vector<std::tuple<std::string, int, int>> cnvFold = {
      {"conv0", 16, 3}, {"conv1", 32, 32}, {"conv2", 16, 32}, {"conv3", 16, 32}, {"conv4", 4, 32},
      {"conv5", 1, 32}, {"fc6", 1, 4},     {"fc7", 1, 8},     {"fc8", 5, 1}};
  CHECK(cnv.config.mapping.layers.size() == cnvFold.size());
  for (const auto& [name, pe, simd] : cnvFold) {
    INFO(name);
    REQUIRE(cnv.config.mapping.layers.count(name) == 1);
    CHECK(cnv.config.mapping.layers.at(name).pe == pe);
    CHECK(cnv.config.mapping.layers.at(name).simd == simd);
  }
  for (const auto* l : cnv.graph.weightedLayers()) {
    INFO(l->name);
    CHECK(l->weight_bits == 1);
    CHECK(l->weight_type == graph::WeightType::Bipolar);
    CHECK(l->out.bits == 1);
  }
  CHECK(cnv.graph.at("conv0").in.bits == 8);
  CHECK(cnv.graph.at("conv1").in.bits == 1);

  auto tfc = config::loadRun((ex / "tfc_w1a1_pynq.yaml").string());
  const std::vector<std::tuple<std::string, int, int>> tfcFold = {
      {"fc0", 16, 49}, {"fc1", 8, 8}, {"fc2", 8, 8}, {"fc3", 10, 8}};
  CHECK(tfc.config.mapping.layers.size() == tfcFold.size());
  for (const auto& [name, pe, simd] : tfcFold) {
    INFO(name);
    REQUIRE(tfc.config.mapping.layers.count(name) == 1);
    CHECK(tfc.config.mapping.layers.at(name).pe == pe);
    CHECK(tfc.config.mapping.layers.at(name).simd == simd);
  }
  CHECK(tfc.graph.at("fc0").weight_type == graph::WeightType::Bipolar);
  CHECK(tfc.graph.at("fc0").in.bits == 8);

  // The relative network path resolves against the config's directory.
  auto rb = config::loadRun((ex / "resnet_block_small.yaml").string());
  CHECK(rb.graph.name() == "resnet_block");
  CHECK(rb.config.hardware.device.name == "xczu3eg");
  CHECK(rb.config.hardware.clock_mhz == Approx(250));
  CHECK(rb.graph.at("block2.add").out_shape == graph::Shape{1, 32, 8, 8});
  CHECK(rb.graph.at("block1.add").inputs == std::vector<std::string>{"block1.conv2", "stem"});
  const auto& b2 = rb.graph.at("block2.conv1");
  REQUIRE(b2.channel_bits.size() == 32);
  CHECK(std::count(b2.channel_bits.begin(), b2.channel_bits.end(), 8) == 8);
  CHECK(b2.channel_bits[7] == 8);
  CHECK(b2.channel_bits[8] == 4);
  CHECK(rb.graph.at("fc").in.bits == 4);
  CHECK(rb.graph.at("fc").weight_bits == 8);

  auto mp = io::loadNetworkYaml((fs::path(MPSIM_SOURCE_DIR) / "configs" / "networks" / "mixed_precision_cnn.yaml").string());
  CHECK(mp.at("conv2").channel_bits == std::vector<int>{8, 8, 4, 4, 4, 4, 2, 2});
  CHECK(mp.at("conv3_dw").isDepthwise());
  CHECK(mp.at("conv3_dw").weight_bits == 6);
  CHECK(mp.at("pool2").out.bits == 2);
  CHECK(mp.at("fc").dotLength() == 1024);
}

TEST_CASE("a relative network path in a config file resolves against the file's directory", "[unit][config][files]") {
  TempDir dir;
  dir.write("nets/small.yaml", "input: {shape: [3, 4, 4]}\nlayers:\n  - {name: c, type: conv, out_channels: 2, kernel: 1}\n");
  std::string cfg = dir.write("runs/run.yaml", "network:\n  model: ../nets/small.yaml\nhardware:\n  device: ultra96\n"
                                               "mapping:\n  layers:\n    c: {pe: 2}\n    d: {pe: 1}\n");
  auto errs = errorsOf([&] { config::loadRun(cfg); });
  // The network loaded (so the path resolved); the mapping names a layer it does not have.
  CHECK_MESSAGE(errs, cfg + ":8:5: mapping.layers.d: no layer named 'd' in small");
  auto run = config::loadRun(cfg, {"mapping.layers={c: {pe: 2}}"}); // replaces the whole mapping.layers
  CHECK(run.graph.at("c").out_shape == graph::Shape{1, 2, 4, 4});
  CHECK(run.config.hardware.clock_mhz == Approx(300));
}

// ---------------------------------------------------------------------------------------------
// Fixed review findings (formerly [!mayfail] known-bug tests): --set locations and brackets,
// valid-key hints, concat widths, network defaults, model paths, number formatting
// ---------------------------------------------------------------------------------------------

TEST_CASE("set override with a bracketed key", "[unit][config]") {
  CHECK(io::splitKeyPath("mapping.layers[layer1.0.conv1].simd") ==
        std::vector<std::string>{"mapping", "layers", "layer1.0.conv1", "simd"});
  CHECK(io::splitKeyPath("mapping.layers.[layer1.0.conv1].simd") ==
        std::vector<std::string>{"mapping", "layers", "layer1.0.conv1", "simd"});
  auto errs = runErrors(kResnetZcu102, {"mapping.layers[layer1.0.conv1].simd=2"});
  INFO(joined(errs));
  CHECK(errs.empty());
  auto run = config::loadRunString(kResnetZcu102, "t.yaml",
                                   {"mapping.layers[layer1.0.conv1].simd=2", "mapping.layers[layer2.0.downsample]={pe: 4}"});
  REQUIRE(run.config.mapping.layers.count("layer1.0.conv1") == 1);
  CHECK(run.config.mapping.layers.at("layer1.0.conv1").simd == 2);
  REQUIRE(run.config.mapping.layers.count("layer2.0.downsample") == 1);
  CHECK(run.config.mapping.layers.at("layer2.0.downsample").pe == 4);
}

TEST_CASE("values given with --set are located as from --set and missing sections at the file",
          "[unit][config]") {
  // Overriding a key that exists in the file: the value is the override's, so is the location.
  auto errs = runErrors(kResnetZcu102 + "  clock_mhz: 200\n", {"hardware.clock_mhz=fast"});
  CHECK(errs.size() == 1);
  CHECK_MESSAGE(errs, "t.yaml (from --set): hardware.clock_mhz: expected a number, got 'fast'");
  // A mapping value given with --set: positions inside the --set text are not file positions.
  errs = runErrors(kResnetZcu102, {"mapping.layers.conv1={pe: 0}"});
  CHECK(errs.size() == 1);
  CHECK_MESSAGE(errs, "t.yaml (from --set): mapping.layers.conv1.pe: value 0 is out of range; valid: 1..1048576");
  errs = runErrors(kResnetZcu102 + "mapping:\n  layers:\n    conv1: {pe: 2}\n", {"mapping.layers.conv1={pe: 2, pex: 1}"});
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
  for (const auto& kv : config::effectiveConfig(run.config)["simulation"]) simKeys.push_back(kv.first.as<std::string>());
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

TEST_CASE("the valid-keys hint lists keys that were absent", "[unit][config]") {
  auto errs = runErrors("network:\n  model: resnet18\n  quant:\n    layers:\n      conv1: {bits: 3}\n"
                        "hardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:5:15: network.quant.layers.conv1.bits: unknown key; valid keys: weights, activations, "
                      "activations_signed, activation_type, weight_type, channels, acc_bits");
  errs = runErrors("network:\n  model: resnet18\n  quant:\n    bits: 3\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:4:5: network.quant.bits: unknown key; valid keys: weights, activations, activations_signed, "
                      "activation_type, weight_type, input_bits, input_signed, first_layer, last_layer, layers");
  errs = runErrors("network:\n  model: resnet18\nhardware:\n  device: zcu102\nmapping:\n  fifos: {size: 3}\n");
  CHECK_MESSAGE(errs, "t.yaml:6:11: mapping.fifos.size: unknown key; valid keys: default_depth, shortcut_depth, depths");
  errs = runErrors("network:\n  model: resnet18\nhardware:\n  colour: red\n");
  CHECK_MESSAGE(errs, "t.yaml:4:3: hardware.colour: unknown key; valid keys: device, clock_mhz, dram, io");
  errs = netErrors("input: {shape: [8, 8, 8]}\nlayers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1, "
                   "strides: 2}\n");
  CHECK_MESSAGE(errs, "n.yaml:3:55: layers[0].strides: unknown key; valid keys: name, type, inputs, out_channels, "
                      "kernel, stride, padding, dilation, groups, weights_file, thresholds_file, weights, activations, activations_signed, "
                      "activation_type, weight_type, channels, acc_bits, requant");
  errs = netErrors("input: {shape: [8, 8, 8]}\ndefaults: {bits: 4}\nlayers:\n  - {name: p, type: maxpool, kernel: 2}\n");
  CHECK_MESSAGE(errs, "n.yaml:2:12: defaults.bits: unknown key; valid keys: weights, activations, activations_signed, "
                      "activation_type, weight_type, channels, acc_bits, requant");
}

TEST_CASE("concat output width comes from its inputs only", "[unit][config][network]") {
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8], bits: 4}\ndefaults: {activations: 4}\nlayers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: b, type: conv, inputs: [input], out_channels: 4, kernel: 1, activations: 3}\n"
                                     "  - {name: c, type: concat, inputs: [a, b]}\n",
                                     "n.yaml");
  CHECK(g.at("c").out_shape == graph::Shape{1, 8, 8, 8});
  CHECK(g.at("c").out.bits == 4);
  CHECK_FALSE(g.at("c").out.is_signed);
  CHECK(g.at("output").out.bits == 4);
  // Re-finalized after quant rules: narrower and signed inputs give a narrower, signed concat.
  graph::QuantRules rules;
  rules.defaults.activations = 2;
  rules.layers["b"].activations_signed = true;
  graph::applyQuantRules(g, rules);
  CHECK(g.at("c").out.bits == 3); // uint2 and int2: int3 holds 0..3 and -2..1
  CHECK(g.at("c").out.is_signed);
  CHECK(g.at("output").out.bits == 3);
}

TEST_CASE("concat type holds every input's values, and one too wide is an error naming the layer and types",
          "[unit][config][network]") {
  // Regression: uint4 concat int4 was int4, so the unsigned values 8..15 did not fit.
  auto typeOf = [](const std::string& a, const std::string& b) {
    auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8], bits: 4}\nlayers:\n"
                                       "  - {name: a, type: conv, out_channels: 4, kernel: 1, " + a + "}\n"
                                       "  - {name: b, type: conv, inputs: [input], out_channels: 4, kernel: 1, " + b + "}\n"
                                       "  - {name: c, type: concat, inputs: [a, b]}\n",
                                       "n.yaml");
    CHECK(g.at("output").out == g.at("c").out);
    return g.at("c").out.str();
  };
  CHECK(typeOf("activations: 4", "activations: 4, activations_signed: true") == "int5");
  CHECK(typeOf("activations: 4, activations_signed: true", "activations: 4") == "int5");
  CHECK(typeOf("activations: 3, activations_signed: true", "activations: 7") == "int8");
  CHECK(typeOf("activations: 8, activations_signed: true", "activations: 3") == "int8");
  CHECK(typeOf("activations: 2", "activations: 5") == "uint5");
  CHECK(typeOf("activations: 6, activations_signed: true", "activations: 3, activations_signed: true") == "int6");
  // Bipolar {-1, +1}: bipolar with bipolar stays bipolar; with others it needs a signed type of at
  // least 2 bits (int1 is {-1, 0}), and one more bit than any unsigned input.
  CHECK(typeOf("activation_type: bipolar", "activation_type: bipolar") == "bipolar");
  CHECK(typeOf("activation_type: bipolar", "activations: 1, activations_signed: true") == "int2");
  CHECK(typeOf("activation_type: bipolar", "activations: 3") == "int4");
  CHECK(typeOf("activations: 5, activations_signed: true", "activation_type: bipolar") == "int5");
  // Three inputs.
  auto g3 = io::loadNetworkYamlString("input: {shape: [4, 8, 8], bits: 6}\nlayers:\n"
                                      "  - {name: a, type: conv, out_channels: 4, kernel: 1, activations: 2, activations_signed: true}\n"
                                      "  - {name: c, type: concat, inputs: [a, input, a]}\n",
                                      "n.yaml");
  CHECK(g3.at("c").out.str() == "int7");
  CHECK(g3.at("c").out_shape == graph::Shape{1, 12, 8, 8});
  // uint32 and int8 would need 33 bits: rejected, naming the layer and the input types.
  auto errs = netErrors("input: {shape: [4, 8, 8], bits: 32}\nlayers:\n"
                        "  - {name: a, type: conv, out_channels: 4, kernel: 1, activations: 8, activations_signed: true}\n"
                        "  - {name: cat, type: concat, inputs: [input, a]}\n");
  CHECK_MESSAGE(errs, "n.yaml:4: layer 'cat' (concat)", "uint32 ('input')", "int8 ('a')", "int33");
}

TEST_CASE("network YAML: defaults.acc_bits applies to weighted layers without their own", "[unit][config][network]") {
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {acc_bits: 20}\nlayers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1, acc_bits: 24}\n"
                                     "  - {name: p, type: maxpool, kernel: 2}\n"
                                     "  - {name: f, type: fc, out_features: 2}\n",
                                     "n.yaml");
  CHECK(g.at("a").accBits() == 20);
  CHECK(g.at("b").accBits() == 24);
  CHECK(g.at("f").accBits() == 20);
  CHECK(g.at("p").acc_bits_given == 0); // not a weighted layer
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {acc_bits: 65}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:2:12: defaults.acc_bits: value 65 is out of range; valid: 1..64");
}

TEST_CASE("channels without weights turn an inherited bipolar type into signed", "[unit][config][quant][network]") {
  // Run config: 1-bit (bipolar) defaults, per-channel widths on one layer.
  auto run = config::loadRunString("network:\n  model: cnv\n  quant:\n    weights: 1\n    layers:\n"
                                   "      conv1: {channels: {2: 0.5, 1: 0.5}}\n      fc8: {channels: {1: 1}}\n"
                                   "hardware:\n  device: pynq-z1\n",
                                   "b.yaml");
  const auto& conv1 = run.graph.at("conv1");
  CHECK(conv1.weight_type == graph::WeightType::Signed);
  CHECK(conv1.weight_bits == 2);
  REQUIRE(conv1.channel_bits.size() == 64);
  CHECK(conv1.channel_bits.front() == 2);
  CHECK(conv1.channel_bits.back() == 1);
  CHECK(run.graph.at("conv2").weight_type == graph::WeightType::Bipolar);
  CHECK(run.graph.at("fc8").weight_type == graph::WeightType::Bipolar); // all 1-bit: stays bipolar
  // Asking for bipolar in the same rule is still an error.
  auto errs = runErrors("network:\n  model: cnv\n  quant:\n    weights: 1\n    layers:\n"
                        "      conv1: {channels: {2: 0.5, 1: 0.5}, weight_type: bipolar}\nhardware:\n  device: pynq-z1\n");
  CHECK_MESSAGE(errs, "layer 'conv1' (conv): bipolar weights must be 1 bit, got 2");
  // The same through --set.
  run = config::loadRunString("network:\n  model: tfc\n  quant: {weights: 1}\nhardware:\n  device: pynq-z1\n", "b.yaml",
                              {"network.quant.layers.fc3.channels=[2,2,1,1,1,1,1,1,1,1]"});
  CHECK(run.graph.at("fc3").weight_type == graph::WeightType::Signed);
  CHECK(run.graph.at("fc2").weight_type == graph::WeightType::Bipolar);

  // Network file: 1-bit default weights (bipolar by default), one layer with per-channel widths.
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 1}\nlayers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 2, 1, 1]}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: c, type: conv, out_channels: 4, kernel: 1, weights: 4}\n",
                                     "n.yaml");
  CHECK(g.at("a").weight_type == graph::WeightType::Signed);
  CHECK(g.at("a").weight_bits == 2);
  CHECK(g.at("b").weight_type == graph::WeightType::Bipolar);
  CHECK(g.at("c").weight_type == graph::WeightType::Signed);
  // An explicit bipolar default still yields to a layer's own wider widths ...
  g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 1, weight_type: bipolar}\nlayers:\n"
                                "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 2, 1, 1]}\n"
                                "  - {name: b, type: conv, out_channels: 4, kernel: 1}\n",
                                "n.yaml");
  CHECK(g.at("a").weight_type == graph::WeightType::Signed);
  CHECK(g.at("b").weight_type == graph::WeightType::Bipolar);
  // ... but bipolar with wider widths in the same place is an error.
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {weights: 4, weight_type: bipolar}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4: layer 'a' (conv): bipolar weights must be 1 bit, got 4");
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1, channels: [2, 1, 1, 1], "
                          "weight_type: bipolar}\n"),
                "n.yaml:3: layer 'a' (conv): bipolar weights must be 1 bit, got 2");
}

TEST_CASE("network YAML: a layer's own weights replace per-channel widths from the defaults", "[unit][config][network]") {
  auto g = io::loadNetworkYamlString("input: {shape: [4, 8, 8]}\ndefaults: {weights: 4, channels: {8: 0.5, 4: 0.5}}\n"
                                     "layers:\n"
                                     "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
                                     "  - {name: b, type: conv, out_channels: 4, kernel: 1, weights: 2}\n",
                                     "n.yaml");
  CHECK(g.at("a").channel_bits == std::vector<int>{8, 8, 4, 4});
  CHECK(g.at("a").weight_bits == 8);
  CHECK(g.at("b").channel_bits.empty());
  CHECK(g.at("b").weight_bits == 2);
  // A default list that does not fit a layer is reported at the layer.
  CHECK_MESSAGE(netErrors("input: {shape: [4, 8, 8]}\ndefaults: {channels: [8, 4]}\nlayers:\n"
                          "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"),
                "n.yaml:4:5: layers[0]: defaults.channels: the channels list has 2 entries but the layer has 4 output "
                "channels");
}

namespace {
/// Runs in `dir` and restores the current directory at scope exit.
struct InDirectory {
  fs::path old;
  explicit InDirectory(const fs::path& dir) : old(fs::current_path()) { fs::current_path(dir); }
  ~InDirectory() {
    std::error_code ec;
    fs::current_path(old, ec);
  }
};
} // namespace

TEST_CASE("a relative network path is looked up next to the config first, then in the current directory",
          "[unit][config][files]") {
  TempDir dir;
  const std::string layer = "layers:\n  - {name: c, type: conv, out_channels: 2, kernel: 1}\n";
  dir.write("cwd/net.yaml", "name: from_cwd\ninput: {shape: [3, 4, 4]}\n" + layer);
  dir.write("cwd/only_cwd.yaml", "name: only_cwd\ninput: {shape: [3, 4, 4]}\n" + layer);
  dir.write("cfg/net.yaml", "name: from_config_dir\ninput: {shape: [3, 4, 4]}\n" + layer);
  std::string cfg = dir.write("cfg/run.yaml", "network:\n  model: net.yaml\nhardware:\n  device: ultra96\n");
  std::string cfg2 = dir.write("cfg/run2.yaml", "network:\n  model: only_cwd.yaml\nhardware:\n  device: ultra96\n");
  std::string cfg3 = dir.write("cfg/run3.yaml", "network:\n  model: nowhere.yaml\nhardware:\n  device: ultra96\n");
  InDirectory in(dir.path / "cwd");
  CHECK(config::loadRun(cfg).graph.name() == "from_config_dir");
  CHECK(config::loadRun(cfg2).graph.name() == "only_cwd");
  auto errs = errorsOf([&] { config::loadRun(cfg3); });
  CHECK_MESSAGE(errs, cfg3 + ":2:3: network.model: nowhere.yaml: network file not found (looked for " +
                          (dir.path / "cfg" / "nowhere.yaml").string() + ", nowhere.yaml)");
  // Without a config directory (a config given as text), the current directory.
  CHECK(io::loadModel("net.yaml").name() == "from_cwd");
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

TEST_CASE("network YAML: input.type and input.signed are alternatives, both given is an error", "[unit][config][network]") {
  const std::string layers = "layers:\n  - {name: f, type: fc, out_features: 4}\n";
  auto in = [&](const std::string& input) {
    return io::loadNetworkYamlString("input: {shape: [16]" + input + "}\n" + layers, "n.yaml").layers().front().out;
  };
  // Every spelling alone (get() once wrote the default of the absent 'signed' into the tree, so that
  // any 'type' was reported as given together with 'signed').
  CHECK(in(", bits: 1, type: bipolar") == graph::ActType::makeBipolar());
  CHECK(in(", type: bipolar") == graph::ActType::makeBipolar()); // bipolar is 1 bit
  CHECK(in(", bits: 4, type: signed") == graph::ActType{4, true});
  CHECK(in(", bits: 4, type: unsigned") == graph::ActType{4, false});
  CHECK(in(", type: signed") == graph::ActType{8, true});
  CHECK(in(", bits: 4, signed: true") == graph::ActType{4, true});
  CHECK(in("") == graph::ActType{8, false});
  // Both really given, and a bipolar input of more than 1 bit, are errors.
  CHECK_MESSAGE(netErrors("input: {shape: [16], bits: 1, type: bipolar, signed: true}\n" + layers),
                "n.yaml:1:", "input.type: give either 'type' or 'signed', not both");
  CHECK_MESSAGE(netErrors("input: {shape: [16], type: unsigned, signed: false}\n" + layers),
                "input.type: give either 'type' or 'signed', not both");
  CHECK_MESSAGE(netErrors("input: {shape: [16], bits: 4, type: bipolar}\n" + layers),
                "input.type: a bipolar input is 1 bit; 'bits' is 4");
  CHECK_MESSAGE(netErrors("input: {shape: [16], type: ternary}\n" + layers),
                "input.type: 'ternary' is not valid; valid: signed, unsigned, bipolar");
}
