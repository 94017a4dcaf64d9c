// io::emitYaml writes what yaml-cpp's emitter writes, byte for byte: the sweep's point identities
// (hashes of the emitted effective config) must not change with the writer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "ConfigTestUtil.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/io/YamlEmit.hpp"

using namespace mpsim;
namespace fs = std::filesystem;

namespace {

std::string viaYamlCpp(const YAML::Node& n) {
  YAML::Emitter em;
  em << n;
  return em.c_str();
}

/// A random tree (no node twice) of block and flow mappings and sequences; scalars drawn from
/// plain ones, ones yaml-cpp quotes, and empty strings.
YAML::Node randomTree(std::mt19937& rng, int depth, bool& quoted) {
  static const std::vector<std::string> plain = {
      "0",     "1",      "-3",      "4.5",         "1e+07",          "-0.25",     "true",       "false",
      "yes",   "lut",    "x.y/z",   "conv1",       "layer1.0.conv1", "../m/a.onnx", "a--b",     "---",
      "...",   "+",      ".",       "_x",          "resnet18",       "xczu9eg",   "scale_shift", "N"};
  static const std::vector<std::string> odd = {"null", "~", "-", "a: b", "#x", "x #y", "a b", " a", "[x",
                                               "@x",   "x:", "a,b", "\"q\"", "t\tab", "é"};
  std::uniform_int_distribution<int> pick(0, 9);
  const int kind = depth >= 4 ? 0 : pick(rng);
  if (kind <= 4) {
    const int s = pick(rng);
    if (s == 0) return YAML::Node();
    if (s == 1) return YAML::Node(std::string());
    if (s == 2) {
      quoted = true;
      return YAML::Node(odd[std::uniform_int_distribution<size_t>(0, odd.size() - 1)(rng)]);
    }
    return YAML::Node(plain[std::uniform_int_distribution<size_t>(0, plain.size() - 1)(rng)]);
  }
  const bool isMap = kind <= 7;
  YAML::Node n(isMap ? YAML::NodeType::Map : YAML::NodeType::Sequence);
  const int size = std::uniform_int_distribution<int>(0, 4)(rng);
  for (int i = 0; i < size; ++i) {
    if (isMap)
      n["k" + std::to_string(i) + plain[std::uniform_int_distribution<size_t>(0, plain.size() - 1)(rng)]] =
          randomTree(rng, depth + 1, quoted);
    else
      n.push_back(randomTree(rng, depth + 1, quoted));
  }
  if (pick(rng) < 4) n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

} // namespace

TEST_CASE("emitYaml writes yaml-cpp's text for random trees", "[unit][io]") {
  std::mt19937 rng(20261204);
  int direct = 0, fallback = 0;
  for (int i = 0; i < 3000; ++i) {
    bool quoted = false;
    const YAML::Node n = randomTree(rng, 0, quoted);
    const std::string want = viaYamlCpp(n);
    INFO(want);
    CHECK(io::emitYaml(n) == want);
    const auto d = io::emitYamlDirect(n);
    if (d) {
      CHECK(*d == want);
      ++direct;
    } else {
      ++fallback;
    }
    if (quoted) CHECK_FALSE(d); // what needs quotes is yaml-cpp's to write
  }
  // Both paths are exercised: most trees are written directly, the ones with odd scalars are not.
  CHECK(direct > 1000);
  CHECK(fallback > 300);
}

TEST_CASE("emitYaml writes every shipped effective config directly, as yaml-cpp does", "[unit][io]") {
  const std::vector<fs::path> files = test::shippedRunConfigs();
  REQUIRE(files.size() >= 10);
  for (const auto& f : files) {
    INFO(f.string());
    const config::Run run = flow::load(f.string());
    const YAML::Node eff = config::effectiveConfig(run.config);
    const auto d = io::emitYamlDirect(eff);
    REQUIRE(d);
    CHECK(*d == viaYamlCpp(eff));
  }
}
