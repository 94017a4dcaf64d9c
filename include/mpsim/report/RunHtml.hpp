#pragma once
// The HTML page of one run (`mpsim run --html` -> DIR/report.html, `mpsim report DIR`): one
// self-contained file that works offline (report/Html.hpp), made from report.json alone: the
// summary and bottleneck; per engine a stacked bar of busy / starved / DRAM wait / blocked / idle;
// resources per kind: the estimate, its interval (resources.total_low / total_high) as a table and as
// error bars against the budget, whether the design fits at the estimate and at the interval's upper
// bound, and per layer; FIFO depth against maximum occupancy; DRAM
// bandwidth per initiator; parameter memory against FP32; the deadlock's wait-for cycle as a graph.
#include <string>

#include <nlohmann/json.hpp>

namespace mpsim::report {

/// The page of a report.json (schema mpsim.report/1). Deterministic: same report, same bytes.
/// Throws LoadError when the JSON is not a run report.
std::string runReportHtml(const nlohmann::ordered_json& report);

} // namespace mpsim::report
