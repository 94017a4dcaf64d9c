#pragma once
// Helpers of mpsim's self-contained HTML pages (the sweep report, the run report): no network, no
// external scripts or fonts; charts are SVG written here, the little interactivity inline JavaScript.
#include <string>
#include <vector>

namespace mpsim::report::html {

/// Text escaped for HTML content and attribute values.
std::string esc(const std::string& s);
/// A coordinate or length with one decimal ("12.5").
std::string coord(double v);
/// Round tick values covering [lo, hi] (steps of 1, 2, 5 x 10^k, about five of them).
std::vector<double> ticks(double lo, double hi);
/// Ten distinguishable colours.
extern const char* const kPalette[10];
/// The page up to and including <body>: charset, title, the common style plus `css`.
std::string pageHead(const std::string& title, const std::string& css = "");
/// A table sortable by a click on its header (give the table id); include once per page.
std::string sortableTableScript(const std::string& tableId);

} // namespace mpsim::report::html
