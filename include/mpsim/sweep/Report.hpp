#pragma once
// `mpsim sweep report`: one self-contained HTML file (no network, no scripts from elsewhere): a
// scatter plot of two metrics written by mpsim as SVG (one circle per point, its values as the
// hover text, the Pareto front of the two as a line, colour by a swept key or metric), and a table
// of every point that sorts by a click on its header (a few lines of inline JavaScript).
#include <string>

#include "mpsim/sweep/Store.hpp"

namespace mpsim::sweep {

struct ReportOptions {
  std::string x = "min:lut"; // an objective: its metric is the axis, its direction that of the front
  std::string y = "max:fps";
  std::string color; // a swept key or a metric; default the first swept key
  std::string title; // default the sweep's name
};

/// The page. Throws std::invalid_argument for an unknown metric or colour column.
std::string htmlReport(Store& st, const ReportOptions& opt);

} // namespace mpsim::sweep
