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
       {"zcu104", "zcu106"},
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
       "public toolflow device tables; DRAM: PS DDR4 64 bit 2400 MT/s (ZCU106: the same part and PS DDR4 "
       "width assumed, not checked against its user guide)"},
      {"xck26",
       {"k26", "kv260", "kr260"},
       117120,
       234240,
       1248,
       288,
       64,
       DspKind::DSP48E2,
       1,
       19.2,
       214,
       128,
       "AMD DS987 (Kria K26 SOM data sheet): 4 GB DDR4, 64 bit, 2400 Mb/s; fabric counts from AMD's K26 product "
       "table as recalled; LUT, DSP, BRAM (5184 Kb = 144 BRAM36) and URAM equal a third-party KV260 table, FF "
       "(2 per LUT) not re-checked (docs/run-config.md); clock: a KV260 build (devices.md)"},
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
      {"xcu50",
       {"u50", "alveo-u50"},
       871680,
       1743360,
       5952,
       2688,
       640,
       DspKind::DSP48E2,
       32,
       9.875,
       200,
       512,
       "AMD DS965 (Alveo U50 data sheet) as recalled, not re-checked here: HBM2 8 GB, 32 pseudo-channels "
       "(UG1393), 316 GB/s; clock assumed"},
      {"xcu55c",
       {"u55c", "alveo-u55c"},
       1303680,
       2607360,
       9024,
       4032,
       960,
       DspKind::DSP48E2,
       32,
       14.375,
       200,
       512,
       "AMD DS978 (Alveo U55C data sheet) fabric counts as recalled; HBM2 16 GB, 32 pseudo-channels x 14.375 GB/s "
       "= 460 GB/s (UG1393, HBM Configuration and Use); clock assumed"},
      {"xcu280",
       {"u280", "alveo-u280"},
       1303680,
       2607360,
       9024,
       4032,
       960,
       DspKind::DSP48E2,
       32,
       14.375,
       200,
       512,
       "AMD DS963 (Alveo U280 data sheet) fabric counts as recalled, equal to a third-party U280 resource table "
       "(2016 BRAM36); HBM2 8 GB, 32 pseudo-channels x 14.375 GB/s "
       "= 460 GB/s (UG1393); the two DDR4 channels (38 GB/s) are not modelled; clock assumed"},
      {"xcvc1902",
       {"vck190"},
       899840,
       1799680,
       1968,
       1934,
       463,
       DspKind::DSP58,
       1,
       25.6,
       200,
       128,
       "DSP58 count: AMD AM004 (Versal DSP Engine), Table 1; LUT/FF/BRAM/URAM from AMD DS950 (Versal AI Core) "
       "as recalled, and all five equal to the Available column of a Vivado utilization report of an xcvc1902 "
       "design (a public repository); DRAM: the VCK190's DDR4 DIMM, 64 bit 3200 MT/s (LPDDR4 not modelled); "
       "clock assumed"},
      {"xcve2802",
       {"vek280"},
       520704,
       1041408,
       1312,
       1200,
       264,
       DspKind::DSP58,
       3,
       34.128,
       200,
       128,
       "LUT, FF, DSP58, BRAM (600 BRAM36) and URAM as recalled from AMD's Versal AI Edge product table (DS958 not "
       "found here); all five equal the Available column of a third-party utilization table of an "
       "xcve2802-vsvh1760-2MP-e-S design (a public repository); DRAM NOT CONFIRMED: 12 GB LPDDR4 (a public VEK280 "
       "project's notes agree on the capacity), modelled as 3 x64 controllers at 4266 MT/s (34.1 GB/s each), which "
       "UG1612 (VEK280 board user guide) was not available to confirm; clock assumed"},
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
