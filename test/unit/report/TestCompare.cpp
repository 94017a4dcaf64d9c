// report/Compare: reports within tolerances, the path of the first differing value, .npy tensors
// compared exactly for integers (first differing element by index, unit dimensions ignored).
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "TempDir.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/report/Compare.hpp"

using namespace mpsim;
using mpsim::test::TempDir;

TEST_CASE("compare: reports agree within tolerances, a broken golden value names its path", "[unit][compare]") {
  std::ifstream in(MPSIM_SOURCE_DIR "/test/golden/cnv_w1a1/expected.json");
  REQUIRE(in);
  nlohmann::json golden = nlohmann::json::parse(in);
  report::CompareOptions opt;
  CHECK_FALSE(report::compareJson(golden, golden, opt).has_value());

  nlohmann::json broken = golden;
  broken["layers"][3]["busy"] = broken["layers"][3]["busy"].get<uint64_t>() + 1;
  auto d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "layers[3].busy");
  CHECK(d->what == "value");
  // A per-metric tolerance (array indices ignored) accepts it; another metric does not.
  opt.metrics["layers.busy"] = report::Tolerance{0, 1};
  CHECK_FALSE(report::compareJson(golden, broken, opt).has_value());
  broken["summary"]["fps"] = broken["summary"]["fps"].get<double>() * 1.001;
  d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "summary.fps");
  opt.metrics["summary.fps"] = report::Tolerance{0.01, 0};
  CHECK_FALSE(report::compareJson(golden, broken, opt).has_value());
  // Structure: a missing key and a shorter array are differences too.
  broken.erase("dram");
  d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "dram");
  CHECK(d->what == "missing key");
  nlohmann::json shorter = golden;
  shorter["fifos"].erase(shorter["fifos"].size() - 1);
  d = report::compareJson(golden, shorter, report::CompareOptions{});
  REQUIRE(d.has_value());
  CHECK(d->path == "fifos");
  CHECK(d->what == "length");
}

TEST_CASE("compare: .npy tensors exactly for integers, first differing element by index", "[unit][compare]") {
  namespace fs = std::filesystem;
  const TempDir tmp("mpsim_cmp");
  const fs::path dir = tmp.path;
  std::vector<int32_t> a(2 * 3 * 2 * 2);
  for (size_t i = 0; i < a.size(); ++i) a[i] = int32_t(i) - 7;
  func::writeNpy((dir / "a.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, a.data());
  func::writeNpy((dir / "same.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, a.data());
  auto b = a;
  b[1 * 12 + 2 * 4 + 1 * 2 + 0] += 1;
  func::writeNpy((dir / "b.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, b.data());
  func::writeNpy((dir / "flat.npy").string(), func::NpyType::Int32, {24}, a.data());
  report::Tolerance tol{1e-3, 0};
  CHECK_FALSE(report::compareNpy((dir / "a.npy").string(), (dir / "same.npy").string(), tol).has_value());
  auto d = report::compareNpy((dir / "a.npy").string(), (dir / "b.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->path == "[1, 2, 1, 0]");
  CHECK(d->expected == std::to_string(a[22]));
  CHECK(d->actual == std::to_string(a[22] + 1));
  d = report::compareNpy((dir / "a.npy").string(), (dir / "flat.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->what == "shape");
  CHECK(d->expected == "(2, 3, 2, 2)");
  CHECK(d->actual == "(24,)");
  // Shapes that differ only by unit dimensions hold the same elements in the same order.
  func::writeNpy((dir / "unit.npy").string(), func::NpyType::Int64, {2, 1, 3, 1, 2, 2},
                 std::vector<int64_t>(a.begin(), a.end()).data());
  CHECK_FALSE(report::compareNpy((dir / "a.npy").string(), (dir / "unit.npy").string(), tol).has_value());
  d = report::compareNpy((dir / "b.npy").string(), (dir / "unit.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->path == "[1, 2, 1, 0]");
}
