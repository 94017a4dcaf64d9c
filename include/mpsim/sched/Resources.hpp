#pragma once
// Resource estimate of a mapped design: every engine and FIFO through the cost model, the total,
// the device budget and whether it fits.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/hw/ShellCost.hpp"
#include "mpsim/sched/Mapping.hpp"

namespace mpsim::sched {

struct DesignResources {
  std::vector<hw::Resources> engines; // parallel to Mapping::engines
  std::vector<hw::Resources> streams; // parallel to Mapping::streams
  hw::Resources total;
  /// The interval of the measured total: each engine's and FIFO's estimate widened by its family's
  /// validation band (hw::addInterval; docs/cost-model.md, "Error bars").
  hw::Resources total_low, total_high;
  hw::Resources device; // device totals
  hw::Resources budget; // device totals times the utilisation caps
  bool fits = false;       // at the estimate (what the scheduler decides by)
  bool fits_upper = false; // also at the upper bound of the interval (total_high)
  /// Resources over budget, e.g. "BRAM18: needs 2100, budget 1459 (short by 641)".
  std::vector<std::string> shortfalls;
  /// The board's shell (hw::shellCost), a separate line: not in total, budget or fits.
  std::optional<hw::ShellCost> shell;
};

/// The validation / calibration family of an engine kind (hw/CostBands, `mpsim calibrate`): mvau,
/// swu, pool, thresholding, labelselect; engines without synthesised counterparts (add, concat,
/// fork, DMAs, weight streamers) give "all".
const char* costFamily(EngineKind k);
/// One engine's resources through its family's cost form (what estimateResources sums).
hw::Resources engineResources(const graph::Graph& g, const EngineSpec& e, const config::HardwareConfig& h);

/// Every engine and FIFO; the interval of each takes its family's band (hardware.cost_model.intervals
/// of a calibrated model first, else the built-in one).
DesignResources estimateResources(const graph::Graph& g, const Mapping& m, const config::RunConfig& cfg);

nlohmann::ordered_json toJson(const hw::Resources& r);
/// resources {total, total_low, total_high, device, budget, utilization, fits, fits_upper, shortfalls}.
nlohmann::ordered_json resourcesJson(const DesignResources& d);

} // namespace mpsim::sched
