#pragma once
// The `system` section of report.json (docs/system.md): frame arrivals (latency distribution,
// input-buffer occupancy, dropped frames, achieved fps), the host (accelerator steady-state fps
// beside the end-to-end fps and runtime of a batch, as a board measurement sees them) and the
// background masters (achieved bandwidth of each, the accelerator's slowdown). Nothing is added
// when the run config has none of `input:`, `host:` and `background:`.
#include <ostream>

#include <nlohmann/json.hpp>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Result.hpp"

namespace mpsim::report {

/// `alone`: the same run without the background masters (their slowdown), or null.
void addSystem(nlohmann::ordered_json& report, const config::RunConfig& cfg, const sched::Mapping& m,
               const sim::SimResult& r, const sim::SimResult* alone = nullptr);
/// Bandwidth of the background masters over their active time (GB/s at clockMhz).
double backgroundGbps(const sim::SimResult& r, double clockMhz);
/// The summary lines of the system section (nothing without one).
void printSystemSummary(std::ostream& os, const nlohmann::ordered_json& report);

/// Nearest-rank percentile (p in (0, 100]) of sorted values; 0 when empty.
uint64_t percentile(const std::vector<uint64_t>& sorted, double p);

} // namespace mpsim::report
