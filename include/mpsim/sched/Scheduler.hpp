#pragma once
// The scheduler (docs/cost-model.md, "Scheduler"): a pure function from a graph and a resolved run
// config to a Plan. In mapping mode manual the plan is the config's mapping; in mode auto it
// chooses PE, SIMD, PE kind and weight placement per MAC layer for the goal max_fps (fastest design
// within the budget) or target_fps (cheapest design reaching it), keeping the entries given in
// mapping.layers as they are. It never changes the config.
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/sched/Plan.hpp"

namespace mpsim::sched {

/// The plan of a manual mapping: the config's mapping.layers and mapping.fifos.
Plan manualPlan(const config::RunConfig& cfg);

/// Throws LoadError when nothing fits (naming each short resource, by how much and its largest
/// users) or the target is unreachable.
Plan schedule(const graph::Graph& g, const config::RunConfig& cfg);

/// Drops what the scheduler runs of this process share (sched/Scheduler.cpp: the layers' options,
/// the price grid's candidates of max_fps runs, the options each option is no better than;
/// sched/Mapping.cpp: the shortcut FIFOs' need memo). Nothing depends on it but time: for tests that compare runs with and without it.
void clearSharedState();

/// The config with the plan as its mapping (what the effective config records, so that the run
/// can be repeated or edited as a manual mapping).
config::RunConfig withPlan(const config::RunConfig& cfg, const Plan& plan);

} // namespace mpsim::sched
