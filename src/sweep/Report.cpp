#include "mpsim/sweep/Report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>

#include "mpsim/io/YamlReader.hpp"
#include "mpsim/report/Html.hpp"
#include "mpsim/sweep/Results.hpp"

namespace mpsim::sweep {

using nlohmann::ordered_json;

namespace {

using report::html::esc;
using report::html::kPalette;
using report::html::ticks;

std::string text(const ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return io::formatNumber(v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string num(double v) { return report::html::coord(v); }

} // namespace

std::string htmlReport(Store& st, const ReportOptions& opt) {
  const Objective ox = parseObjective(opt.x), oy = parseObjective(opt.y);
  const ordered_json rows = exportRows(st);
  std::string color = opt.color;
  std::vector<std::string> swept;
  {
    const ordered_json cols = ordered_json::parse(st.meta("swept_columns").empty() ? "[]" : st.meta("swept_columns"));
    for (const auto& c : cols) swept.push_back(c.get<std::string>());
  }
  if (color.empty() && !swept.empty()) color = swept.front();
  if (!color.empty() && !rows.empty() && !rows[0].contains(color)) {
    const Metric* m = findMetric(color);
    if (!m) throw std::invalid_argument("--color " + color + ": not a swept key or a metric of this database");
    color = m->column;
  }
  // The plotted points: those with both values.
  struct P {
    size_t row;
    double x, y;
  };
  std::vector<P> pts;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r[ox.metric].is_number() && r[oy.metric].is_number())
      pts.push_back({i, r[ox.metric].get<double>(), r[oy.metric].get<double>()});
  }
  std::vector<std::vector<double>> vals;
  for (const auto& p : pts) vals.push_back({p.x, p.y});
  const std::vector<size_t> front = paretoFront(vals, {ox, oy});

  // Colours: one per distinct value (the first ten), grey for the rest.
  std::map<std::string, std::string> colours;
  for (const auto& p : pts) {
    const std::string v = color.empty() ? "" : text(rows[p.row][color]);
    if (!colours.count(v)) colours[v] = colours.size() < 10 ? kPalette[colours.size()] : "#999999";
  }

  const double W = 760, H = 460, L = 80, R = 20, T = 20, B = 50;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!pts.empty()) {
    x0 = x1 = pts[0].x;
    y0 = y1 = pts[0].y;
    for (const auto& p : pts) {
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
      y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
    }
  }
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= 1, y1 += 1;
  const double px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.05;
  x0 -= px, x1 += px, y0 -= py, y1 += py;
  auto sx = [&](double v) { return L + (v - x0) / (x1 - x0) * (W - L - R); };
  auto sy = [&](double v) { return H - B - (v - y0) / (y1 - y0) * (H - T - B); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"scatter\" width=\"" << W << "\" height=\"" << H
      << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : ticks(x0, x1))
    svg << "<text x=\"" << num(sx(t)) << "\" y=\"" << H - B + 15 << "\" text-anchor=\"middle\">"
        << esc(io::formatNumber(t)) << "</text>\n";
  for (double t : ticks(y0, y1))
    svg << "<text x=\"" << L - 5 << "\" y=\"" << num(sy(t) + 4) << "\" text-anchor=\"end\">" << esc(io::formatNumber(t))
        << "</text>\n";
  const Metric* mx = findMetric(ox.metric);
  const Metric* my = findMetric(oy.metric);
  svg << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">" << esc(ox.metric)
      << " (" << esc(mx->unit) << ")</text>\n";
  svg << "<text transform=\"translate(14," << (T + H - B) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << esc(oy.metric) << " (" << esc(my->unit) << ")</text>\n";
  // The Pareto front, in x order.
  std::vector<size_t> f = front;
  std::sort(f.begin(), f.end(), [&](size_t a, size_t b) { return pts[a].x < pts[b].x; });
  svg << "<polyline class=\"front\" fill=\"none\" stroke=\"#000\" stroke-dasharray=\"4 3\" points=\"";
  for (size_t i : f) svg << num(sx(pts[i].x)) << "," << num(sy(pts[i].y)) << " ";
  svg << "\"/>\n";
  for (size_t k = 0; k < pts.size(); ++k) {
    const auto& r = rows[pts[k].row];
    const bool onFront = std::binary_search(front.begin(), front.end(), k);
    std::string tip = "point " + text(r["id"]) + " [" + text(r["fidelity"]) + "]";
    for (const auto& c : swept) tip += "\n" + c + " = " + text(r[c]);
    for (const char* m : {"fps", "latency_us", "lut", "dsp", "bram18", "util_lut", "bottleneck"})
      if (!r[m].is_null()) tip += "\n" + std::string(m) + " = " + text(r[m]);
    svg << "<circle class=\"point" << (onFront ? " pareto" : "") << "\" data-id=\"" << text(r["id"]) << "\" cx=\""
        << num(sx(pts[k].x)) << "\" cy=\"" << num(sy(pts[k].y)) << "\" r=\"" << (onFront ? 5 : 3.5) << "\" fill=\""
        << colours[color.empty() ? "" : text(r[color])] << "\"" << (onFront ? " stroke=\"#000\"" : "") << "><title>"
        << esc(tip) << "</title></circle>\n";
  }
  svg << "</svg>\n";

  std::ostringstream h;
  const std::string title = opt.title.empty() ? "mpsim sweep " + st.meta("sweep_name") : opt.title;
  h << report::html::pageHead(title, "circle.point:hover{stroke:#000;stroke-width:2}.legend span{margin-right:12px}");
  h << "<h1>" << esc(title) << "</h1>\n<p>" << rows.size() << " points, " << pts.size() << " plotted (" << esc(ox.text)
    << " vs " << esc(oy.text) << "), " << front.size()
    << " on the Pareto front (black outline, dashed line). Hover a point for its values; click a column "
       "header to sort.</p>\n";
  if (!color.empty()) {
    h << "<p class=\"legend\">colour: " << esc(color) << ": ";
    for (const auto& [v, c] : colours)
      h << "<span><svg width=\"10\" height=\"10\"><circle cx=\"5\" cy=\"5\" r=\"5\" fill=\"" << c << "\"/></svg> "
        << esc(v.empty() ? "(none)" : v) << "</span>";
    h << "</p>\n";
  }
  h << svg.str();
  h << "<table id=\"points\"><thead><tr>";
  std::vector<std::string> cols;
  if (!rows.empty())
    for (auto it = rows[0].begin(); it != rows[0].end(); ++it) cols.push_back(it.key());
  for (const auto& c : cols) h << "<th>" << esc(c) << "</th>";
  h << "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    h << "<tr>";
    for (const auto& c : cols) {
      std::string v = text(r[c]);
      if (v.size() > 120) v = v.substr(0, 120) + "...";
      h << "<td>" << esc(v) << "</td>";
    }
    h << "</tr>\n";
  }
  h << "</tbody></table>\n";
  h << report::html::sortableTableScript("points") << "</body></html>\n";
  return h.str();
}

} // namespace mpsim::sweep
