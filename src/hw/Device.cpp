#include "mpsim/hw/Device.hpp"

#include <algorithm>
#include <cctype>

namespace mpsim::hw {

const std::vector<Device>& devices() {
  // BRAM18 = 2 x BRAM36 of the table. DRAM peaks from the board memory table; where a board is not
  // in that table the assumption is stated in `source`.
  static const std::vector<Device> db = {
      {"xc7z020",
       {"pynq-z1", "pynq-z2", "zedboard"},
       53200,
       106400,
       220,
       280,
       0,
       DspKind::DSP48E1,
       1,
       2.1,
       100,
       64,
       "Vivado utilization reports; DRAM: Pynq-Z1 PS DDR3 16 bit 1050 MT/s"},
      {"xc7z045",
       {"zc706"},
       218600,
       437200,
       900,
       1090,
       0,
       DspKind::DSP48E1,
       1,
       4.26,
       100,
       64,
       "public toolflow device tables; DRAM assumed PS DDR3 32 bit 1066 MT/s (as Zedboard)"},
      {"xczu3eg",
       {"ultra96", "ultra96-v2"},
       70560,
       141120,
       360,
       432,
       0,
       DspKind::DSP48E2,
       1,
       8.5,
       300,
       128,
       "Vivado HLS Available row; DRAM: Ultra96 PS LPDDR4 32 bit 2133 MT/s"},
      {"xczu7ev",
       {"zcu104"},
       230400,
       460800,
       1728,
       624,
       96,
       DspKind::DSP48E2,
       1,
       19.2,
       250,
       128,
       "public toolflow device tables; DRAM: PS DDR4 64 bit 2400 MT/s"},
      {"xczu9eg",
       {"zcu102"},
       274080,
       548160,
       2520,
       1824,
       0,
       DspKind::DSP48E2,
       1,
       19.2,
       187.5,
       128,
       "several independent tables; DRAM: PS DDR4 64 bit 2400 MT/s"},
      {"xcvu9p",
       {"vcu118", "aws-f1"},
       1182240,
       2364480,
       6840,
       4320,
       960,
       DspKind::DSP48E2,
       4,
       19.25,
       250,
       512,
       "two independent tables; DRAM assumed 4 x DDR4 channels as Alveo U250"},
      {"xcu250",
       {"u250", "alveo-u250"},
       1728000,
       3456000,
       12288,
       5376,
       1280,
       DspKind::DSP48E2,
       4,
       19.25,
       206,
       512,
       "public toolflow device tables; DRAM: 4 x DDR4 channels, 77 GB/s"},
  };
  return db;
}

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}
} // namespace

std::optional<Device> findDevice(const std::string& nameOrBoard) {
  std::string k = lower(nameOrBoard);
  for (const auto& d : devices()) {
    if (d.name == k) return d;
    for (const auto& b : d.boards)
      if (b == k) return d;
  }
  return std::nullopt;
}

std::string deviceChoices() {
  std::string out;
  for (const auto& d : devices()) {
    if (!out.empty()) out += ", ";
    out += d.name + " (";
    for (size_t i = 0; i < d.boards.size(); ++i) out += (i ? ", " : "") + d.boards[i];
    out += ")";
  }
  return out;
}

} // namespace mpsim::hw
