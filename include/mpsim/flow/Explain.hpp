#pragma once
// What-if analysis of a mapped design (`mpsim explain`, docs/timelines.md "What if"): for the
// bottleneck and the engines within 10 % of it (closed form), the next legal folding step of their
// layer, its cost and the closed-form frame rate of the whole design with it, ranked by frames per
// second gained per share of the budget, and which engine then limits. Uses the public scheduler
// APIs only (sched::mac::foldForTarget, sched::buildMapping, sched::estimateResources).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/flow/Flow.hpp"

namespace mpsim::flow {

/// Engines whose closed form is within this fraction of the bottleneck's are candidates.
inline constexpr double kExplainWithin = 0.10;

struct WhatIf {
  std::string engine, layer;      // the candidate engine and the layer whose folding changes
  std::string change;             // e.g. "pe 16 -> 32, simd 32 -> 32"
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
  Design design;             // the design with the step
};

struct Explanation {
  std::string bottleneck;
  int64_t cycles = 0;
  double fps = 0;
  std::vector<std::pair<std::string, int64_t>> near; // engines within kExplainWithin, slowest first
  std::vector<WhatIf> steps;                         // best score first
  std::vector<std::string> notes;                    // engines without a next step, and why
};

Explanation explain(const Design& d);
/// Simulates the first `n` steps (forked children) and fills their simulated_fps.
void confirm(Explanation& e, int n);
nlohmann::ordered_json explanationJson(const Explanation& e);
std::string explanationText(const Explanation& e);

} // namespace mpsim::flow
