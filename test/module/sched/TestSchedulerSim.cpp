// The scheduler's design for ResNet-18 W4A4 on xczu9eg fits and simulates within 5 % of its target.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"

#include "mpsim/common/Error.hpp"
#include "mpsim/hw/CostModel.hpp"
#include <fstream>

using namespace mpsim;
using hw::MemKind;
using hw::PeKind;

TEST_CASE("scheduler: ResNet-18 W4A4 (8-bit first/last) on xczu9eg at 200 MHz fits and simulates within 5 %",
          "[module][sched]") {
  const std::string cfg = R"(
network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: xczu9eg, clock_mhz: 200}
mapping: {mode: auto, goal: max_fps}
simulation: {frames: 6}
)";
  auto r = test::simulateText(cfg);
  CHECK(r.report["resources"]["fits"].get<bool>());
  const double predicted = r.report["summary"]["predicted"]["fps"].get<double>();
  const double simulated = r.report["summary"]["fps"].get<double>();
  CHECK(predicted > 100);
  CHECK(simulated == Approx(predicted).epsilon(0.05));
  // Deterministic: the same inputs give the same mapping.
  auto again = config::loadRunString(cfg, "<test>");
  auto m2 = flow::map(again).mapping;
  REQUIRE(m2.engines.size() == r.mapping.engines.size());
  for (size_t i = 0; i < m2.engines.size(); ++i) {
    CHECK(m2.engines[i].pe == r.mapping.engines[i].pe);
    CHECK(m2.engines[i].simd == r.mapping.engines[i].simd);
  }
}
