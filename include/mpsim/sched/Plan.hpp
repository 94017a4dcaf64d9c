#pragma once
// The scheduler's result: the mapping that buildMapping turns into engines and streams.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"

namespace mpsim::sched {

struct Mapping;

/// What keeps a scheduled design from being faster (docs/cost-model.md, "Scheduler"): `by` is
/// "budget" (the next faster design needs more of a resource than the budget has), "parallelism"
/// (the slowest layers are at their fastest folding), "dram" (DRAM bandwidth bounds the frame
/// rate), "io" (the input or output port's width), "target" (goal target_fps: as slow as the target allows) or "search" (the next faster
/// design fits, but the estimate had ruled it out).
struct Limit {
  std::string by;
  int64_t next_cycles = 0;             // the next faster design (budget, search)
  std::vector<std::string> shortfalls; // what it lacks (budget)
  std::vector<std::string> layers;     // the layers that would need a faster folding
  double extra_lut = 0, extra_ff = 0, extra_dsp = 0, extra_bram18 = 0, extra_uram = 0; // ... and what more they use
};

/// What FIFO sizing by simulation found (mapping.fifos: auto; flow/FifoSizing.hpp).
struct FifoSizingResult {
  bool done = false;
  double reference_cycles = 0; // simulated cycles per frame with ample FIFOs
  double cycles = 0;           // ... with the sized FIFOs
  bool reached = false;        // cycles within kFifoSizingTolerance of the reference
  int simulations = 0;
  int fifos = 0;               // FIFOs sized (not given in mapping.fifos.depths, not weight streams)
  int64_t total_depth = 0;     // sum of their depths (tokens)
  hw::Resources cost;          // all FIFOs at the chosen depths
  hw::Resources cost_depth2;   // all FIFOs at depth 2 (FINN's default before its FIFO sizing)
};
/// Sized FIFOs keep the simulated throughput of ample ones within this share.
inline constexpr double kFifoSizingTolerance = 0.001;

/// What the scheduler chose: the mapping the engines are built from.
struct Plan {
  std::map<std::string, config::LayerMapping> layers; // per layer: folding, PE kind, weight placement
  config::FifoConfig fifos;                           // FIFO depths: default, shortcut policy, overrides
  bool scheduled = false;                             // chosen by the scheduler (mapping mode auto)
  int64_t target_cycles = 0;                          // cycles per frame the folding was chosen for
  int64_t design_cycles = 0;                          // closed-form cycles of the chosen design
  int evaluations = 0;                                // designs costed
  std::vector<std::string> notes;                     // placement decisions worth telling the user
  Limit limit;                                        // scheduled designs: why not faster
  FifoSizingResult fifo_sizing;                       // mapping.fifos: auto
  /// Scheduled plans: the mapping the scheduler built from `layers` and `fifos` when it chose
  /// them (buildMapping reads nothing else of a plan), so that flow::map need not build it again.
  /// A cache, not part of the plan: a plan changed after schedule() must drop it.
  std::shared_ptr<const Mapping> built;
};

} // namespace mpsim::sched
