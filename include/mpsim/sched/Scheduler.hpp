#pragma once
// Scheduler for mapping.mode: auto (docs/cost-model.md, "Scheduler"). Chooses PE, SIMD, PE kind and weight
// placement per MAC layer for the goal max_fps (fastest design within the budget) or target_fps
// (cheapest design reaching it); entries given in mapping.layers are kept as they are.
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"

namespace mpsim::sched {

struct ScheduleResult {
  int64_t target_cycles = 0;   // cycles per frame the folding was chosen for
  int64_t design_cycles = 0;   // closed-form cycles of the chosen design
  int evaluations = 0;         // designs costed
  std::vector<std::string> notes; // placement decisions worth telling the user
};

/// Fills cfg.mapping.layers (and the effective config) with the chosen mapping. Throws LoadError
/// when nothing fits (naming each short resource and by how much) or the target is unreachable.
ScheduleResult schedule(const graph::Graph& g, config::RunConfig& cfg);

} // namespace mpsim::sched
