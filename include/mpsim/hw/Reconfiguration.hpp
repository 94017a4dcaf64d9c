#pragma once
// Full-device reconfiguration time of a device (docs/segments.md): its configuration bitstream over
// the configuration port a running design reconfigures through. Segments through DRAM pay it once
// per segment and batch.
#include <string>

#include "mpsim/hw/Device.hpp"

namespace mpsim::hw {

struct Reconfiguration {
  double bitstream_bits = 0;
  bool bitstream_documented = false; // false: estimated from the device's LUTs (kBitstreamBitsPerLut)
  double port_bytes_per_s = 0;
  std::string port;   // which port and rate
  std::string source; // where the numbers come from
  double seconds() const { return bitstream_bits / 8.0 / port_bytes_per_s; }
};

/// Bitstream bits per LUT of the three documented lengths (xc7z020 608, xc7z045 488, xcvu9p 542:
/// mean 546, spread -11 % .. +11 %): the estimate for devices without a documented length.
inline constexpr double kBitstreamBitsPerLut = 546.1;

Reconfiguration reconfiguration(const Device& d);

} // namespace mpsim::hw
