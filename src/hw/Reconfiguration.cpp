#include "mpsim/hw/Reconfiguration.hpp"

#include <map>

namespace mpsim::hw {

namespace {
// Documented full bitstream lengths (bits).
//   xc7z020, xc7z045: U-Boot include/zynqpl.h "Device Image Sizes" (equal to UG470 Table 1-1).
//   xcvu9p: the "Bits:" header of a Vivado .rbt of xcvu9p-flga2104 (641,272,864), which matches PG213's
//   "Sample Bitstream Sizes" (611.6 Mb = 2^20-bit units).
const std::map<std::string, double>& documentedBits() {
  static const std::map<std::string, double> m = {
      {"xc7z020", 32364512.0}, {"xc7z045", 106571232.0}, {"xcvu9p", 641272864.0}};
  return m;
}
// Stacked-silicon parts: ICAP at 125 MHz when configuring through the master SLR (UG909, XAPP1338).
bool stacked(const std::string& part) {
  return part == "xcvu9p" || part == "xcu250" || part == "xcu50" || part == "xcu55c" || part == "xcu280";
}
} // namespace

Reconfiguration reconfiguration(const Device& d) {
  Reconfiguration r;
  const auto& doc = documentedBits();
  if (auto it = doc.find(d.name); it != doc.end()) {
    r.bitstream_bits = it->second;
    r.bitstream_documented = true;
    r.source = "bitstream length documented (U-Boot zynqpl.h / UG470 for Zynq-7000, a Vivado .rbt and PG213 for VU9P)";
  } else {
    r.bitstream_bits = kBitstreamBitsPerLut * double(d.lut);
    r.source = "bitstream length estimated: " + std::to_string(int(kBitstreamBitsPerLut)) +
               " bits per LUT (the mean of the three documented devices, spread +-11 %)";
  }
  if (d.dsp_kind == DspKind::DSP48E1) {
    r.port_bytes_per_s = 400e6;
    r.port = "ICAPE2, 32 bit at 100 MHz (UG909 Table 1)";
  } else if (stacked(d.name)) {
    r.port_bytes_per_s = 500e6;
    r.port = "ICAPE3 of a stacked device, 32 bit at 125 MHz (UG909, XAPP1338)";
  } else if (d.dsp_kind == DspKind::DSP48E2) {
    r.port_bytes_per_s = 800e6;
    r.port = "ICAPE3, 32 bit at 200 MHz (UG909 Tables 2 and 3)";
  } else {
    r.port_bytes_per_s = 800e6;
    r.port = "assumed as UltraScale+ ICAPE3, 800 MB/s (Versal's PMC rate is not documented here)";
  }
  return r;
}

} // namespace mpsim::hw
