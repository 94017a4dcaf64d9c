#include "mpsim/hw/ShellCost.hpp"

namespace mpsim::hw {

std::optional<ShellCost> shellCost(const Device& d) {
  // Post-route `report_utilization -hierarchical` of FINN zynq builds (../shared/reference/synth,
  // output_final/report/post_synth_resources.xml): axi_interconnect_0 + smartconnect_0 + the
  // proc_sys_reset, i.e. everything outside StreamingDataflowPartition_* and the IODMAs.
  // Zynq-7000: the UNSW-NB15 MLP build on xc7z020 (465 + 3024 + 17 LUT, 609 + 3763 + 33 FF).
  // Zynq UltraScale+: the mean of the two EEG builds on xczu7ev (4672 / 4679 LUT, 6473 FF each) and
  // the two FACILE builds on xczu3eg (4601 LUT, 6388 FF each); no BRAM, DSP or URAM in any of them.
  const std::string& n = d.name;
  if (n.rfind("xc7z", 0) == 0)
    return ShellCost{Resources{3506, 4405, 0, 0, 0},
                     "FINN's zynq shell (AXI interconnect, SmartConnect, reset), measured post-route on the "
                     "UNSW-NB15 MLP build on xc7z020"};
  if (n.rfind("xczu", 0) == 0 || n.rfind("xck26", 0) == 0)
    return ShellCost{Resources{4638, 6431, 0, 0, 0},
                     "FINN's zynq shell (AXI interconnect, SmartConnect, reset), mean of four post-route "
                     "builds on xczu7ev and xczu3eg"};
  return std::nullopt;
}

} // namespace mpsim::hw
