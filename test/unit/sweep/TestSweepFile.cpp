// The sweep file: expansion of grid / zip / sample (seeded, typed ranges, log scale, powers of two),
// entry-level `set`, the shipped examples, and errors located at file:line:col with the key path,
// reported before anything runs (also for values the run config rejects).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/sweep/Runner.hpp"
#include "mpsim/sweep/SweepFile.hpp"

using namespace mpsim;
using namespace mpsim::sweep;
namespace fs = std::filesystem;

namespace {
const std::string kSweeps = std::string(MPSIM_SOURCE_DIR) + "/configs/sweeps";

std::string allMessages(const LoadError& e) {
  std::string s;
  for (const auto& m : e.messages()) s += m + "\n";
  return s;
}

/// The messages of loading `text` as a sweep file (and preparing its points), or "" when it loads.
std::string errorsOf(const std::string& text, bool prepareToo = false) {
  test::TempDir dir;
  const std::string f = dir.write("s.yaml", text);
  try {
    Sweep s = loadSweep(f);
    if (prepareToo) prepare(s, "test");
  } catch (const LoadError& e) {
    std::string m = allMessages(e);
    // Make the messages independent of the temp dir.
    for (size_t at; (at = m.find(f)) != std::string::npos;) m.replace(at, f.size(), "s.yaml");
    return m;
  }
  return "";
}
} // namespace

TEST_CASE("the issue's example sweep expands to 109 points in order", "[unit][sweep]") {
  const Sweep s = loadSweep(kSweeps + "/resnet18_clock_bits.yaml");
  REQUIRE(fs::exists(s.basePath));
  CHECK(fs::path(s.basePath).filename() == "resnet18_zcu102.yaml");
  CHECK(s.name == "resnet18_clock_bits");
  REQUIRE(s.points.size() == 9 + 100);
  // Grid: the first key varies slowest.
  CHECK(s.points[0].overrides() == std::vector<std::string>{"hardware.clock_mhz=150", "network.quant.weights=2"});
  CHECK(s.points[1].overrides() == std::vector<std::string>{"hardware.clock_mhz=150", "network.quant.weights=4"});
  CHECK(s.points[8].overrides() == std::vector<std::string>{"hardware.clock_mhz=250", "network.quant.weights=8"});
  CHECK(s.columns ==
        std::vector<std::string>{"hardware.clock_mhz", "network.quant.weights", "network.quant.activations"});
  std::set<int64_t> acts, clocks;
  for (size_t i = 9; i < s.points.size(); ++i) {
    const auto& p = s.points[i];
    REQUIRE(p.set.size() == 2);
    CHECK(p.entry == 1);
    REQUIRE(p.set[0].json.is_number_integer()); // integer bounds: an integer range
    const int64_t c = p.set[0].json.get<int64_t>();
    CHECK((c >= 100 && c <= 300));
    clocks.insert(c);
    acts.insert(p.set[1].json.get<int64_t>());
  }
  CHECK(acts == std::set<int64_t>{2, 4, 8});
  CHECK(clocks.size() > 50); // 100 draws over 201 values
  CHECK(s.constraints.size() == 1);
  REQUIRE(s.objectives.size() == 3);
  CHECK(s.objectives[0].maximize);
  CHECK(s.objectives[0].metric == "fps");
  CHECK(s.objectives[1].metric == "lut");
  CHECK(!s.objectives[2].maximize);
}

TEST_CASE("sampling is deterministic per seed and honours log scale, float and pow2", "[unit][sweep]") {
  const std::string text = R"(base: ../examples/resnet18_zcu102.yaml
sweep:
  - sample:
      n: 200
      seed: SEED
      space:
        hardware.clock_mhz: {range: [10, 1000], log: true, type: float}
        mapping.fifos.default_depth: {pow2: [3, 100]}
        hardware.dram.latency_ns: {range: [0.5, 2.5]}
)";
  auto withSeed = [&](const std::string& seed) {
    std::string t = text;
    t.replace(t.find("SEED"), 4, seed);
    return loadSweepText(t, "s.yaml", kSweeps);
  };
  const Sweep a = withSeed("3"), b = withSeed("3"), c = withSeed("4");
  REQUIRE(a.points.size() == 200);
  std::vector<std::string> va, vb, vc;
  size_t below100 = 0;
  std::set<int64_t> depths;
  for (size_t i = 0; i < 200; ++i) {
    va.push_back(a.points[i].values().dump());
    vb.push_back(b.points[i].values().dump());
    vc.push_back(c.points[i].values().dump());
    const double clk = a.points[i].set[0].json.get<double>();
    CHECK((clk >= 10 && clk <= 1000));
    below100 += clk < 100;
    depths.insert(a.points[i].set[1].json.get<int64_t>());
    const double lat = a.points[i].set[2].json.get<double>();
    CHECK((lat >= 0.5 && lat <= 2.5));
  }
  CHECK(va == vb);
  CHECK(va != vc);
  // Log-uniform over 10..1000: half the draws below 100 (a uniform draw would give about 9 %).
  CHECK(below100 > 70);
  CHECK(below100 < 130);
  CHECK(depths == std::set<int64_t>{4, 8, 16, 32, 64});
  // Points are made on demand (docs/sweeps.md, "Limits"): in any order the same, and the same as
  // the sequential draws of the releases before (identities of old databases; values as they wrote them).
  for (size_t i = 200; i-- > 0;) CHECK(a.points[i].values().dump() == va[i]);
  CHECK(va[0] == R"({"hardware.clock_mhz":16.8617,"mapping.fifos.default_depth":8,"hardware.dram.latency_ns":1.72595})");
  CHECK(va[136] == R"({"hardware.clock_mhz":20.1903,"mapping.fifos.default_depth":4,"hardware.dram.latency_ns":0.817396})");
  CHECK(va[199] == R"({"hardware.clock_mhz":218.027,"mapping.fifos.default_depth":32,"hardware.dram.latency_ns":2.32032})");
}

TEST_CASE("zip advances lists together and set applies to every point of its entry", "[unit][sweep]") {
  const Sweep s = loadSweep(kSweeps + "/cnv_folding.yaml");
  CHECK(s.basePath.empty());
  CHECK(!s.baseText.empty());
  REQUIRE(s.points.size() == 3 + 6);
  CHECK(s.points[1].overrides() == std::vector<std::string>{"mapping.layers.conv0.pe=8", "mapping.layers.conv1.pe=16"});
  const Sweep m = loadSweep(kSweeps + "/models_devices.yaml");
  REQUIRE(m.points.size() == 3 + 4);
  CHECK(m.points[0].overrides().front() == "network.model=tfc");
  CHECK(m.points[3].overrides().front() == "network.model=cnv");
  CHECK(
      m.points[6].values().dump() ==
      R"({"network.model":"cnv","network.quant.weights":2,"network.quant.activations":2,"hardware.device":"zcu104","hardware.clock_mhz":150})");
}

TEST_CASE("every shipped sweep file loads and every point's config is valid", "[unit][sweep]") {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kSweeps)) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().string());
    const Sweep s = loadSweep(e.path().string());
    const auto pts = prepare(s, "test");
    CHECK(!pts.empty());
    for (const auto& p : pts) CHECK(p.load_error.empty());
    ++n;
  }
  CHECK(n >= 3);
}

TEST_CASE("sweep file errors name the line, the key path and what is valid", "[unit][sweep]") {
  using Catch::Matchers::Contains;
  const std::string base = "base: " + std::string(MPSIM_SOURCE_DIR) + "/configs/examples/resnet18_zcu102.yaml\n";
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid: {hardware.clock_mhz: [1]}\nsweeep: 1\n"),
             Contains("s.yaml:4:1: sweeep: unknown key; valid keys: name, base, sweep, constraints, objectives"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid:\n      hardware.clock_mhz: []\n"),
             Contains("s.yaml:4:27: sweep[0].grid.hardware.clock_mhz: expected a non-empty list of values"));
  CHECK_THAT(errorsOf(base + "sweep: []\n"),
             Contains("s.yaml:2:8: sweep: expected a non-empty list of entries (grid, zip or sample)"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - zip: {hardware.clock_mhz: [1, 2], network.quant.weights: [4]}\n"),
             Contains("sweep[0].zip.network.quant.weights: zip lists must have the same length: 1 here, 2 in the "
                      "first list"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid: {a: [1]}\n    sample: {n: 1}\n"),
             Contains("s.yaml:3:5: sweep[0]: give exactly one of grid, zip, sample"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 0, space: {a: {range: [1, 2]}}}\n"),
             Contains("sweep[0].sample.n: expected the number of points, 1..1000000"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {hardware.clock_mhz: {range: [3, 2]}}}\n"),
             Contains("sweep[0].sample.space.hardware.clock_mhz.range: lo must not be above hi"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {hardware.clock_mhz: {range: [0, 2], log: true}}}\n"),
             Contains("sweep[0].sample.space.hardware.clock_mhz.range: a log range needs lo > 0"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {hardware.clock_mhz: {rnage: [1, 2]}}}\n"),
             Contains("sweep[0].sample.space.hardware.clock_mhz.rnage: unknown key; valid keys: choice, range, pow2, "
                      "log, type"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {a.b: {range: [-9223372036854775808, "
                             "9223372036854775807]}}}\n"),
             Contains("sweep[0].sample.space.a.b.range: bounds must lie within -2^53..2^53"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {a.b: {range: [-1e308, 1e308]}}}\n"),
             Contains("bounds must lie within -2^53..2^53"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - sample: {n: 2, space: {a.b: {pow2: [5, 7]}}}\n"),
             Contains("no power of two lies in this range"));
  CHECK_THAT(
      errorsOf(base + "sweep:\n  - grid: {a: [1]}\nconstraints: ['resources.fits and']\n"),
      Contains("s.yaml:4:15: constraints[0]: 'resources.fits and': expected a value, a path or '(' at column 19"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid: {a: [1]}\nobjectives: [max:speed]\n"),
             Contains("s.yaml:4:14: objectives[0]: objective 'max:speed': unknown metric 'speed'; valid: fps,"));
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid: {a: [1]}\nobjectives: [fast:fps]\n"),
             Contains("expected max:<metric> or min:<metric>"));
  // All problems at once.
  const std::string many = errorsOf(base + "sweep:\n  - grid: {a: []}\n  - zip: 3\nnope: 1\n");
  CHECK_THAT(many, Contains("sweep[0].grid.a: expected a non-empty list"));
  CHECK_THAT(many, Contains("sweep[1].zip: expected a non-empty mapping"));
  CHECK_THAT(many, Contains("nope: unknown key"));
}

TEST_CASE("values the run config rejects are errors at the sweep file's line before anything runs", "[unit][sweep]") {
  using Catch::Matchers::Contains;
  const std::string base = "base: " + std::string(MPSIM_SOURCE_DIR) + "/configs/examples/resnet18_zcu102.yaml\n";
  // A mistyped value, an out-of-range value, an unknown key path, an unknown layer: each located at
  // the value (or the key) in the sweep file, with the loader's message.
  const std::string e = errorsOf(base + "sweep:\n  - grid:\n      hardware.clock_mhz: [150, fast]\n"
                                        "      network.quant.weights: [4, 40]\n"
                                        "  - grid:\n      hardware.clok_mhz: [100]\n"
                                        "  - grid:\n      mapping.layers.conv9.pe: [2]\n",
                                 true);
  CHECK_THAT(e, Contains("s.yaml:4:33: sweep[0].grid.hardware.clock_mhz = fast: hardware.clock_mhz: expected a "
                         "number, got 'fast'"));
  CHECK_THAT(e, Contains("s.yaml:5:34: sweep[0].grid.network.quant.weights = 40: network.quant.weights: value 40 is "
                         "out of range; valid: 1..32"));
  CHECK_THAT(e, Contains("sweep[1].grid.hardware.clok_mhz = 100: hardware.clok_mhz: unknown key; valid keys:"));
  CHECK_THAT(e, Contains("sweep[2].grid.mapping.layers.conv9.pe = 2: mapping.layers.conv9: no layer named 'conv9' in "
                         "resnet18"));
  // Each problem once, although several points carry the same value.
  CHECK(std::count(e.begin(), e.end(), '\n') == 4);
  // A constraint over a path no point has.
  CHECK_THAT(errorsOf(base + "sweep:\n  - grid: {hardware.clock_mhz: [150]}\nconstraints: [resources.fitz]\n", true),
             Contains("s.yaml:4:15: constraints[0]: 'resources.fitz': no value at 'resources.fitz'"));
}
