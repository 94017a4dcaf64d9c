#include "mpsim/report/RunHtml.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/io/YamlReader.hpp"
#include "mpsim/report/Html.hpp"
#include "mpsim/report/RunReport.hpp"

namespace mpsim::report {

using nlohmann::ordered_json;
using html::coord;
using html::esc;

namespace {

std::string text(const ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return io::formatNumber(v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

double numAt(const ordered_json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f %%", 100 * v);
  return b;
}

const char* kResources[] = {"lut", "ff", "dsp", "bram18", "uram"};
const char* kResourceNames[] = {"LUT", "FF", "DSP", "BRAM18", "URAM"};

struct Part {
  const char* name;
  const char* cls;
  const char* colour;
};
const Part kParts[] = {{"busy", "busy", "#2ca02c"},
                       {"starved", "starved", "#ff7f0e"},
                       {"DRAM wait", "dram", "#9467bd"},
                       {"blocked", "blocked", "#d62728"},
                       {"idle", "idle", "#cccccc"}};

/// Horizontal bars: one row per item, each a list of (value, class, colour, tip) stacked from 0,
/// scaled to `full`; optional outline at `outline` (e.g. a FIFO's depth).
struct Row {
  std::string label;
  std::vector<std::tuple<double, std::string, std::string>> parts; // value, class, colour
  std::string tip;
  double outline = -1;
  std::string rowClass;
  double whiskerLow = -1, whiskerHigh = -1; // an interval drawn as an error bar (e.g. a resource's low - high)
  std::string whiskerTip;
};

std::string bars(const std::string& id, const std::vector<Row>& rows, double full, const std::string& unit) {
  const double L = 260, W = 900, R = 90, rowH = 14, T = 4;
  const double H = T + rowH * double(rows.size()) + 20;
  if (!(full > 0)) full = 1;
  const double scale = (W - L - R) / full;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" << id << "\" width=\"" << W << "\" height=\"" << coord(H)
    << "\" font-family=\"sans-serif\" font-size=\"10\">\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const double y = T + rowH * double(i);
    s << "<g class=\"row" << (r.rowClass.empty() ? "" : " " + r.rowClass) << "\" data-name=\"" << esc(r.label)
      << "\"><title>" << esc(r.tip) << "</title>";
    s << "<text x=\"" << L - 4 << "\" y=\"" << coord(y + 10) << "\" text-anchor=\"end\">" << esc(r.label) << "</text>";
    double x = L;
    double total = 0;
    for (const auto& [v, cls, colour] : r.parts) {
      if (v <= 0) continue;
      const double w = v * scale;
      s << "<rect class=\"" << cls << "\" x=\"" << coord(x) << "\" y=\"" << coord(y + 1) << "\" width=\""
        << coord(std::max(w, 0.5)) << "\" height=\"" << rowH - 2 << "\" fill=\"" << colour << "\"/>";
      x += w;
      total += v;
    }
    if (r.outline >= 0)
      s << "<rect class=\"outline\" x=\"" << L << "\" y=\"" << coord(y + 1) << "\" width=\""
        << coord(std::max(r.outline * scale, 0.5)) << "\" height=\"" << rowH - 2
        << "\" fill=\"none\" stroke=\"#000\"/>";
    double right = std::max(x, L + std::max(0.0, r.outline) * scale);
    if (r.whiskerLow >= 0 && r.whiskerHigh >= r.whiskerLow) {
      // Clipped to the chart; an interval beyond it ends at the right edge (its numbers are in the tip).
      const double x0 = L + std::min(r.whiskerLow, full) * scale, x1 = L + std::min(r.whiskerHigh, full) * scale,
                   ym = y + rowH / 2;
      s << "<g class=\"interval\"><title>" << esc(r.whiskerTip) << "</title><line x1=\"" << coord(x0) << "\" y1=\""
        << coord(ym) << "\" x2=\"" << coord(x1) << "\" y2=\"" << coord(ym) << "\" stroke=\"#000\"/><line x1=\""
        << coord(x0) << "\" y1=\"" << coord(y + 3) << "\" x2=\"" << coord(x0) << "\" y2=\"" << coord(y + rowH - 3)
        << "\" stroke=\"#000\"/><line x1=\"" << coord(x1) << "\" y1=\"" << coord(y + 3) << "\" x2=\"" << coord(x1)
        << "\" y2=\"" << coord(y + rowH - 3) << "\" stroke=\"#000\"/></g>";
      right = std::max(right, x1);
    }
    s << "<text x=\"" << coord(right + 4) << "\" y=\"" << coord(y + 10)
      << "\">" << esc(io::formatNumber(std::round(total * 100) / 100)) << (unit.empty() ? "" : " " + unit)
      << "</text></g>\n";
  }
  s << "</svg>\n";
  return s.str();
}

/// The wait-for cycle of a deadlock: engines on a circle, arrows labelled with the FIFO.
std::string cycleGraph(const ordered_json& path) {
  std::vector<std::string> nodes, edges;
  for (size_t i = 0; i < path.size(); ++i) (i % 2 ? edges : nodes).push_back(text(path[i]));
  if (nodes.size() > 1 && nodes.back() == nodes.front()) nodes.pop_back();
  const size_t n = nodes.size();
  if (n == 0) return "";
  const double W = 900, H = std::max(320.0, 150 + 36.0 * double(n)), cx = W / 2, cy = H / 2,
               rad = std::min(cx, cy) - 50;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"deadlock-graph\" width=\"" << W << "\" height=\"" << coord(H)
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" "
       "orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>\n";
  auto dx = [&](size_t i) { return std::sin(2 * M_PI * double(i) / double(n)); };
  auto dy = [&](size_t i) { return -std::cos(2 * M_PI * double(i) / double(n)); };
  auto anchor = [](double x) { return x > 0.2 ? "start" : x < -0.2 ? "end" : "middle"; };
  for (size_t i = 0; i < n; ++i) {
    const size_t j = (i + 1) % n;
    const double x0 = cx + rad * dx(i), y0 = cy + rad * dy(i), x1 = cx + rad * dx(j), y1 = cy + rad * dy(j);
    const double ex = x1 - x0, ey = y1 - y0, len = std::max(1.0, std::hypot(ex, ey));
    const double k = std::min(0.45, 14 / len);
    s << "<line class=\"wait\" x1=\"" << coord(x0 + ex * k) << "\" y1=\"" << coord(y0 + ey * k) << "\" x2=\""
      << coord(x1 - ex * k) << "\" y2=\"" << coord(y1 - ey * k)
      << "\" stroke=\"#d62728\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>"
      << esc(i < edges.size() ? edges[i] : "") << "</title></line>\n";
    if (i < edges.size()) {
      // The FIFO's name just inside the chord's midpoint, towards the centre.
      const double mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
      const double ux = cx - mx, uy = cy - my, ul = std::max(1.0, std::hypot(ux, uy));
      s << "<text class=\"edge-label\" x=\"" << coord(mx + ux / ul * 14) << "\" y=\"" << coord(my + uy / ul * 14 + 4)
        << "\" text-anchor=\"" << anchor(-ux / ul) << "\" font-size=\"10\" fill=\"#d62728\">" << esc(edges[i])
        << "</text>\n";
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const double x = cx + rad * dx(i), y = cy + rad * dy(i);
    s << "<g class=\"node\"><circle cx=\"" << coord(x) << "\" cy=\"" << coord(y)
      << "\" r=\"12\" fill=\"#fff\" stroke=\"#000\"/><text x=\"" << coord(x + 18 * dx(i)) << "\" y=\""
      << coord(y + 18 * dy(i) + 4) << "\" text-anchor=\"" << anchor(dx(i)) << "\" font-weight=\"bold\">"
      << esc(nodes[i]) << "</text></g>\n";
  }
  s << "</svg>\n";
  return s.str();
}

} // namespace

std::string runReportHtml(const ordered_json& r) {
  if (!r.is_object() || !r.contains("schema") || r["schema"] != kReportSchema || !r.contains("summary") ||
      !r.contains("layers"))
    throw LoadError(std::string("not a run report (schema ") + kReportSchema + ", from mpsim run)");
  const ordered_json& sm = r["summary"];
  const std::string title = "mpsim run: " + text(r["network"]) + " on " + text(r["device"]);
  std::ostringstream h;
  h << html::pageHead(title, "h2{margin-top:28px}td.l,th.l{text-align:left}.legend span{margin-right:14px}"
                             "g.row:hover text{font-weight:bold}.bad{color:#d62728}.fits{color:#2ca02c}"
                             ".fits-estimate{color:#b35900}");
  h << "<h1>" << esc(title) << "</h1>\n";

  // Summary and bottleneck.
  const std::string status = text(sm["status"]);
  h << "<h2 id=\"summary\">Summary</h2>\n<table id=\"summary-table\"><tbody>\n";
  auto row = [&](const std::string& k, const std::string& v, const std::string& cls = "") {
    h << "<tr><th class=\"l\">" << esc(k) << "</th><td class=\"l" << (cls.empty() ? "" : " " + cls) << "\">" << esc(v)
      << "</td></tr>\n";
  };
  row("status", status, status == "ok" ? "" : "bad");
  row("frames simulated", text(sm["frames_done"]) + " of " + text(sm["frames"]));
  row("clock", text(sm["clock_mhz"]) + " MHz");
  row("throughput", text(sm["fps"]) + " frames/s (" + text(sm["cycles_per_frame"]) + " cycles per frame" +
                        (sm.value("steady_state", false) ? "" : ", not steady") + ")");
  row("latency", text(sm["latency_us"]) + " us (" + text(sm["latency_cycles"]) + " cycles)");
  if (sm.contains("bottleneck")) {
    const auto& b = sm["bottleneck"];
    row("bottleneck", text(b["engine"]).empty() ? text(b["reason"])
                                                : text(b["engine"]) + " (layer " + text(b["layer"]) + "): " +
                                                      text(b["reason"]));
  }
  if (sm.contains("predicted"))
    row("closed form", text(sm["predicted"]["fps"]) + " frames/s (" + text(sm["predicted"]["cycles_per_frame"]) +
                           " cycles), bottleneck " + text(sm["predicted"]["bottleneck"]));
  if (sm.contains("limit")) {
    const auto& l = sm["limit"];
    std::string t = "by " + text(l["by"]);
    if (l.contains("next_fps")) t += "; the next faster design: " + text(l["next_fps"]) + " frames/s";
    if (l.contains("next_shortfalls"))
      for (const auto& s : l["next_shortfalls"]) t += "; " + text(s);
    row("limit", t);
  }
  h << "</tbody></table>\n";

  // Deadlock.
  if (r.contains("deadlock") && r["deadlock"].is_object()) {
    const auto& d = r["deadlock"];
    h << "<h2 id=\"deadlock\">Deadlock</h2>\n<p class=\"bad\">The pipeline stopped at cycle " << esc(text(d["cycle"]))
      << ". Wait-for cycle (engine waits on FIFO, full or empty, which waits on the next engine):</p>\n";
    if (d.contains("wait_cycle")) h << cycleGraph(d["wait_cycle"]);
    if (d.contains("shortcut_suggestions") && !d["shortcut_suggestions"].empty()) {
      h << "<table id=\"suggestions\"><thead><tr><th class=\"l\">shortcut FIFO</th><th>depth</th><th>min_depth</th>"
           "<th>suggested</th></tr></thead><tbody>\n";
      for (const auto& s : d["shortcut_suggestions"])
        h << "<tr><td class=\"l\">" << esc(text(s["fifo"])) << "</td><td>" << esc(text(s["depth"])) << "</td><td>"
          << esc(text(s["min_depth"])) << "</td><td>" << esc(text(s["suggested_depth"])) << "</td></tr>\n";
      h << "</tbody></table>\n";
    }
  }

  // Engines: stacked bars of the measured interval.
  const auto& layers = r["layers"];
  h << "<h2 id=\"engines\">Engines</h2>\n<p class=\"legend\">Per engine, its cycles of the measured frame interval ("
    << esc(text(sm["cycles_per_frame"])) << " cycles): ";
  for (const auto& p : kParts)
    h << "<span><svg width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\" fill=\"" << p.colour
      << "\"/></svg> " << p.name << "</span>";
  h << "</p>\n";
  {
    std::vector<Row> rows;
    double full = 0;
    for (const auto& l : layers) {
      const double busy = numAt(l, "busy"), starved = numAt(l, "starved"), dw = std::min(numAt(l, "dram_wait"), starved),
                   blocked = numAt(l, "blocked"), idle = numAt(l, "idle");
      Row x;
      x.label = text(l["name"]);
      x.parts = {{busy, "busy", kParts[0].colour},
                 {starved - dw, "starved", kParts[1].colour},
                 {dw, "dram", kParts[2].colour},
                 {blocked, "blocked", kParts[3].colour},
                 {idle, "idle", kParts[4].colour}};
      x.tip = x.label + " (" + text(l["kind"]) + "): busy " + text(l["busy"]) + ", starved " + text(l["starved"]) +
              " (DRAM wait " + text(l["dram_wait"]) + "), blocked " + text(l["blocked"]) + ", idle " + text(l["idle"]) +
              "; closed form " + text(l["cycles_per_frame"]) + " cycles; state " + text(l["state"]);
      x.rowClass = "engine";
      full = std::max(full, busy + starved + blocked + idle);
      rows.push_back(std::move(x));
    }
    h << bars("engine-bars", rows, full, "cycles");
  }

  // Resources: the estimate, its interval (resources.total_low / total_high: docs/cost-model.md, "Error
  // bars") and whether the design fits at each.
  if (r.contains("resources")) {
    const auto& res = r["resources"];
    const bool haveInterval = res.contains("total_low") && res.contains("total_high");
    h << "<h2 id=\"resources\">Resources</h2>\n";
    const bool fits = res.value("fits", false), fitsUpper = res.value("fits_upper", false);
    std::vector<std::string> overAtUpper;
    std::vector<Row> rows;
    std::ostringstream tab;
    tab << "<table id=\"resource-totals\"><thead><tr><th class=\"l\">resource</th><th>estimate</th>"
           "<th>interval (low - high)</th><th>budget</th><th>device</th><th>estimate / budget</th>"
           "<th>high / budget</th></tr></thead><tbody>\n";
    for (size_t k = 0; k < 5; ++k) {
      const double tot = numAt(res["total"], kResources[k]), bud = numAt(res["budget"], kResources[k]),
                   dev = numAt(res["device"], kResources[k]);
      if (dev <= 0 && tot <= 0) continue;
      const double lo = haveInterval ? numAt(res["total_low"], kResources[k]) : tot,
                   hi = haveInterval ? numAt(res["total_high"], kResources[k]) : tot;
      const bool over = std::ceil(tot) > bud, overHigh = haveInterval && std::ceil(hi) > bud;
      if (overHigh && !over) overAtUpper.push_back(kResourceNames[k]);
      Row x;
      x.label = kResourceNames[k];
      const double u = bud > 0 ? tot / bud : 0;
      x.parts = {{100 * u, "used", u > 1 ? "#d62728" : "#1f77b4"}};
      x.outline = 100;
      x.tip = std::string(kResourceNames[k]) + ": " + io::formatNumber(tot) + " of a budget of " +
              io::formatNumber(bud) + " (device " + io::formatNumber(dev) + ")";
      if (haveInterval && bud > 0) {
        x.whiskerLow = 100 * lo / bud;
        x.whiskerHigh = 100 * hi / bud;
        x.whiskerTip = std::string(kResourceNames[k]) + " interval: " + io::formatNumber(lo) + " - " +
                       io::formatNumber(hi) + " (" + pct(lo / bud) + " - " + pct(hi / bud) + " of the budget)";
      }
      x.rowClass = "resource";
      rows.push_back(std::move(x));
      tab << "<tr class=\"resource" << (over ? " bad" : "") << "\" data-name=\"" << kResources[k]
          << "\"><td class=\"l\">" << kResourceNames[k] << "</td><td class=\"estimate\">" << esc(io::formatNumber(tot))
          << "</td><td class=\"interval" << (overHigh ? " bad" : "") << "\">"
          << (haveInterval ? esc(io::formatNumber(lo)) + " - " + esc(io::formatNumber(hi)) : std::string("-"))
          << "</td><td>" << esc(io::formatNumber(bud)) << "</td><td>" << esc(io::formatNumber(dev)) << "</td><td>"
          << (bud > 0 ? pct(tot / bud) : "") << "</td><td" << (overHigh ? " class=\"bad\"" : "") << ">"
          << (haveInterval && bud > 0 ? pct(hi / bud) : "") << "</td></tr>\n";
    }
    tab << "</tbody></table>\n";
    std::string verdict;
    if (!fits) {
      verdict = "Does not fit the budget at the estimate";
      for (const auto& sf : res.value("shortfalls", ordered_json::array())) verdict += "; " + text(sf);
      verdict += ".";
    } else if (!haveInterval) {
      verdict = "Fits the budget at the estimate (the report has no interval).";
    } else if (fitsUpper) {
      verdict = "Fits the budget at the estimate and at the interval's upper bound.";
    } else {
      verdict = "Fits the budget at the estimate, not at the interval's upper bound (";
      for (size_t i = 0; i < overAtUpper.size(); ++i) verdict += (i ? ", " : "") + overAtUpper[i];
      verdict += " above the budget at the upper bound).";
    }
    h << "<p id=\"fits\" class=\"" << (!fits ? "bad" : fitsUpper ? "fits" : "fits-estimate")
      << "\" data-fits=\"" << (fits ? "true" : "false") << "\" data-fits-upper=\""
      << (haveInterval ? (fitsUpper ? "true" : "false") : "unknown") << "\">" << esc(verdict) << "</p>\n"
      << tab.str()
      << "<p>Interval: per engine, the range that held the measured count of 80 % of the validated layers "
         "of its family (the 10th to 90th percentile of the cost model's validation residuals, or of a "
         "calibration's leave-one-out residuals), summed over the engines and FIFOs. Per kind, percent of the "
         "budget (outline: 100 %; error bar: the interval).</p>\n"
      << bars("resource-bars", rows, 150, "%");
    // Per layer.
    std::vector<std::string> order;
    std::map<std::string, std::array<double, 5>> per;
    for (const auto& l : layers) {
      const std::string ln = text(l["layer"]);
      if (!per.count(ln)) order.push_back(ln);
      auto& a = per[ln];
      if (l.contains("resources"))
        for (size_t k = 0; k < 5; ++k) a[k] += numAt(l["resources"], kResources[k]);
    }
    h << "<table id=\"layer-resources\"><thead><tr><th class=\"l\">layer</th>";
    for (const char* n : kResourceNames) h << "<th>" << n << "</th>";
    h << "<th>LUT share of budget</th></tr></thead><tbody>\n";
    const double lutBudget = numAt(res["budget"], "lut");
    for (const auto& ln : order) {
      const auto& a = per[ln];
      h << "<tr><td class=\"l\">" << esc(ln) << "</td>";
      for (size_t k = 0; k < 5; ++k) h << "<td>" << esc(io::formatNumber(std::round(a[k] * 10) / 10)) << "</td>";
      h << "<td>" << (lutBudget > 0 ? pct(a[0] / lutBudget) : "") << "</td></tr>\n";
    }
    h << "</tbody></table>\n";
  }

  // FIFOs.
  if (r.contains("fifos")) {
    h << "<h2 id=\"fifos\">FIFOs</h2>\n<p>Maximum occupancy (filled; red when it reached the depth) against the depth "
         "(outline), in tokens.</p>\n";
    std::vector<Row> rows;
    double full = 1;
    for (const auto& f : r["fifos"]) {
      const double depth = numAt(f, "depth"), occ = numAt(f, "max_occupancy");
      Row x;
      x.label = text(f["name"]);
      const bool atDepth = occ >= depth;
      x.parts = {{occ, atDepth ? "occupancy full" : "occupancy", atDepth ? "#d62728" : "#1f77b4"}};
      x.outline = depth;
      x.tip = x.label + ": max occupancy " + text(f["max_occupancy"]) + " of depth " + text(f["depth"]);
      if (f.value("shortcut", false))
        x.tip += " (shortcut: min_depth " + text(f["min_depth"]) + ", auto_depth " + text(f["auto_depth"]) + ")";
      x.rowClass = "fifo";
      full = std::max(full, std::max(depth, occ));
      rows.push_back(std::move(x));
    }
    h << bars("fifo-bars", rows, full, "");
  }

  // DRAM.
  if (r.contains("dram")) {
    const auto& d = r["dram"];
    h << "<h2 id=\"dram\">DRAM bandwidth</h2>\n<p>Achieved GB/s per initiator (peak " << esc(text(d["peak_gbps"]))
      << " GB/s, " << esc(text(d["channels"])) << " channel(s); total " << esc(text(d["achieved_gbps"])) << " GB/s, "
      << pct(numAt(d, "utilization")) << ").</p>\n";
    std::vector<Row> rows;
    for (const auto& i : d["initiators"]) {
      Row x;
      x.label = text(i["name"]);
      x.parts = {{numAt(i, "achieved_gbps"), "gbps", "#9467bd"}};
      x.tip = x.label + ": " + text(i["achieved_gbps"]) + " GB/s, " + text(i["bytes_per_frame"]) + " bytes per frame";
      x.rowClass = "initiator";
      rows.push_back(std::move(x));
    }
    h << bars("dram-bars", rows, std::max(numAt(d, "peak_gbps"), 1e-9), "GB/s");
  }

  // Parameter memory.
  if (r.contains("params")) {
    const auto& p = r["params"];
    h << "<h2 id=\"params\">Parameter memory</h2>\n<p>" << esc(text(p["weights"])) << " weights: "
      << esc(io::formatNumber(numAt(p, "weight_bits") / 8e6)) << " MB quantised against "
      << esc(io::formatNumber(numAt(p, "fp32_bits") / 8e6)) << " MB in FP32 (" << esc(text(p["reduction"]))
      << "x smaller).</p>\n";
    std::vector<Row> rows(2);
    rows[0].label = "quantised";
    rows[0].parts = {{numAt(p, "weight_bits") / 8e6, "params", "#2ca02c"}};
    rows[0].rowClass = "param";
    rows[1].label = "FP32";
    rows[1].parts = {{numAt(p, "fp32_bits") / 8e6, "params", "#7f7f7f"}};
    rows[1].rowClass = "param";
    h << bars("param-bars", rows, numAt(p, "fp32_bits") / 8e6, "MB");
  }
  // What if (mpsim explain): the steps that make the design faster, best first.
  if (r.contains("explain") && r["explain"].is_object()) {
    const auto& e = r["explain"];
    h << "<h2 id=\"whatif\">What if</h2>\n<p>Closed form: bottleneck " << esc(text(e["bottleneck"])) << ", "
      << esc(text(e["cycles_per_frame"])) << " cycles per frame, " << esc(text(e["fps"])) << " frames/s";
    if (e.contains("simulated_fps")) h << " (simulated " << esc(text(e["simulated_fps"])) << ")";
    h << ". Engines within " << pct(numAt(e, "within")) << " of it:";
    for (const auto& n : e["near"]) h << " " << esc(text(n["engine"])) << " (" << esc(text(n["cycles_per_frame"])) << ")";
    h << ". The next steps, ranked by frames/s gained per share of the budget:</p>\n";
    if (e["steps"].empty()) {
      h << "<p>No engine near the bottleneck has a faster legal folding, PE kind or placement.</p>\n";
    } else {
      h << "<table id=\"whatif-steps\"><thead><tr><th>rank</th><th class=\"l\">kind</th><th class=\"l\">engine</th>"
           "<th class=\"l\">change</th><th>frames/s after</th><th>simulated</th>";
      for (const char* n : kResourceNames) h << "<th>+" << n << "</th>";
      h << "<th>budget share</th><th class=\"l\">then limited by</th><th class=\"l\">set</th></tr></thead><tbody>\n";
      int rank = 1;
      for (const auto& st : e["steps"]) {
        const bool fits = st.value("fits", false);
        h << "<tr class=\"step" << (fits ? "" : " bad") << "\"><td>" << rank++ << "</td><td class=\"l\">"
          << esc(text(st["kind"])) << "</td><td class=\"l\">" << esc(text(st["engine"])) << "</td><td class=\"l\">"
          << esc(text(st["change"])) << "</td><td>" << esc(text(st["fps_after"])) << "</td><td>"
          << (st.contains("simulated_fps") ? esc(text(st["simulated_fps"])) : "-") << "</td>";
        for (const char* k : kResources)
          h << "<td>" << esc(io::formatNumber(std::round(numAt(st["extra"], k) * 10) / 10)) << "</td>";
        h << "<td>" << pct(numAt(st, "budget_share")) << "</td><td class=\"l\">" << esc(text(st["bottleneck_after"]))
          << (fits ? "" : " (does not fit)") << "</td><td class=\"l\"><code>" << esc(text(st["set"]))
          << "</code></td></tr>\n";
      }
      h << "</tbody></table>\n";
    }
    if (!e["notes"].empty()) {
      h << "<ul id=\"whatif-notes\">\n";
      for (const auto& n : e["notes"]) h << "<li>" << esc(text(n)) << "</li>\n";
      h << "</ul>\n";
    }
  }
  h << "</body></html>\n";
  return h.str();
}

} // namespace mpsim::report
