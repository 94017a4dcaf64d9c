#pragma once
// The board's shell around the accelerator (docs/cost-model.md, "The shell"): the AXI interconnect,
// SmartConnect and reset that FINN's zynq build puts between the processing system and the
// accelerator's DMAs. A separate line of the resource report, not part of the accelerator's total
// (the DMAs themselves are engines of the design). Measured on real builds, per device family.
#include <optional>
#include <string>

#include "mpsim/hw/CostModel.hpp"
#include "mpsim/hw/Device.hpp"

namespace mpsim::hw {

struct ShellCost {
  Resources resources;
  std::string source; // where the numbers come from
};

/// The shell of the device's family, when one has been measured (Zynq-7000, Zynq UltraScale+);
/// none for the others (Alveo, Versal, Virtex: their platforms' shells are not in test/data/synth).
std::optional<ShellCost> shellCost(const Device& d);

} // namespace mpsim::hw
