#pragma once
// What-if analysis of a mapped design (`mpsim explain`, docs/timelines.md "What if"): for the
// bottleneck and the engines within 10 % of it (closed form), the next legal folding step of their
// layer (with each PE kind the config allows), a faster PE kind at the same folding, and for weight
// streamers the weights on chip or read less often; each with its cost and the closed-form frame
// rate of the whole design with it, ranked by frames per second gained per share of the budget, and
// which engine then limits. With confirm(), the design itself is simulated too, and when it stalls
// on FIFOs (slower than with ample ones) the smallest depth increases that remove the stall are
// found (flow::fixStalls) and listed as a step. Uses the public scheduler APIs only
// (sched::mac::foldForTarget, sched::buildMapping, sched::estimateResources).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/flow/Flow.hpp"

namespace mpsim::flow {

/// Engines whose closed form is within this fraction of the bottleneck's are candidates.
inline constexpr double kExplainWithin = 0.10;

/// What a step changes.
enum class StepKind { Folding, PeKind, Placement, Fifo, Chain };
const char* stepKindName(StepKind k);

struct WhatIf {
  StepKind kind = StepKind::Folding;
  std::string engine, layer;      // the candidate engine and the layer whose mapping changes
  std::string change;             // e.g. "pe 16 -> 32, simd 32 -> 32"
  std::string set;                // the change as run-config overrides (--set key=value ...)
  int64_t engine_cycles = 0;      // the candidate's closed form before ...
  int64_t engine_cycles_after = 0; // ... and after the step
  int64_t cycles_after = 0;        // the whole design's closed form after the step
  double fps_after = 0;
  std::string bottleneck_after;
  hw::Resources extra;    // resources added (negative: saved)
  double budget_share = 0; // the largest extra / budget over the kinds
  bool fits = false;       // the design with the step fits the budget
  double score = 0;        // fps gained per budget share (ranking)
  double simulated_fps = -1; // --confirm: the simulated frame rate (-1: not simulated)
  int simulations = 0;       // fifo steps: simulations it took to find
  Design design;             // the design with the step
};

struct Explanation {
  std::string bottleneck;
  int64_t cycles = 0;
  double fps = 0;
  std::vector<std::pair<std::string, int64_t>> near; // engines within kExplainWithin, slowest first
  std::vector<WhatIf> steps;                         // best score first
  std::vector<std::string> notes;                    // engines without a next step, and why
  double simulated_fps = -1;                         // confirm(): the design as it is, simulated
  double stall_free_fps = -1;                        // confirm(): ... with ample FIFOs
};

Explanation explain(const Design& d);
/// Simulates the design and the first `n` steps (forked children) and fills their simulated_fps;
/// adds the FIFO step when the design stalls on FIFOs (flow::fixStalls).
void confirm(const Design& d, Explanation& e, int n);
nlohmann::ordered_json explanationJson(const Explanation& e);
std::string explanationText(const Explanation& e);

} // namespace mpsim::flow
