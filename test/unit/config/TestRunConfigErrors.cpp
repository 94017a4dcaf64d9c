// Run-config errors: unknown keys with the valid keys, wrong types, ranges and choices, unknown
// models, devices and layer names, missing and malformed files, all problems in one LoadError, with
// the exact text (key path, file:line:col, the "valid ..." hint).
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
#include "mpsim/io/NetworkYaml.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

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
      {p + "mapping:\n  fifos: 5\n",
       {"t.yaml:6:3: mapping.fifos: expected 'auto' or a mapping (keys sizing, default_depth, shortcut_depth, depths), "
        "got '5'"}},
      {p + "mapping:\n  fifos: {sizing: maybe}\n",
       {"t.yaml:6:11: mapping.fifos.sizing: 'maybe' is not valid; valid: fixed, auto"}},
      {p + "mapping:\n  fifos:\n    depths: {a_to_b: 0}\n",
       {"t.yaml:7:14: mapping.fifos.depths.a_to_b: value 0 is out of range; valid: 1..16777216"}},
      {p + "simulation:\n  frames: 0\n", {"t.yaml:6:3: simulation.frames: value 0 is out of range; valid: 1..100000"}},
      {p + "  dram:\n    latency_ns: 1e15\n",
       {"t.yaml:6:5: hardware.dram.latency_ns: value 1e+15 ns is outside 0..1e+06"}},
      {p + "  dram:\n    bandwidth_gbps: 1e-9\n",
       {"t.yaml:6:5: hardware.dram.bandwidth_gbps: value 1e-09 GB/s is outside 1e-06..1e+05"}},
      {p + "  cost_model:\n    lutram_bits_per_lut: 0\n",
       {"t.yaml:6:5: hardware.cost_model.lutram_bits_per_lut: value 0 bits per LUT is outside 1..1e+06"}},
      {p + "simulation:\n  mode: fast\n",
       {"t.yaml:6:3: simulation.mode: 'fast' is not valid; valid: timestamped, reference"}},
      {p + "simulation:\n  functional: maybe\n",
       {"t.yaml:6:3: simulation.functional: expected true or false, got 'maybe'"}},
      {p + "  dram:\n    channels: two\n", {"t.yaml:6:5: hardware.dram.channels: expected an integer, got 'two'"}},
      {p + "  dram:\n    bandwidth_gbps: 0\n",
       {"t.yaml:6:5: hardware.dram.bandwidth_gbps: value 0 GB/s is outside 1e-06..1e+05"}},
      {p + "  dram:\n    latency_ns: -3\n", {"t.yaml:6:5: hardware.dram.latency_ns: value -3 ns is outside 0..1e+06"}},
      {p + "  dram:\n    latency_ns: -2.5e-3\n",
       {"t.yaml:6:5: hardware.dram.latency_ns: value -0.0025 ns is outside 0..1e+06"}},
      {p + "  dram: 4\n", {"t.yaml:5:3: hardware.dram: expected a mapping, got a scalar"}},
      {"network:\n  model: resnet18\nhardware:\n  device: zcu999\n",
       {"t.yaml:4:3: hardware.device: unknown device 'zcu999'; valid: xc7z020 (pynq-z1, pynq-z2, zedboard), ",
        "xczu9eg (zcu102)", "xcu250 (u250, alveo-u250), xcu50 (u50, alveo-u50), xcu55c (u55c, alveo-u55c), ",
        "xcu280 (u280, alveo-u280), xcvc1902 (vck190), xcve2802 (vek280), or an inline block"}},
      // A section missing from the file is located at the file (not "(from --set)").
      {"network:\n  model: resnet18\n",
       {"t.yaml: hardware: missing required key 'hardware.device' (a device name: xc7z020"}},
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
    CHECK(
        (errs.empty() || hasMessage(errs, {"t.yaml:6:3: mapping.mode: 'auto' needs the scheduler", "valid: manual"})));
  }
}

TEST_CASE("the network model must be a zoo name or a network file", "[unit][config]") {
  // Located at the network.model key of the run config.
  auto errs = runErrors("network:\n  model: resnet19\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:2:3: network.model: 'resnet19' is neither a built-in model (resnet18, resnet34, "
                      "resnet50, resnet101, resnet152, "
                      "vgg16, mobilenet_v1, cnv, tfc) nor a network file (.yaml, .yml, .onnx)");
  errs = runErrors("network:\n  model: nets/missing.yaml\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs,
                "t.yaml:2:3: network.model: nets/missing.yaml: network file not found (looked for nets/missing.yaml)");
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

  CHECK_MESSAGE(runErrors("network:\n  model: resnet18\n   extra: 1\n"),
                "t.yaml:3:9: malformed YAML: illegal map value");
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

TEST_CASE("the valid-keys hint lists keys that were absent", "[unit][config]") {
  auto errs = runErrors("network:\n  model: resnet18\n  quant:\n    layers:\n      conv1: {bits: 3}\n"
                        "hardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs, "t.yaml:5:15: network.quant.layers.conv1.bits: unknown key; valid keys: weights, activations, "
                      "activations_signed, activation_type, weight_type, channels, acc_bits");
  errs = runErrors("network:\n  model: resnet18\n  quant:\n    bits: 3\nhardware:\n  device: zcu102\n");
  CHECK_MESSAGE(errs,
                "t.yaml:4:5: network.quant.bits: unknown key; valid keys: weights, activations, activations_signed, "
                "activation_type, weight_type, requant, input_bits, input_signed, first_layer, last_layer, layers");
  errs = runErrors("network:\n  model: resnet18\nhardware:\n  device: zcu102\nmapping:\n  fifos: {size: 3}\n");
  CHECK_MESSAGE(errs,
                "t.yaml:6:11: mapping.fifos.size: unknown key; valid keys: sizing, default_depth, shortcut_depth, depths");
  errs = runErrors("network:\n  model: resnet18\nhardware:\n  colour: red\n");
  CHECK_MESSAGE(errs, "t.yaml:4:3: hardware.colour: unknown key; valid keys: device, clock_mhz, dram, io");
  errs = netErrors("input: {shape: [8, 8, 8]}\nlayers:\n  - {name: c, type: conv, out_channels: 4, kernel: 1, "
                   "strides: 2}\n");
  CHECK_MESSAGE(errs, "n.yaml:3:55: layers[0].strides: unknown key; valid keys: name, type, inputs, out_channels, "
                      "kernel, stride, padding, dilation, groups, weights_file, thresholds_file, weights, activations, "
                      "activations_signed, "
                      "activation_type, weight_type, channels, acc_bits, requant");
  errs =
      netErrors("input: {shape: [8, 8, 8]}\ndefaults: {bits: 4}\nlayers:\n  - {name: p, type: maxpool, kernel: 2}\n");
  CHECK_MESSAGE(errs, "n.yaml:2:12: defaults.bits: unknown key; valid keys: weights, activations, activations_signed, "
                      "activation_type, weight_type, channels, acc_bits, requant");
}
