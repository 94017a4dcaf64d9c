#include "mpsim/sweep/Results.hpp"

#include <cmath>
#include <stdexcept>

#include <sqlite3.h>

#include "mpsim/io/YamlReader.hpp"

namespace mpsim::sweep {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

/// Columns of the points table after the fixed ones: the swept keys.
std::vector<std::string> sweptColumns(Store& st) {
  std::vector<std::string> cols;
  Statement info = st.db().prepare("PRAGMA table_info(points)");
  bool after = false;
  while (info.step()) {
    const std::string n = info.getText(1);
    if (after && !isJobIdColumn(n)) cols.push_back(n);
    if (n == "mpsim_version") after = true;
  }
  return cols;
}

ordered_json cell(const Statement& s, int i) {
  switch (s.type(i)) {
  case SQLITE_INTEGER: return s.getInt(i);
  case SQLITE_FLOAT: return s.getDouble(i);
  case SQLITE_NULL: return nullptr;
  default: return s.getText(i);
  }
}

std::string csvCell(const ordered_json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return io::formatNumber(v.get<double>());
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

} // namespace

ordered_json exportRows(Store& st, const std::string& fidelity) {
  const std::vector<std::string> swept = sweptColumns(st);
  std::string sel = "p.id, p.hash, p.status, p.sim_status, r.fidelity";
  for (const auto& c : swept) sel += ", p." + quoteIdent(c);
  for (const auto& m : metrics()) sel += ", r." + quoteIdent(m.column);
  sel += ", p.error, p.sim_error";
  const std::string fid =
      fidelity.empty()
          ? "COALESCE((SELECT 'sim' FROM results r2 WHERE r2.point_id = p.id AND r2.fidelity = 'sim'), 'map')"
          : "?";
  Statement q = st.db().prepare("SELECT " + sel + " FROM points p LEFT JOIN results r ON r.point_id = p.id AND " +
                                "r.fidelity = " + fid + " ORDER BY p.id");
  if (!fidelity.empty()) q.bind(1, fidelity);
  ordered_json rows = ordered_json::array();
  while (q.step()) {
    ordered_json r;
    int i = 0;
    for (const char* k : {"id", "hash", "status", "sim_status", "fidelity"}) r[k] = cell(q, i++);
    for (const auto& c : swept) {
      ordered_json v = cell(q, i++);
      r[c] = std::move(v);
    }
    for (const auto& m : metrics()) r[m.column] = cell(q, i++);
    r["error"] = cell(q, i++);
    r["sim_error"] = cell(q, i++);
    rows.push_back(std::move(r));
  }
  return rows;
}

void writeCsv(std::ostream& os, const ordered_json& rows) {
  if (rows.empty()) return;
  bool first = true;
  for (auto it = rows[0].begin(); it != rows[0].end(); ++it) {
    os << (first ? "" : ",") << csvCell(it.key());
    first = false;
  }
  os << "\n";
  for (const auto& r : rows) {
    first = true;
    for (auto it = r.begin(); it != r.end(); ++it) {
      os << (first ? "" : ",") << csvCell(it.value());
      first = false;
    }
    os << "\n";
  }
}

ordered_json pareto(Store& st, const std::vector<Objective>& objs, std::string fidelity) {
  if (fidelity.empty()) fidelity = st.bestFidelity();
  const auto vals = st.objectiveValues(fidelity, objs);
  std::vector<std::vector<double>> v;
  for (const auto& r : vals) v.push_back(r.second);
  std::vector<int64_t> ids;
  for (size_t i : paretoFront(v, objs)) ids.push_back(vals[i].first);
  st.storePareto(objectivesKey(objs), fidelity, ids);
  const ordered_json all = exportRows(st, fidelity);
  ordered_json out = ordered_json::array();
  size_t k = 0;
  for (const auto& r : all) {
    if (k < ids.size() && r["id"].get<int64_t>() == ids[k]) {
      out.push_back(r);
      ++k;
    }
  }
  return out;
}

void parseTolerances(const std::string& text, std::map<std::string, Tolerance>& out) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string form = "expected metric=rel:R or metric=abs:A (e.g. fps=rel:0.01,lut=abs:10)";
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("--tol " + item + ": " + form);
    const Metric* m = findMetric(item.substr(0, eq));
    if (!m) {
      std::string valid;
      for (const auto& x : metrics()) valid += (valid.empty() ? "" : ", ") + std::string(x.column);
      throw std::invalid_argument("--tol " + item + ": unknown metric '" + item.substr(0, eq) + "'; valid: " + valid);
    }
    std::string v = item.substr(eq + 1);
    bool isAbs = false;
    if (v.rfind("rel:", 0) == 0) {
      v = v.substr(4);
    } else if (v.rfind("abs:", 0) == 0) {
      v = v.substr(4);
      isAbs = true;
    }
    char* e = nullptr;
    const double x = std::strtod(v.c_str(), &e);
    if (v.empty() || *e != '\0' || !(x >= 0) || !std::isfinite(x))
      throw std::invalid_argument("--tol " + item + ": " + form + " with a non-negative number");
    Tolerance& t = out[m->column];
    if (isAbs)
      t.abs = x;
    else
      t.rel = x;
  }
}

namespace {

struct PointRow {
  int64_t id = 0;
  std::string values, status, sim_status;
  std::map<std::string, ordered_json> map, sim; // metric -> value
};

std::map<std::string, PointRow> loadRows(Store& st) {
  std::map<std::string, PointRow> rows;
  Statement p = st.db().prepare("SELECT config_hash, id, values_json, status, COALESCE(sim_status, '') FROM points");
  std::map<int64_t, std::string> byId;
  while (p.step()) {
    PointRow r;
    r.id = p.getInt(1);
    r.values = p.getText(2);
    r.status = p.getText(3);
    r.sim_status = p.getText(4);
    byId[r.id] = p.getText(0);
    rows[p.getText(0)] = std::move(r);
  }
  std::string sel = "point_id, fidelity";
  for (const auto& m : metrics()) sel += ", " + quoteIdent(m.column);
  Statement q = st.db().prepare("SELECT " + sel + " FROM results");
  while (q.step()) {
    PointRow& r = rows[byId[q.getInt(0)]];
    auto& dst = q.getText(1) == "sim" ? r.sim : r.map;
    int i = 2;
    for (const auto& m : metrics()) dst[m.column] = cell(q, i++);
  }
  return rows;
}

std::string show(const ordered_json& v) {
  if (v.is_null()) return "null";
  if (v.is_number_float()) return io::formatNumber(v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

} // namespace

Comparison compare(Store& oldDb, Store& newDb, const std::map<std::string, Tolerance>& tols, Tolerance def) {
  Comparison c;
  const auto a = loadRows(oldDb), b = loadRows(newDb);
  for (const auto& [hash, o] : a) {
    auto it = b.find(hash);
    const std::string who = "point " + std::to_string(o.id) + " " + o.values;
    if (it == b.end()) {
      c.differences.push_back(who + ": only in the old database");
      continue;
    }
    ++c.matched;
    const PointRow& n = it->second;
    if (o.status != n.status || o.sim_status != n.sim_status) {
      c.differences.push_back(who + ": status " + o.status + "/" + o.sim_status + " -> " + n.status + "/" +
                              n.sim_status);
      continue;
    }
    const bool sim = !o.sim.empty() && !n.sim.empty();
    const auto& om = sim ? o.sim : o.map;
    const auto& nm = sim ? n.sim : n.map;
    if (om.empty() || nm.empty()) continue;
    for (const auto& m : metrics()) {
      const ordered_json& x = om.at(m.column);
      const ordered_json& y = nm.at(m.column);
      // A column added to the schema later (NULL in databases written before it): not a difference.
      if ((x.is_null() || y.is_null()) && std::string(m.column) == "fits_upper") continue;
      bool same = x == y;
      std::string tolText;
      if (!same && x.is_number() && y.is_number()) {
        auto t = tols.count(m.column) ? tols.at(m.column) : def;
        const double u = x.get<double>(), v = y.get<double>();
        same = std::fabs(u - v) <= t.abs + t.rel * std::max(std::fabs(u), std::fabs(v));
        tolText = " (tolerance rel " + io::formatNumber(t.rel) + ", abs " + io::formatNumber(t.abs) + ")";
      }
      if (!same)
        c.differences.push_back(who + ": " + m.column + " " + show(x) + " -> " + show(y) + " [" +
                                (sim ? "sim" : "map") + "]" + tolText);
    }
  }
  for (const auto& [hash, n] : b)
    if (!a.count(hash))
      c.differences.push_back("point " + std::to_string(n.id) + " " + n.values + ": only in the new database");
  return c;
}

} // namespace mpsim::sweep
