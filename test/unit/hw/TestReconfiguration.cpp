// Full-device reconfiguration time (hw/Reconfiguration): documented bitstream lengths where there
// are some, the per-LUT estimate elsewhere, and the configuration port of each family.
#include <catch2/catch.hpp>

#include "mpsim/hw/Device.hpp"
#include "mpsim/hw/Reconfiguration.hpp"

using namespace mpsim;

TEST_CASE("reconfiguration: documented bitstreams, estimates and ports", "[unit][hw]") {
  const hw::Reconfiguration z7 = hw::reconfiguration(*hw::findDevice("pynq-z1"));
  CHECK(z7.bitstream_documented);
  CHECK(z7.bitstream_bits == 32364512.0);
  CHECK(z7.port_bytes_per_s == 400e6);
  CHECK(z7.seconds() == Approx(32364512.0 / 8 / 400e6));
  const hw::Reconfiguration vu9p = hw::reconfiguration(*hw::findDevice("xcvu9p"));
  CHECK(vu9p.bitstream_documented);
  CHECK(vu9p.port_bytes_per_s == 500e6); // stacked: the master SLR's ICAP at 125 MHz
  const hw::Device zu9 = *hw::findDevice("zcu102");
  const hw::Reconfiguration e = hw::reconfiguration(zu9);
  CHECK_FALSE(e.bitstream_documented);
  CHECK(e.bitstream_bits == Approx(hw::kBitstreamBitsPerLut * double(zu9.lut)));
  CHECK(e.port_bytes_per_s == 800e6);
  CHECK(e.seconds() * 1e3 == Approx(23.39).margin(0.01));
  CHECK(hw::reconfiguration(*hw::findDevice("u250")).port_bytes_per_s == 500e6);
  // Every device of the database gets a time and says where it comes from.
  for (const auto& d : hw::devices()) {
    INFO(d.name);
    const hw::Reconfiguration r = hw::reconfiguration(d);
    CHECK(r.seconds() > 0);
    CHECK_FALSE(r.source.empty());
    CHECK_FALSE(r.port.empty());
  }
}
