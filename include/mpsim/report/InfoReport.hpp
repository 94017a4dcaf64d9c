#pragma once
// Renders network statistics (`mpsim info`) as a text table or JSON.
#include <ostream>

#include <nlohmann/json.hpp>

#include "mpsim/graph/NetworkStats.hpp"

namespace mpsim::report {

nlohmann::ordered_json infoJson(const graph::NetworkStats& s);
void printInfoTable(std::ostream& os, const graph::NetworkStats& s);

/// 1234567 -> "1,234,567"
std::string withCommas(int64_t v);

} // namespace mpsim::report
