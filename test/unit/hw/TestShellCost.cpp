// The board's shell line (docs/cost-model.md, "The shell"): the measured Zynq shells, none where
// nothing was measured, and a separate line that leaves the design's total and fit alone.
#include <catch2/catch.hpp>

#include "mpsim/hw/ShellCost.hpp"

using namespace mpsim;

TEST_CASE("shell cost: measured Zynq-7000 and Zynq UltraScale+ shells, none elsewhere", "[hw][shell]") {
  // xc7z020: the UNSW-NB15 MLP build's axi_interconnect_0 + smartconnect_0 + reset (465 + 3024 + 17
  // LUT, 609 + 3763 + 33 FF), ../shared/reference/synth/umav1511_finn__cybsec-mlp-w2a2_pynqz1.
  const auto z7 = hw::shellCost(*hw::findDevice("pynq-z1"));
  REQUIRE(z7);
  CHECK(z7->resources.lut == 3506);
  CHECK(z7->resources.ff == 4405);
  CHECK(z7->resources.bram18 == 0);
  for (const char* b : {"zcu104", "zcu102", "ultra96", "kv260"}) {
    INFO(b);
    const auto s = hw::shellCost(*hw::findDevice(b));
    REQUIRE(s);
    CHECK(s->resources.lut == 4638); // (4672 + 4679 + 4601 + 4601) / 4, rounded
    CHECK(s->resources.ff == 6431);  // (6473 + 6473 + 6388 + 6388) / 4 = 6430.5, rounded up
    CHECK(!s->source.empty());
  }
  for (const char* b : {"u250", "u55c", "vck190", "vcu118"}) {
    INFO(b);
    CHECK(!hw::shellCost(*hw::findDevice(b)));
  }
}
