// Shipped files: every file under configs/ loads and carries its intended values, relative network
// paths resolve against the config's folder (then the current directory), and docs/run-config.md
// shows the built-in default example.
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
#include "FileText.hpp"
#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/YamlReader.hpp"

using namespace mpsim;
using namespace mpsim::test;
namespace fs = std::filesystem;

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

  auto mp =
      io::loadNetworkYaml((fs::path(MPSIM_SOURCE_DIR) / "configs" / "networks" / "mixed_precision_cnn.yaml").string());
  CHECK(mp.at("conv2").channel_bits == std::vector<int>{8, 8, 4, 4, 4, 4, 2, 2});
  CHECK(mp.at("conv3_dw").isDepthwise());
  CHECK(mp.at("conv3_dw").weight_bits == 6);
  CHECK(mp.at("pool2").out.bits == 2);
  CHECK(mp.at("fc").dotLength() == 1024);
}

TEST_CASE("a relative network path in a config file resolves against the file's directory", "[unit][config][files]") {
  TempDir dir;
  dir.write("nets/small.yaml",
            "input: {shape: [3, 4, 4]}\nlayers:\n  - {name: c, type: conv, out_channels: 2, kernel: 1}\n");
  std::string cfg = dir.write("runs/run.yaml", "network:\n  model: ../nets/small.yaml\nhardware:\n  device: ultra96\n"
                                               "mapping:\n  layers:\n    c: {pe: 2}\n    d: {pe: 1}\n");
  auto errs = errorsOf([&] { config::loadRun(cfg); });
  // The network loaded (so the path resolved); the mapping names a layer it does not have.
  CHECK_MESSAGE(errs, cfg + ":8:5: mapping.layers.d: no layer named 'd' in small");
  auto run = config::loadRun(cfg, {"mapping.layers={c: {pe: 2}}"}); // replaces the whole mapping.layers
  CHECK(run.graph.at("c").out_shape == graph::Shape{1, 2, 4, 4});
  CHECK(run.config.hardware.clock_mhz == Approx(300));
}

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

TEST_CASE("docs/run-config.md shows the real default example", "[unit][robust][docs]") {
  const std::string src = MPSIM_SOURCE_DIR;
  const std::string doc = readBytes(src + "/docs/run-config.md");
  const std::string key = "`configs/examples/resnet18_zcu102.yaml`:\n\n```yaml\n";
  const auto at = doc.find(key);
  REQUIRE(at != std::string::npos);
  const auto end = doc.find("```", at + key.size());
  REQUIRE(end != std::string::npos);
  const std::string file = readBytes(src + "/configs/examples/resnet18_zcu102.yaml");
  CHECK(doc.substr(at + key.size(), end - at - key.size()) == file);
  // The file is the built-in default: both load to the same effective config.
  auto a = config::loadRun(src + "/configs/examples/resnet18_zcu102.yaml");
  auto b = config::loadRunString(config::defaultRunYaml(), "<built-in default example>");
  CHECK(YAML::Dump(config::effectiveConfig(a.config)) == YAML::Dump(config::effectiveConfig(b.config)));
}
