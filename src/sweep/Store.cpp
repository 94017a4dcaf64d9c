#include "mpsim/sweep/Store.hpp"

#include <cstdlib>
#include <ctime>
#include <stdexcept>

#include <sqlite3.h>

#include "mpsim/common/Error.hpp"
#include <unistd.h>

namespace mpsim::sweep {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

/// Columns of the layers and fifos tables: (column, path in a report's layer / FIFO entry, type, unit).
const std::vector<Metric>& layerColumns() {
  static const std::vector<Metric> k = {
      {"name", "name", "TEXT", "engine"},
      {"layer", "layer", "TEXT", "layer of the network"},
      {"kind", "kind", "TEXT", "engine kind"},
      {"pe", "pe", "INTEGER", "PEs"},
      {"simd", "simd", "INTEGER", "SIMD lanes"},
      {"pe_kind", "pe_kind", "TEXT", "lut | dsp | bitserial"},
      {"weights", "weights", "TEXT", "weight memory"},
      {"macs", "macs", "INTEGER", "MACs per frame"},
      {"cycles_per_frame", "cycles_per_frame", "INTEGER", "cycles (closed form)"},
      {"lut", "resources.lut", "REAL", "LUT"},
      {"ff", "resources.ff", "REAL", "FF"},
      {"dsp", "resources.dsp", "REAL", "DSP"},
      {"bram18", "resources.bram18", "REAL", "BRAM18"},
      {"uram", "resources.uram", "REAL", "URAM"},
      {"busy", "busy", "INTEGER", "cycles per frame (sim)"},
      {"starved", "starved", "INTEGER", "cycles per frame (sim)"},
      {"blocked", "blocked", "INTEGER", "cycles per frame (sim)"},
      {"idle", "idle", "INTEGER", "cycles per frame (sim)"},
      {"dram_wait", "dram_wait", "INTEGER", "cycles per frame (sim)"},
      {"utilization", "utilization", "REAL", "busy fraction (sim)"},
      {"first_output", "first_output", "INTEGER", "cycle (sim)"},
      {"state", "state", "TEXT", "engine state at the end (sim)"},
  };
  return k;
}

const std::vector<Metric>& fifoColumns() {
  static const std::vector<Metric> k = {
      {"name", "name", "TEXT", "FIFO"},
      {"depth", "depth", "INTEGER", "tokens"},
      {"shortcut", "shortcut", "INTEGER", "bool"},
      {"max_occupancy", "max_occupancy", "INTEGER", "tokens (sim)"},
      {"min_depth", "min_depth", "INTEGER", "tokens (shortcut FIFOs, sim)"},
      {"auto_depth", "auto_depth", "INTEGER", "tokens (shortcut FIFOs, sim)"},
      {"lut", "resources.lut", "REAL", "LUT"},
      {"bram18", "resources.bram18", "REAL", "BRAM18"},
      {"uram", "resources.uram", "REAL", "URAM"},
  };
  return k;
}

std::vector<PathKeys> pathKeys(const std::vector<Metric>& cols) {
  std::vector<PathKeys> out;
  for (const auto& c : cols) out.emplace_back(c.path);
  return out;
}

std::string columnsSql(const std::vector<Metric>& cols) {
  std::string s;
  for (const auto& c : cols) s += ", " + quoteIdent(c.column) + " " + c.type;
  return s;
}

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

/// Binds the value at `path` of `j` as the column's type (NULL when absent).
template <class J> void bindValue(Statement& st, int i, const J* v, const char* type) {
  if (v && v->is_object() && v->contains("engine")) v = &(*v)["engine"]; // report.json's bottleneck
  if (!v || v->is_null() || v->is_object() || v->is_array()) {
    st.bindNull(i);
    return;
  }
  const std::string t = type;
  if (v->is_boolean())
    st.bind(i, int64_t(v->template get<bool>()));
  else if (v->is_number_integer() && t != "TEXT")
    st.bind(i, v->template get<int64_t>());
  else if (v->is_number() && t != "TEXT")
    st.bind(i, v->template get<double>());
  else if (v->is_string())
    st.bind(i, v->template get<std::string>());
  else
    st.bind(i, v->dump());
}

std::string insertSql(const std::string& table, const std::vector<std::string>& lead, const std::vector<Metric>& cols,
                      const std::vector<std::string>& tail = {}) {
  std::string names, marks;
  auto add = [&](const std::string& n) {
    names += (names.empty() ? "" : ", ") + quoteIdent(n);
    marks += marks.empty() ? "?" : ", ?";
  };
  for (const auto& n : lead) add(n);
  for (const auto& c : cols) add(c.column);
  for (const auto& n : tail) add(n);
  return "INSERT OR REPLACE INTO " + table + " (" + names + ") VALUES (" + marks + ")";
}

std::vector<Task> readTasks(Statement& st) {
  std::vector<Task> out;
  while (st.step()) {
    Task t;
    t.id = st.getInt(0);
    t.hash = st.getText(1);
    for (const auto& o : json::parse(st.getText(2))) t.overrides.push_back(o.get<std::string>());
    t.attempts = int(st.getInt(3));
    out.push_back(std::move(t));
  }
  return out;
}

} // namespace

Store::Store(const std::string& path) try : m_db(path) {
  Transaction t(m_db);
  m_db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  std::string schema = meta("schema");
  if (schema.empty()) {
    m_db.exec("INSERT INTO meta VALUES ('schema', '" + std::string(kDbSchema) + "')");
    m_db.exec("CREATE TABLE units (tbl TEXT NOT NULL, col TEXT NOT NULL, unit TEXT NOT NULL, report_path TEXT, "
              "PRIMARY KEY (tbl, col))");
    m_db.exec("CREATE TABLE points (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, config_hash TEXT NOT NULL, "
              "entry INTEGER NOT NULL, values_json TEXT NOT NULL, overrides_json TEXT NOT NULL, "
              "status TEXT NOT NULL DEFAULT 'pending', error TEXT, attempts INTEGER NOT NULL DEFAULT 0, "
              "map_wall_s REAL, sim_status TEXT, sim_error TEXT, sim_exit_code INTEGER, "
              "sim_attempts INTEGER NOT NULL DEFAULT 0, sim_wall_s REAL, added_at TEXT, finished_at TEXT, "
              "host TEXT, mpsim_version TEXT NOT NULL, slurm_job_id TEXT, slurm_task_id INTEGER)");
    m_db.exec("CREATE TABLE results (point_id INTEGER NOT NULL REFERENCES points(id), fidelity TEXT NOT NULL, "
              "status TEXT NOT NULL, wall_s REAL" +
              columnsSql(metrics()) + ", report_json TEXT, PRIMARY KEY (point_id, fidelity))");
    m_db.exec("CREATE TABLE layers (point_id INTEGER NOT NULL REFERENCES points(id), fidelity TEXT NOT NULL, "
              "idx INTEGER NOT NULL" +
              columnsSql(layerColumns()) + ", PRIMARY KEY (point_id, fidelity, idx))");
    m_db.exec("CREATE TABLE fifos (point_id INTEGER NOT NULL REFERENCES points(id), fidelity TEXT NOT NULL, "
              "idx INTEGER NOT NULL" +
              columnsSql(fifoColumns()) + ", PRIMARY KEY (point_id, fidelity, idx))");
    m_db.exec("CREATE TABLE pareto (objectives TEXT NOT NULL, fidelity TEXT NOT NULL, point_id INTEGER NOT NULL "
              "REFERENCES points(id), PRIMARY KEY (objectives, fidelity, point_id))");
    Statement u = m_db.prepare("INSERT INTO units VALUES (?, ?, ?, ?)");
    for (const auto& m : metrics())
      u.bind(1, std::string("results"))
          .bind(2, std::string(m.column))
          .bind(3, std::string(m.unit))
          .bind(4, std::string(m.path))
          .run();
    for (const auto& m : layerColumns())
      u.bind(1, std::string("layers"))
          .bind(2, std::string(m.column))
          .bind(3, std::string(m.unit))
          .bind(4, std::string(m.path))
          .run();
    for (const auto& m : fifoColumns())
      u.bind(1, std::string("fifos"))
          .bind(2, std::string(m.column))
          .bind(3, std::string(m.unit))
          .bind(4, std::string(m.path))
          .run();
    u.bind(1, std::string("points")).bind(2, std::string("map_wall_s")).bind(3, std::string("s")).bindNull(4).run();
    u.bind(1, std::string("points")).bind(2, std::string("sim_wall_s")).bind(3, std::string("s")).bindNull(4).run();
    u.bind(1, std::string("results")).bind(2, std::string("wall_s")).bind(3, std::string("s")).bindNull(4).run();
  } else if (schema != kDbSchema) {
    throw LoadError(path + ": a results database of schema '" + schema + "'; this mpsim reads " + kDbSchema);
  } else {
    // Databases written before cluster sweeps (docs/slurm.md) lack the Slurm id columns.
    bool have = false;
    Statement info = m_db.prepare("PRAGMA table_info(points)");
    while (info.step())
      if (info.getText(1) == "slurm_job_id") have = true;
    if (!have) {
      m_db.exec("ALTER TABLE points ADD COLUMN slurm_job_id TEXT");
      m_db.exec("ALTER TABLE points ADD COLUMN slurm_task_id INTEGER");
    }
    // Databases written before fits_upper was recorded lack its column (their rows keep NULL).
    bool haveUpper = false;
    Statement rinfo = m_db.prepare("PRAGMA table_info(results)");
    while (rinfo.step())
      if (rinfo.getText(1) == "fits_upper") haveUpper = true;
    if (!haveUpper) {
      m_db.exec("ALTER TABLE results ADD COLUMN fits_upper INTEGER");
      for (const auto& m : metrics())
        if (std::string(m.column) == "fits_upper") {
          Statement u = m_db.prepare("INSERT INTO units VALUES (?, ?, ?, ?)");
          u.bind(1, std::string("results"))
              .bind(2, std::string(m.column))
              .bind(3, std::string(m.unit))
              .bind(4, std::string(m.path))
              .run();
        }
    }
  }
  t.commit();
} catch (const LoadError&) {
  throw;
} catch (const std::runtime_error& e) {
  throw LoadError(std::string("not a usable mpsim sweep database: ") + e.what());
}

std::string Store::meta(const std::string& key) {
  Statement st = m_db.prepare("SELECT value FROM meta WHERE key = ?");
  st.bind(1, key);
  return st.step() ? st.getText(0) : std::string();
}

size_t Store::addPoints(const Sweep& s, const std::vector<PreparedPoint>& pts, const std::string& version,
                        const std::string& fidelity) {
  size_t i = 0;
  return addPoints(
      s,
      [&](PreparedPoint& p) {
        if (i == pts.size()) return false;
        p = pts[i++];
        return true;
      },
      version, fidelity);
}

size_t Store::addPoints(const Sweep& s, const std::function<bool(PreparedPoint&)>& next, const std::string& version,
                        const std::string& fidelity) {
  Transaction t(m_db);
  {
    Statement m = m_db.prepare("INSERT OR REPLACE INTO meta VALUES (?, ?)");
    m.bind(1, std::string("sweep_file")).bind(2, s.file).run();
    m.bind(1, std::string("sweep_text")).bind(2, s.text).run();
    m.bind(1, std::string("sweep_name")).bind(2, s.name).run();
    m.bind(1, std::string("mpsim_version")).bind(2, version).run();
    m.bind(1, std::string("fidelity")).bind(2, fidelity).run();
    json cols = s.columns, cons = json::array();
    for (const auto& c : s.constraints) cons.push_back(c.expr.text());
    m.bind(1, std::string("swept_columns")).bind(2, cols.dump()).run();
    m.bind(1, std::string("constraints")).bind(2, cons.dump()).run();
    m.bind(1, std::string("objectives")).bind(2, objectivesKey(s.objectives)).run();
  }
  // One column per swept key (added when a later sweep file sweeps a new key).
  std::vector<std::string> have;
  {
    Statement info = m_db.prepare("PRAGMA table_info(points)");
    while (info.step()) have.push_back(info.getText(1));
  }
  for (const auto& c : s.columns)
    if (std::find(have.begin(), have.end(), c) == have.end())
      m_db.exec("ALTER TABLE points ADD COLUMN " + quoteIdent(c));
  std::string names = "hash, config_hash, entry, values_json, overrides_json, added_at, host, mpsim_version",
              marks = "?, ?, ?, ?, ?, ?, ?, ?";
  for (const auto& c : s.columns) {
    names += ", " + quoteIdent(c);
    marks += ", ?";
  }
  Statement ins = m_db.prepare("INSERT OR IGNORE INTO points (" + names + ") VALUES (" + marks + ")");
  const std::string now = nowUtc(), host = hostName();
  size_t added = 0;
  for (PreparedPoint pp; next(pp);) {
    const Point& p = pp.point;
    const ordered_json values = p.values();
    ins.bind(1, pp.hash).bind(2, pp.config_hash).bind(3, int64_t(p.entry)).bind(4, values.dump());
    ins.bind(5, json(p.overrides()).dump()).bind(6, now).bind(7, host).bind(8, version);
    for (size_t k = 0; k < s.columns.size(); ++k) {
      auto it = values.find(s.columns[k]);
      bindValue(ins, int(9 + k), it == values.end() ? nullptr : &*it, "ANY");
    }
    ins.run();
    added += size_t(m_db.changes());
  }
  t.commit();
  return added;
}

void Store::requeueRunning() {
  m_db.exec("UPDATE points SET sim_status = 'queued' WHERE sim_status IN ('running', 'killed')");
}

void Store::setJobIds(const std::string& job, const std::string& task) {
  m_job = job;
  m_task = task;
}

void Store::markKilled(int64_t id, const std::string& error) {
  Statement st = m_db.prepare("UPDATE points SET sim_status = 'killed', sim_error = ?, finished_at = ?, host = ?, "
                              "slurm_job_id = ?, slurm_task_id = ? WHERE id = ?");
  st.bind(1, error).bind(2, nowUtc()).bind(3, hostName());
  bindJobIds(st, 4);
  st.bind(6, id).run();
}

void Store::bindJobIds(Statement& st, int i) const {
  if (m_job.empty())
    st.bindNull(i);
  else
    st.bind(i, m_job);
  char* end = nullptr;
  const long long task = std::strtoll(m_task.c_str(), &end, 10);
  if (m_task.empty() || *end)
    st.bindNull(i + 1);
  else
    st.bind(i + 1, int64_t(task));
}

std::vector<Task> Store::mapTasks(int retry) {
  Statement st = m_db.prepare("SELECT id, hash, overrides_json, attempts FROM points WHERE status = 'pending' OR "
                              "(status = 'failed' AND attempts <= ?) ORDER BY id");
  st.bind(1, int64_t(retry));
  return readTasks(st);
}

std::vector<Task> Store::mapTasks(int retry, int64_t after, size_t limit) {
  Statement& st = cached("SELECT id, hash, overrides_json, attempts FROM points WHERE id > ? AND (status = 'pending' OR "
                         "(status = 'failed' AND attempts <= ?)) ORDER BY id LIMIT ?");
  st.bind(1, after).bind(2, int64_t(retry)).bind(3, int64_t(limit));
  std::vector<Task> out = readTasks(st);
  st.reset();
  return out;
}

namespace {
/// The points to simulate (Store::simTasks): one home of the condition.
const char* const kSimTaskWhere = "status = 'mapped' AND (sim_status = 'queued' OR (sim_status IN ('failed', "
                                  "'timeout') AND sim_attempts <= ?))";
} // namespace

std::vector<Task> Store::simTasks(int retry, int64_t after, size_t limit) {
  static const std::string sql = std::string("SELECT id, hash, overrides_json, sim_attempts FROM points WHERE id > ? AND ") +
                                 kSimTaskWhere + " ORDER BY id LIMIT ?";
  Statement& st = cached(sql);
  st.bind(1, after).bind(2, int64_t(retry)).bind(3, int64_t(limit));
  std::vector<Task> out = readTasks(st);
  st.reset();
  return out;
}

void Store::forEachSimTask(int retry, const std::function<void(const std::string&)>& f) {
  Statement st = m_db.prepare(std::string("SELECT hash FROM points WHERE ") + kSimTaskWhere);
  st.bind(1, int64_t(retry));
  while (st.step()) f(st.getText(0));
}

void Store::queueSim(const std::vector<int64_t>* ids) {
  Transaction t(m_db);
  if (!ids) {
    m_db.exec("UPDATE points SET sim_status = 'queued' WHERE status = 'mapped' AND sim_status IS NULL");
  } else {
    Statement st = m_db.prepare(
        "UPDATE points SET sim_status = 'queued' WHERE id = ? AND status = 'mapped' AND sim_status IS NULL");
    for (int64_t id : *ids) st.bind(1, id).run();
  }
  t.commit();
}

void Store::markSimRunning(int64_t id) {
  Statement st = m_db.prepare("UPDATE points SET sim_status = 'running' WHERE id = ?");
  st.bind(1, id).run();
}

void Store::record(int64_t id, const std::string& fidelity, const Outcome& o) {
  const bool sim = fidelity == "sim";
  const bool failure = o.status == "failed" || o.status == "timeout";
  {
    Statement& del = cached("DELETE FROM layers WHERE point_id = ? AND fidelity = ?");
    del.bind(1, id).bind(2, fidelity).run();
    Statement& delf = cached("DELETE FROM fifos WHERE point_id = ? AND fidelity = ?");
    delf.bind(1, id).bind(2, fidelity).run();
  }
  if (!o.report.is_null()) {
    static const std::string resultSql =
        insertSql("results", {"point_id", "fidelity", "status", "wall_s"}, metrics(), {"report_json"});
    Statement& r = cached(resultSql);
    r.bind(1, id).bind(2, fidelity).bind(3, o.status).bind(4, o.wall_s);
    int i = 5;
    static const std::vector<PathKeys> metricPaths = pathKeys(metrics());
    for (size_t k = 0; k < metrics().size(); ++k)
      bindValue(r, i++, findPath(o.report, metricPaths[k]), metrics()[k].type);
    if (sim)
      r.bind(i, o.report.dump());
    else
      r.bindNull(i);
    r.run();
    auto rows = [&](const char* table, const char* key, const std::vector<Metric>& cols,
                    const std::vector<PathKeys>& paths) {
      if (!o.report.contains(key)) return;
      Statement& st = cached(insertSql(table, {"point_id", "fidelity", "idx"}, cols));
      int64_t idx = 0;
      for (const auto& row : o.report[key]) {
        st.bind(1, id).bind(2, fidelity).bind(3, idx++);
        for (size_t c = 0; c < cols.size(); ++c) bindValue(st, int(c) + 4, findPath(row, paths[c]), cols[c].type);
        st.run();
      }
    };
    static const std::vector<PathKeys> layerPaths = pathKeys(layerColumns()), fifoPaths = pathKeys(fifoColumns());
    rows("layers", "layers", layerColumns(), layerPaths);
    rows("fifos", "fifos", fifoColumns(), fifoPaths);
  }
  const std::string sql = sim ? "UPDATE points SET sim_status = ?, sim_error = ?, sim_exit_code = ?, sim_wall_s = ?, "
                                "sim_attempts = sim_attempts + ?, finished_at = ?, host = ?, slurm_job_id = ?, "
                                "slurm_task_id = ? WHERE id = ?"
                              : "UPDATE points SET status = ?, error = ?, map_wall_s = ?, "
                                "attempts = attempts + ?, finished_at = ?, host = ?, slurm_job_id = ?, "
                                "slurm_task_id = ? WHERE id = ?";
  Statement& up = cached(sql);
  int i = 1;
  up.bind(i++, o.status);
  if (o.error.empty())
    up.bindNull(i++);
  else
    up.bind(i++, o.error);
  if (sim) {
    if (o.exit_code)
      up.bind(i++, int64_t(*o.exit_code));
    else
      up.bindNull(i++);
  }
  up.bind(i, o.wall_s);
  up.bind(i + 1, int64_t(failure ? 1 : 0));
  up.bind(i + 2, nowUtc());
  up.bind(i + 3, hostName());
  bindJobIds(up, i + 4);
  up.bind(i + 6, id);
  up.run();
}

Statement& Store::cached(const std::string& sql) {
  auto it = m_statements.find(sql);
  if (it == m_statements.end()) it = m_statements.emplace(sql, std::make_unique<Statement>(m_db, sql)).first;
  it->second->reset(); // a step that threw leaves it mid-way
  return *it->second;
}

std::vector<std::pair<int64_t, std::vector<double>>> Store::objectiveValues(const std::string& fidelity,
                                                                            const std::vector<Objective>& objs) {
  std::vector<std::pair<int64_t, std::vector<double>>> out;
  forEachObjectiveValue(fidelity, objs, [&](int64_t id, const std::vector<double>& v) { out.emplace_back(id, v); });
  return out;
}

void Store::forEachObjectiveValue(const std::string& fidelity, const std::vector<Objective>& objs,
                                  const std::function<void(int64_t, const std::vector<double>&)>& fn) {
  std::string cols;
  for (const auto& o : objs) cols += ", r." + quoteIdent(o.metric);
  const std::string ok = fidelity == "sim" ? "r.status = 'done'" : "p.status = 'mapped'";
  Statement st = m_db.prepare("SELECT r.point_id" + cols +
                              " FROM results r JOIN points p ON p.id = r.point_id WHERE r.fidelity = ? AND " + ok +
                              " ORDER BY r.point_id");
  st.bind(1, fidelity);
  std::vector<double> v(objs.size());
  while (st.step()) {
    bool complete = true;
    for (size_t k = 0; k < objs.size(); ++k) {
      if (st.isNull(int(k + 1))) complete = false;
      v[k] = st.getDouble(int(k + 1));
    }
    if (complete) fn(st.getInt(0), v);
  }
}

void Store::storePareto(const std::string& key, const std::string& fidelity, const std::vector<int64_t>& ids) {
  Transaction t(m_db);
  Statement del = m_db.prepare("DELETE FROM pareto WHERE objectives = ? AND fidelity = ?");
  del.bind(1, key).bind(2, fidelity).run();
  Statement ins = m_db.prepare("INSERT INTO pareto VALUES (?, ?, ?)");
  for (int64_t id : ids) ins.bind(1, key).bind(2, fidelity).bind(3, id).run();
  t.commit();
}

std::string Store::bestFidelity() {
  Statement st = m_db.prepare("SELECT 1 FROM results WHERE fidelity = 'sim' LIMIT 1");
  return st.step() ? "sim" : "map";
}

std::string objectivesKey(const std::vector<Objective>& objs) {
  std::string k;
  for (const auto& o : objs) k += (k.empty() ? "" : ",") + std::string(o.maximize ? "max:" : "min:") + o.metric;
  return k;
}

} // namespace mpsim::sweep
