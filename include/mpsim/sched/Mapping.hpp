#pragma once
// Mapping: turns a quantised graph plus the scheduler's plan into the engines and streams of a
// layer-pipelined dataflow accelerator (docs/simulation.md). Each engine comes from its family
// (sched/Engines.hpp: spec, closed form, folding range, resources); the mapping connects them with
// streams, adds forks and sizes the shortcut FIFOs.
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/sched/EngineSpec.hpp"
#include "mpsim/sched/Plan.hpp"

namespace mpsim::sched {

struct Mapping {
  std::vector<EngineSpec> engines; // in topological order
  std::vector<StreamSpec> streams;
  double clock_mhz = 200;
  int64_t predicted_cycles = 0; // max closed-form cycles over engines
  /// predicted_cycles with the DRAM at its peak rate instead of the share a design plans with
  /// (hardware.dram.max_utilization): what a simulation of a DRAM-bound design reaches.
  int64_t expected_cycles = 0;
  std::string predicted_bottleneck;
  int indexOf(const std::string& engine) const;
};

/// Builds the mapping of a plan (sched::schedule). Throws LoadError for illegal folding (PE larger
/// than the channels, SIMD larger than the dot product) or unknown FIFO names in the plan's FIFO depths.
Mapping buildMapping(const graph::Graph& g, const config::RunConfig& cfg, const Plan& plan);
/// Drops the shortcut FIFOs' run-ahead memo buildMapping shares across the mappings of the process
/// (see sched::clearSharedState).
void clearShortcutMemo();

} // namespace mpsim::sched
