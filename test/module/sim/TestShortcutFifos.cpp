// Shortcut FIFOs: a too-shallow ResNet-18 shortcut deadlocks and is named, the suggested depth reaches
// the compute bound; forks that meet again at a concat get shortcut FIFOs that cannot deadlock.
#include <catch2/catch.hpp>

#include <algorithm>

#include "ForkNets.hpp"
#include "SimTestUtil.hpp"
#include "TempDir.hpp"

using namespace mpsim;
using mpsim::test::simulateText;
using namespace mpsim::test;

namespace {

struct ForkCase {
  const char* net;
  std::string shortcut; // the FIFO that must hold the fork's tokens while the longest branch gathers its window
  int64_t minDepth;
  bool exact; // no engine on the shortcut buffers tokens, so min_depth - 1 deadlocks
};

} // namespace

TEST_CASE("ResNet-18: shortcut depth 1 deadlocks and names the FIFO, the suggested depth reaches the compute bound",
          "[module][sim][resnet]") {
  const std::string cfg = R"(
network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: zcu102, clock_mhz: 200}
simulation: {frames: 3}
)";
  // Balanced folding: every MAC layer at or below 200k cycles per frame, so stalls would show.
  auto fold = test::balancedFolding(cfg, 200000);
  auto sets = fold;
  sets.push_back("mapping.fifos.shortcut_depth=1");
  auto dead = simulateText(cfg, sets);
  REQUIRE(dead.result.deadlock.detected);
  CHECK(dead.report["summary"]["status"] == "deadlock");
  const auto& path = dead.result.deadlock.cycle_path;
  CHECK(std::find(path.begin(), path.end(), "maxpool.fork->layer1.0.add (full)") != path.end());
  bool suggested = false;
  for (const auto& s : dead.report["deadlock"]["shortcut_suggestions"])
    if (s["fifo"] == "maxpool.fork->layer1.0.add") {
      suggested = true;
      CHECK(s["min_depth"] == 115); // 2 rows of 56 + 3 pixels through two 3x3 convs
    }
  CHECK(suggested);

  auto good = simulateText(cfg, fold); // shortcut_depth: auto (the suggested depth)
  REQUIRE_FALSE(good.result.deadlock.detected);
  CHECK(good.interval() == uint64_t(good.mapping.predicted_cycles));
  CHECK(good.report["summary"]["bottleneck"]["reason"] == "compute");
  // Exactly the deadlock-free minimum does not deadlock; one less does.
  auto atMin = simulateText(cfg, [&] {
    auto s = fold;
    s.push_back("mapping.fifos.depths[maxpool.fork->layer1.0.add]=115");
    return s;
  }());
  CHECK_FALSE(atMin.result.deadlock.detected);
  auto belowMin = simulateText(cfg, [&] {
    auto s = fold;
    s.push_back("mapping.fifos.depths[maxpool.fork->layer1.0.add]=114");
    return s;
  }());
  CHECK(belowMin.result.deadlock.detected);
}

TEST_CASE("a fork that meets again at a concat: shortcut FIFOs sized, no deadlock, closed-form throughput",
          "[module][sim]") {
  // Regression: shortcut FIFOs were sized only for forks that meet at an add, so these deadlocked
  // with the default FIFO depth 2 (the 3x3 branch needs W + 2 = 14 fork tokens before its first
  // window, the 5x5 branch 2W + 3 = 27).
  const std::vector<ForkCase> cases = {
      {kForkIdentity, "c0.fork->cat", 14, true},     // 3x3 conv vs identity: (W + 1) - 0 + 1
      {kForkTwoConvs, "c0.fork->b1.swu", 14, false}, // 5x5 vs 3x3: (2W + 2) - (W + 1) + 1
      {kForkThree, "c0.fork->cat", 14, true},        // 3x3, 1x1 and identity: the identity against the 3x3
  };
  for (const auto& c : cases) {
    mpsim::test::TempDir dir("mpsim_fork");
    const std::string cfg = writeNet(dir, c.net);
    INFO(c.net);
    auto fold = test::balancedFolding(cfg, 1200);
    auto r = simulateText(cfg, fold); // default FIFOs: depth 2, shortcut_depth auto
    REQUIRE_FALSE(r.result.deadlock.detected);
    CHECK(r.interval() == uint64_t(r.mapping.predicted_cycles));
    bool found = false;
    for (const auto& s : r.mapping.streams)
      if (s.name == c.shortcut) {
        found = true;
        CHECK(s.shortcut);
        CHECK(s.min_depth == c.minDepth);
        CHECK(s.depth == s.auto_depth);
      }
    CHECK(found);
    // Exactly the minimum does not deadlock; one less does (when nothing else on the branch
    // buffers tokens: the 3x3 branch's line buffer holds more than the difference).
    auto atMin = simulateText(cfg, [&] {
      auto s = fold;
      s.push_back("mapping.fifos.depths[" + c.shortcut + "]=" + std::to_string(c.minDepth));
      return s;
    }());
    CHECK_FALSE(atMin.result.deadlock.detected);
    if (!c.exact) continue;
    auto below = simulateText(cfg, [&] {
      auto s = fold;
      s.push_back("mapping.fifos.depths[" + c.shortcut + "]=" + std::to_string(c.minDepth - 1));
      return s;
    }());
    CHECK(below.result.deadlock.detected);
  }
  // Every fork output that meets the others at the concat and runs behind the longest branch is a
  // shortcut; in the three-way fork the 1x1 branch is one too.
  mpsim::test::TempDir dir("mpsim_fork");
  auto three = simulateText(writeNet(dir, kForkThree), test::balancedFolding(writeNet(dir, kForkThree), 1200));
  for (const auto& s : three.mapping.streams)
    if (s.name == "c0.fork->b2") {
      CHECK(s.shortcut);
      CHECK(s.min_depth == 14);
    }
}
