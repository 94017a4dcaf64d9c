#pragma once
// FIFO sizing by simulation (mapping.fifos: auto; docs/simulation.md "FIFO sizing"): the depths
// of a mapped design's FIFOs that keep its simulated throughput, found in three steps:
//   1. simulate with ample FIFOs (twice a frame's tokens each): the reference interval R;
//   2. simulate again with the input DMA paced at one frame per R cycles, tokens evenly spread:
//      every FIFO's maximum occupancy is the depth it needs (the paced run never blocks at those
//      depths, and an earlier input can only make every event earlier in a dataflow pipeline);
//   3. simulate with those depths and the input as fast as it can go; if the interval is more than
//      kFifoSizingTolerance above R (the DRAM model is not strictly monotone), double the FIFOs
//      that filled up and repeat, up to a few rounds.
// FIFOs named in mapping.fifos.depths keep the user's depth; a weight stream keeps depth 1 (the
// pass buffer's second half is in its layer); a shortcut never gets less than its deadlock-free
// minimum. Every simulation runs in a forked child (sim::simulateIsolated).
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "mpsim/flow/Flow.hpp"

namespace mpsim::flow {

/// Sizes d's FIFOs when its config says mapping.fifos sizing auto (else does nothing): writes the
/// depths into d.plan.fifos (sizing fixed, so that the effective config reproduces them without
/// simulating), rebuilds d.mapping and d.resources, and records d.plan.fifo_sizing.
/// Throws LoadError when the design cannot be simulated.
void sizeFifos(Design& d);

/// What FIFO depth change removes a design's stalls (`mpsim explain --confirm`): the design as it is
/// and with ample FIFOs are simulated; when the first is slower by more than kFifoSizingTolerance (or
/// deadlocks), the FIFOs that filled up are doubled until it is not, then each grown FIFO is bisected
/// back towards its depth. Only depths grow; every FIFO but weight streams may change, including
/// those the config pins (the change is then a mapping.fifos.depths entry to write).
struct StallFix {
  double cycles = 0;           // simulated cycles per frame as the design is (0: deadlock)
  double reference_cycles = 0; // ... with ample FIFOs (0: not even they run through)
  bool deadlock = false;
  bool stalls = false;         // slower than the reference (or deadlocked)
  bool reached = false;        // the changes bring it within the tolerance of the reference
  double cycles_after = 0;     // simulated with the changes
  std::map<std::string, std::pair<int64_t, int64_t>> changes; // FIFO -> (depth, new depth)
  int simulations = 0;
  Design design; // with the changes (when reached)
};
StallFix fixStalls(const Design& d);

} // namespace mpsim::flow
