// Error bars (hw/CostBands): the interval of a measured count from an estimate and its family's
// validation band, the fallback to the band of all nodes, and the design's total_low / total_high /
// fits_upper (docs/cost-model.md, "Error bars").
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/hw/CostBands.hpp"
#include "mpsim/sched/Resources.hpp"

using namespace mpsim;

namespace {
const hw::CostBand& bandOf(const char* family, const char* resource) {
  for (const auto& b : hw::costBands())
    if (std::strcmp(b.family, family) == 0 && std::strcmp(b.resource, resource) == 0) return b;
  FAIL("no band " << family << " " << resource);
  return hw::costBands().front();
}
} // namespace

TEST_CASE("an estimate's interval: est / (1 + p90) .. est / (1 + p10) of its family's band", "[unit][cost]") {
  const auto& lut = bandOf("mvau", "lut");
  const auto& ff = bandOf("mvau", "ff");
  const auto& bram = bandOf("mvau", "bram18");
  REQUIRE(lut.p10 < 0);
  REQUIRE(lut.p90 > 0);
  hw::Resources est{1000, 2000, 7, 10, 3}, lo, hi;
  hw::addInterval(est, "mvau", lo, hi);
  CHECK(lo.lut == Approx(1000 / (1 + lut.p90)));
  CHECK(hi.lut == Approx(1000 / (1 + lut.p10)));
  CHECK(lo.ff == Approx(2000 / (1 + ff.p90)));
  CHECK(hi.ff == Approx(2000 / (1 + ff.p10)));
  CHECK(lo.bram18 == Approx(10 / (1 + bram.p90)));
  CHECK(hi.bram18 == Approx(10 / (1 + bram.p10)));
  // No validation data for DSP and URAM: the estimate itself.
  CHECK(lo.dsp == 7);
  CHECK(hi.dsp == 7);
  CHECK(lo.uram == 3);
  CHECK(hi.uram == 3);
  // It accumulates, and a family without a band (label select: one node; fork: none) takes "all".
  hw::Resources lo2, hi2;
  hw::addInterval(hw::Resources{100, 0, 0, 0, 0}, "labelselect", lo2, hi2);
  hw::addInterval(hw::Resources{100, 0, 0, 0, 0}, "fork", lo2, hi2);
  const auto& all = bandOf("all", "lut");
  CHECK(lo2.lut == Approx(200 / (1 + all.p90)));
  CHECK(hi2.lut == Approx(200 / (1 + all.p10)));
}

TEST_CASE("a design's total_low <= total <= total_high, and fits_upper checks the upper bound", "[unit][cost]") {
  auto run = config::loadRunString("network: {model: cnv, quant: {weights: 1, activations: 1}}\n"
                                   "hardware: {device: pynq-z1}\nmapping: {mode: auto}\n",
                                   "<test>");
  const auto d = flow::map(run);
  const auto r = sched::estimateResources(d.run.graph, d.mapping, d.run.config);
  for (auto f : {&hw::Resources::lut, &hw::Resources::ff, &hw::Resources::bram18, &hw::Resources::dsp}) {
    CHECK(r.total_low.*f <= r.total.*f + 1e-9);
    CHECK(r.total.*f <= r.total_high.*f + 1e-9);
  }
  CHECK(r.total_high.lut > r.total.lut); // the MAC units' band is not zero-width
  REQUIRE(r.fits);
  const bool upperFits = r.total_high.lut <= r.budget.lut && r.total_high.ff <= r.budget.ff &&
                         r.total_high.dsp <= r.budget.dsp && r.total_high.bram18 <= r.budget.bram18 &&
                         r.total_high.uram <= r.budget.uram;
  CHECK(r.fits_upper == upperFits);
  // A budget between the estimate and the upper bound: fits, not at the upper bound.
  auto tight = d.run.config;
  tight.hardware.units.budget.lut = std::ceil((r.total.lut + r.total_high.lut) / 2);
  const auto t = sched::estimateResources(d.run.graph, d.mapping, tight);
  CHECK(t.fits);
  CHECK_FALSE(t.fits_upper);
  const auto j = sched::resourcesJson(t);
  CHECK(j["fits_upper"] == false);
  CHECK(j["total_high"]["lut"].get<double>() >= j["total"]["lut"].get<double>());
}
