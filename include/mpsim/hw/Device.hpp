#pragma once
// Built-in FPGA device database (from ../shared/reference/devices/devices.md, sources kept per entry).
#include <optional>
#include <string>
#include <vector>

#include "mpsim/common/EnumNames.hpp"

namespace mpsim::hw {

enum class DspKind { DSP48E1, DSP48E2, DSP58 };
inline constexpr EnumName<DspKind> kDspKindNames[] = {
    {DspKind::DSP48E1, "DSP48E1"}, {DspKind::DSP48E2, "DSP48E2"}, {DspKind::DSP58, "DSP58"}};
inline const char* toString(DspKind k) { return enumName(kDspKindNames, k); }

struct Device {
  std::string name;                // part, e.g. xczu9eg
  std::vector<std::string> boards; // aliases, e.g. zcu102
  int64_t lut = 0, ff = 0, dsp = 0, bram18 = 0, uram = 0;
  DspKind dsp_kind = DspKind::DSP48E2;
  // Board defaults for hardware.dram / hardware.io / clock when the config leaves them out.
  int dram_channels = 1;
  double dram_gbps_per_channel = 0; // GB/s per channel, theoretical peak
  double clock_mhz = 100;
  int io_port_bits = 64; // one PS-PL (or shell) AXI port
  std::string source;
};

const std::vector<Device>& devices();
/// Looks up by part name or board alias, case-insensitive.
std::optional<Device> findDevice(const std::string& nameOrBoard);
/// "xc7z020 (pynq-z1, ...), ..." for error messages.
std::string deviceChoices();

} // namespace mpsim::hw
