#pragma once
// The report of `mpsim run`: report.json (schema mpsim.report/1), layers.csv and a text summary.
// Everything in it is derived from the mapping and the simulation result, so the same inputs give
// the same bytes (no timestamps, no wall-clock times).
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Plan.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sim/Result.hpp"

namespace mpsim::report {

inline constexpr const char* kReportSchema = "mpsim.report/1";

nlohmann::ordered_json runReportJson(const graph::Graph& g, const config::RunConfig& cfg, const sched::Mapping& m,
                                     const sim::SimResult& r, const sched::DesignResources& res);
/// The mapping without simulation (`mpsim map`): engines, closed forms, resources, params.
nlohmann::ordered_json mapReportJson(const graph::Graph& g, const config::RunConfig& cfg, const sched::Mapping& m,
                                     const sched::DesignResources& res);
/// Adds summary.limit (why a scheduled design is not faster, sched::Limit) to a map or run report;
/// nothing for a manual mapping.
void addLimit(nlohmann::ordered_json& report, const sched::Plan& plan, double clockMhz);
/// fifo_sizing {simulated_cycles_per_frame, reference_cycles_per_frame, reached, simulations, fifos,
/// total_depth, cost, cost_at_depth2} of map.json and report.json when the FIFOs were sized by
/// simulation (mapping.fifos: auto); nothing otherwise.
void addFifoSizing(nlohmann::ordered_json& report, const sched::Plan& plan);
void printMapSummary(std::ostream& os, const nlohmann::ordered_json& report);
void writeLayersCsv(std::ostream& os, const nlohmann::ordered_json& report);
void printRunSummary(std::ostream& os, const nlohmann::ordered_json& report);

} // namespace mpsim::report
