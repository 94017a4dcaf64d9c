#include "mpsim/sweep/Slurm.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/io/YamlReader.hpp"

namespace mpsim::sweep {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPlanSchema = "mpsim.slurm-plan/1";

std::string planPath(const std::string& db) { return (fs::path(slurmDir(db)) / "plan.json").string(); }
std::string jobsPath(const std::string& db) { return (fs::path(slurmDir(db)) / "jobs.json").string(); }

/// The executable `name` on PATH ("" when none).
std::string findOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) dir = ".";
    const std::string f = (fs::path(dir) / name).string();
    if (access(f.c_str(), X_OK) == 0 && fs::is_regular_file(f)) return f;
  }
  return "";
}

struct Captured {
  int code = -1; // exit code; 128 + signal when killed
  std::string out, err;
};

/// Runs argv (found on PATH), stdout and stderr captured through files in `dir`.
Captured runCapture(const std::vector<std::string>& argv, const std::string& dir) {
  const std::string outF = (fs::path(dir) / ".cmd.out").string(), errF = (fs::path(dir) / ".cmd.err").string();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("cannot fork to run " + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) {
    const int o = open(outF.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(errF.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int n = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || n < 0) _exit(126);
    dup2(n, 0);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Captured c;
  c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto slurp = [](const std::string& f) {
    try {
      return readFileLimited(f, kMaxJsonBytes, "command output");
    } catch (const LoadError&) {
      return std::string();
    }
  };
  c.out = slurp(outF);
  c.err = slurp(errF);
  std::error_code ec;
  fs::remove(outF, ec);
  fs::remove(errF, ec);
  return c;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

/// How a point of a shard stands (docs/slurm.md, "Status").
enum class State { Done, Failed, Running, Pending };

State stateOf(const std::string& status, const std::string& simStatus, bool simNull, const std::string& fidelity) {
  if (status == "pending") return State::Pending;
  if (status == "failed") return State::Failed;
  if (status == "rejected" || fidelity == "map") return State::Done;
  if (simNull || simStatus == "queued") return State::Pending;
  if (simStatus == "done" || simStatus == "deadlock") return State::Done;
  if (simStatus == "running") return State::Running;
  return State::Failed; // failed, timeout, killed
}

/// Opens a shard database and checks it is an intact mpsim sweep database; LoadError naming it.
/// nullptr when it has no tables yet (its task is creating it).
std::unique_ptr<Database> openShard(const std::string& path) {
  try {
    auto d = std::make_unique<Database>(path);
    Statement tables = d->prepare("SELECT count(*) FROM sqlite_master");
    if (tables.step() && tables.getInt(0) == 0) return nullptr;
    Statement qc = d->prepare("PRAGMA quick_check");
    const std::string ok = qc.step() ? qc.getText(0) : "";
    if (ok != "ok") throw std::runtime_error("integrity check: " + ok);
    Statement m = d->prepare("SELECT value FROM meta WHERE key = 'schema'");
    const std::string schema = m.step() ? m.getText(0) : "";
    if (schema != kDbSchema) throw std::runtime_error("schema '" + schema + "', expected " + kDbSchema);
    d->prepare("SELECT id, hash, status, sim_status, slurm_job_id FROM points LIMIT 1").step();
    return d;
  } catch (const LoadError&) {
    throw;
  } catch (const std::exception& e) {
    throw LoadError(path + ": a corrupt or foreign shard database (" + e.what() +
                    "); remove it to run that shard again (docs/slurm.md)");
  }
}

std::vector<std::string> columnsOf(Database& d, const std::string& table) {
  std::vector<std::string> cols;
  Statement st = d.prepare("PRAGMA table_info(" + quoteIdent(table) + ")");
  while (st.step()) cols.push_back(st.getText(1));
  return cols;
}

void copyValue(const Statement& from, int col, Statement& to, int i) {
  switch (from.type(col)) {
  case SQLITE_NULL: to.bindNull(i); break;
  case SQLITE_INTEGER: to.bind(i, from.getInt(col)); break;
  case SQLITE_FLOAT: to.bind(i, from.getDouble(col)); break;
  default: to.bind(i, from.getText(col)); break;
  }
}

std::string sqlList(const std::vector<std::string>& cols, const std::string& prefix = "") {
  std::string s;
  for (const auto& c : cols) s += (s.empty() ? "" : ", ") + prefix + quoteIdent(c);
  return s;
}

/// The outcome columns of a point row that a merge copies.
const std::vector<std::string>& outcomeColumns() {
  static const std::vector<std::string> k = {"status",       "error",      "attempts",    "map_wall_s",
                                             "sim_status",   "sim_error",  "sim_exit_code", "sim_attempts",
                                             "sim_wall_s",   "finished_at", "host",       "slurm_job_id",
                                             "slurm_task_id"};
  return k;
}

} // namespace

ShardSpec parseShard(const std::string& text) {
  const auto slash = text.find('/');
  ShardSpec sp;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    size_t a = 0, b = 0;
    sp.index = std::stoi(text.substr(0, slash), &a);
    sp.count = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("");
  } catch (const std::exception&) {
    throw std::invalid_argument("--shard '" + text + "': give i/K, e.g. 0/4");
  }
  if (sp.count < 1 || sp.count > kMaxShards || sp.index < 0 || sp.index >= sp.count)
    throw std::invalid_argument("--shard '" + text + "': give i/K with 0 <= i < K <= " + std::to_string(kMaxShards));
  return sp;
}

std::vector<int> assignShards(const std::vector<double>& costs, int k) {
  if (k < 1) throw std::invalid_argument("assignShards: k must be positive");
  std::vector<size_t> order(costs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
  std::vector<int> shard(costs.size(), 0);
  for (size_t j = 0; j < order.size(); ++j) {
    const size_t round = j / size_t(k), pos = j % size_t(k);
    shard[order[j]] = int(round % 2 == 0 ? pos : size_t(k) - 1 - pos);
  }
  return shard;
}

std::vector<double> estimateCosts(const Sweep& s, const std::vector<PreparedPoint>& pts, Fidelity f, Store* mainDb) {
  std::map<std::string, double> cyclesOf; // hash -> cycles per frame of its map result
  if (mainDb && f != Fidelity::Map) {
    Statement st = mainDb->db().prepare("SELECT p.hash, r.cycles_per_frame FROM points p JOIN results r ON "
                                        "r.point_id = p.id AND r.fidelity = 'map' WHERE r.cycles_per_frame > 0");
    while (st.step()) cyclesOf[st.getText(0)] = st.getDouble(1);
  }
  const bool useMap = !pts.empty() && std::all_of(pts.begin(), pts.end(), [&](const PreparedPoint& p) {
    return cyclesOf.count(p.hash) != 0;
  });
  std::vector<double> costs;
  for (const auto& p : pts) {
    double c = 0;
    if (p.load_error.empty()) {
      try {
        const config::Run run = loadPoint(s, p.point.overrides());
        const double frames = double(run.config.simulation.frames);
        if (f == Fidelity::Map) {
          c = double(run.graph.layers().size());
        } else if (useMap) {
          c = frames * cyclesOf[p.hash];
        } else {
          double macs = 0;
          for (const auto& l : run.graph.layers()) macs += double(l.macs());
          c = frames * macs;
        }
      } catch (const std::exception&) {
        c = 0; // fails at once when it runs
      }
    }
    costs.push_back(c);
  }
  return costs;
}

std::string slurmDir(const std::string& db) { return db + ".slurm"; }

std::string shardDb(const std::string& db, int index, int count) {
  return (fs::path(slurmDir(db)) / ("shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".db"))
      .string();
}

Plan readPlan(const std::string& db) {
  const std::string path = planPath(db);
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw LoadError(path + ": no shard plan; `mpsim sweep FILE --slurm` (or --slurm --dry-run) writes it");
  Plan plan;
  try {
    const json j = json::parse(readFileLimited(path, kMaxJsonBytes, "shard plan"));
    if (j.at("schema").get<std::string>() != kPlanSchema) throw std::runtime_error("not " + std::string(kPlanSchema));
    for (const auto& sh : j.at("shards")) plan.shards.push_back(sh.get<std::vector<std::string>>());
    if (plan.shards.empty() || plan.shards.size() > size_t(kMaxShards)) throw std::runtime_error("bad shard count");
  } catch (const LoadError&) {
    throw;
  } catch (const std::exception& e) {
    throw LoadError(path + ": a malformed shard plan (" + e.what() + ")");
  }
  return plan;
}

std::string arraySpec(const std::vector<int>& indices, int maxParallel) {
  std::string s;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(indices[i]);
    if (j > i) s += "-" + std::to_string(indices[j]);
    i = j + 1;
  }
  if (maxParallel > 0) s += "%" + std::to_string(maxParallel);
  return s;
}

std::string shellQuote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace {

std::string header(const Sweep& s, const SlurmOptions& so, const std::string& what) {
  std::string h = "#!/bin/bash\n# mpsim cluster sweep '" + s.name + "': " + what +
                  " (docs/slurm.md).\n# Written by `mpsim sweep " + so.sweep_file +
                  " --slurm ...`; rerun that command to resume (it submits only the shards with work left).\n";
  return h;
}

std::string resources(const SlurmOptions& so) {
  std::string r;
  if (!so.partition.empty()) r += "#SBATCH --partition=" + so.partition + "\n";
  if (!so.time.empty()) r += "#SBATCH --time=" + so.time + "\n";
  if (!so.mem.empty()) r += "#SBATCH --mem=" + so.mem + "\n";
  for (const auto& a : so.sbatch_args) r += "#SBATCH " + a + "\n";
  return r;
}

std::string prologAndExec(const Options& opt, const SlurmOptions& so, const std::string& args) {
  std::string b = "set -e\n";
  for (const auto& l : so.prolog) b += l + "\n";
  b += "exec " + (so.launcher.empty() ? "" : so.launcher + " ") + shellQuote(opt.worker_exe) + " " + args + "\n";
  return b;
}

} // namespace

namespace {
/// A path in an sbatch file name pattern ('%' starts a pattern: "%%" is a '%').
std::string outputPattern(const std::string& path) {
  std::string p;
  for (char c : path) p += c == '%' ? std::string("%%") : std::string(1, c);
  return p;
}
} // namespace

std::string arrayScript(const Sweep& s, const Options& opt, const SlurmOptions& so, const std::vector<int>& indices) {
  const std::string dir = outputPattern(slurmDir(opt.db));
  std::string t = header(s, so, "one shard of the points per array task");
  t += "#SBATCH --job-name=mpsim-" + s.name + "\n";
  t += "#SBATCH --array=" + arraySpec(indices, so.max_parallel) + "\n";
  t += "#SBATCH --output=" + (fs::path(dir) / "logs" / "shard-%a-job-%A.log").string() + "\n";
  t += "#SBATCH --cpus-per-task=" + std::to_string(opt.jobs) + "\n";
  t += resources(so);
  std::string args = "sweep " + shellQuote(so.sweep_file) + " --db " + shellQuote(opt.db) + " --fidelity " +
                     toString(opt.fidelity) + " -j " + std::to_string(opt.jobs) + " --timeout " +
                     io::formatNumber(opt.timeout_s) + " --retry " + std::to_string(opt.retry) +
                     " --shard \"${SLURM_ARRAY_TASK_ID}/" + std::to_string(so.array_size) + "\"";
  return t + prologAndExec(opt, so, args);
}

std::string mergeScript(const Sweep& s, const Options& opt, const SlurmOptions& so) {
  const std::string dir = outputPattern(slurmDir(opt.db));
  std::string t = header(s, so, "merges the shard databases once the array has ended");
  t += "#SBATCH --job-name=mpsim-" + s.name + "-merge\n";
  t += "#SBATCH --output=" + (fs::path(dir) / "logs" / "merge-job-%j.log").string() + "\n";
  t += "#SBATCH --cpus-per-task=1\n";
  t += resources(so);
  return t + prologAndExec(opt, so, "sweep merge " + shellQuote(opt.db));
}

bool shardNeedsWork(const std::string& db, const Plan& plan, int index, const std::string& fidelity, int retry) {
  const std::string path = shardDb(db, index, int(plan.shards.size()));
  std::error_code ec;
  if (!fs::exists(path, ec)) return !plan.shards[size_t(index)].empty();
  auto d = openShard(path);
  if (!d) return !plan.shards[size_t(index)].empty();
  std::map<std::string, bool> work; // hash -> has work left
  Statement st = d->prepare("SELECT hash, status, sim_status, attempts, sim_attempts FROM points");
  while (st.step()) {
    const std::string sim = st.isNull(2) ? "" : st.getText(2);
    const State x = stateOf(st.getText(1), sim, st.isNull(2), fidelity);
    const int64_t attempts = st.getText(1) == "failed" ? st.getInt(3) : st.getInt(4);
    work[st.getText(0)] = x == State::Pending || x == State::Running || sim == "killed" ||
                          (x == State::Failed && attempts <= retry);
  }
  for (const auto& h : plan.shards[size_t(index)]) {
    auto it = work.find(h);
    if (it == work.end() || it->second) return true;
  }
  return false;
}

Submission submitSlurm(const Sweep& s, const Options& opt, const SlurmOptions& so) {
  if (opt.fidelity == Fidelity::Screen)
    throw LoadError("--slurm: give --fidelity map or sim (screen chooses the points to simulate from every map "
                    "result at once, which no single shard has)");
  for (const auto* p : {&opt.db, &so.sweep_file, &opt.worker_exe})
    if (p->find_first_of("\n\r") != std::string::npos)
      throw LoadError("--slurm: the path '" + *p + "' holds a line break, which a batch script cannot carry");
  Submission sub;
  sub.dir = slurmDir(opt.db);
  if (!so.dry_run && findOnPath("sbatch").empty()) {
    const char* path = std::getenv("PATH");
    throw LoadError(std::string("--slurm: sbatch is not on PATH (") + (path ? path : "") +
                    "): run this on a Slurm login node, or add --dry-run to write the scripts only");
  }
  const std::vector<PreparedPoint> pts = prepare(s, opt.version); // every problem before anything is written
  sub.points = pts.size();
  DbLock lock(opt.db);
  Store store(opt.db);
  store.addPoints(s, pts, opt.version, toString(opt.fidelity));
  fs::create_directories(fs::path(sub.dir) / "logs");

  // The previous array must have ended: two tasks must never write one shard database.
  std::error_code ec;
  if (!so.dry_run && fs::exists(jobsPath(opt.db), ec) && !findOnPath("squeue").empty()) {
    std::string prev;
    try {
      prev = json::parse(readFileLimited(jobsPath(opt.db), kMaxJsonBytes, "jobs file")).value("array_job", "");
    } catch (const std::exception&) {
      prev = "";
    }
    if (!prev.empty()) {
      const Captured q = runCapture({"squeue", "-h", "-r", "-j", prev, "-o", "%i %T"}, sub.dir);
      if (q.code == 0 && !trim(q.out).empty())
        throw BusyError("--slurm: array job " + prev + " of this sweep is still queued or running:\n" + trim(q.out) +
                        "\nwait for it (mpsim sweep status " + opt.db + ") or scancel " + prev + ", then rerun");
    }
  }

  // The plan: written once, reused while the sweep's points stay the same.
  Plan plan;
  if (fs::exists(planPath(opt.db), ec)) {
    plan = readPlan(opt.db);
    if (int(plan.shards.size()) != so.array_size)
      throw LoadError(planPath(opt.db) + ": the shards of this sweep were planned for --array-size " +
                      std::to_string(plan.shards.size()) + "; give that, or merge (mpsim sweep merge " + opt.db +
                      ") and remove " + sub.dir + " to plan anew");
    std::set<std::string> planned, now;
    for (const auto& sh : plan.shards) planned.insert(sh.begin(), sh.end());
    for (const auto& p : pts) now.insert(p.hash);
    if (planned != now)
      throw LoadError(planPath(opt.db) + ": the sweep's points (its file, or the mpsim version) changed since the plan was written; merge (mpsim "
                      "sweep merge " + opt.db + ") and remove " + sub.dir + " to plan anew");
  } else {
    const std::vector<int> shard = assignShards(estimateCosts(s, pts, opt.fidelity, &store), so.array_size);
    plan.shards.assign(size_t(so.array_size), {});
    for (size_t i = 0; i < pts.size(); ++i) plan.shards[size_t(shard[i])].push_back(pts[i].hash);
    json j = {{"schema", kPlanSchema}, {"sweep_file", so.sweep_file}, {"shards", plan.shards}};
    writeFileAtomic(planPath(opt.db), j.dump(1) + "\n");
  }

  for (int i = 0; i < so.array_size; ++i)
    if (shardNeedsWork(opt.db, plan, i, toString(opt.fidelity), opt.retry)) sub.shards.push_back(i);
  if (sub.shards.empty()) return sub;

  sub.array_script = (fs::path(sub.dir) / "array.sh").string();
  sub.merge_script = (fs::path(sub.dir) / "merge.sh").string();
  writeFileAtomic(sub.array_script, arrayScript(s, opt, so, sub.shards));
  writeFileAtomic(sub.merge_script, mergeScript(s, opt, so));
  for (const auto& f : {sub.array_script, sub.merge_script}) chmod(f.c_str(), 0755);
  if (so.dry_run) return sub;

  auto submit = [&](std::vector<std::string> argv, const std::string& script) {
    argv.push_back(script);
    const Captured c = runCapture(argv, sub.dir);
    if (c.code != 0)
      throw std::runtime_error("sbatch rejected " + script + " (exit code " + std::to_string(c.code) +
                               "): " + trim(c.err + "\n" + c.out));
    const std::string id = trim(c.out).substr(0, trim(c.out).find(';'));
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
      throw std::runtime_error("sbatch --parsable printed no job id for " + script + ": '" + trim(c.out) + "'");
    return id;
  };
  sub.array_job = submit({"sbatch", "--parsable"}, sub.array_script);
  json jobs = {{"array_job", sub.array_job}, {"shards", sub.shards}};
  writeFileAtomic(jobsPath(opt.db), jobs.dump() + "\n");
  try {
    sub.merge_job = submit({"sbatch", "--parsable", "--dependency=afterany:" + sub.array_job}, sub.merge_script);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\narray job " + sub.array_job +
                             " was submitted; once it ends, merge by hand: mpsim sweep merge " + opt.db);
  }
  jobs["merge_job"] = sub.merge_job;
  writeFileAtomic(jobsPath(opt.db), jobs.dump() + "\n");
  return sub;
}

MergeSummary mergeShards(const std::string& db) {
  const Plan plan = readPlan(db);
  const int k = int(plan.shards.size());
  DbLock lock(db);
  MergeSummary sum;
  std::vector<std::pair<std::string, std::unique_ptr<Database>>> shards;
  std::error_code ec;
  for (int i = 0; i < k; ++i) {
    const std::string path = shardDb(db, i, k);
    if (!fs::exists(path, ec)) {
      ++sum.missing;
      continue;
    }
    auto d = openShard(path); // every shard is checked before anything is written
    if (!d) {
      ++sum.missing;
      continue;
    }
    shards.emplace_back(path, std::move(d));
  }
  Store main(db);
  Database& m = main.db();
  const std::vector<std::string> mainPoints = columnsOf(m, "points");
  {
    Transaction t(m);
    Statement find = m.prepare("SELECT id FROM points WHERE hash = ?");
    for (auto& [path, d] : shards) {
      try {
        std::vector<std::string> cols;
        const std::vector<std::string> have = columnsOf(*d, "points");
        for (const auto& c : outcomeColumns())
          if (std::count(have.begin(), have.end(), c) && std::count(mainPoints.begin(), mainPoints.end(), c))
            cols.push_back(c);
        std::string set;
        for (const auto& c : cols) set += (set.empty() ? "" : ", ") + quoteIdent(c) + " = ?";
        Statement up = m.prepare("UPDATE points SET " + set + " WHERE id = ?");
        Statement pts = d->prepare("SELECT id, hash, " + sqlList(cols) + " FROM points WHERE status != 'pending'");
        struct Copy {
          Statement read, del, write; // the shard's rows of a point; the main database's
        };
        std::vector<Copy> copies;
        for (const char* table : {"results", "layers", "fifos"}) {
          std::vector<std::string> tc;
          const std::vector<std::string> mc = columnsOf(m, table);
          for (const auto& c : columnsOf(*d, table))
            if (c != "point_id" && std::count(mc.begin(), mc.end(), c)) tc.push_back(c);
          std::string marks = "?";
          for (size_t i = 0; i < tc.size(); ++i) marks += ", ?";
          copies.push_back({d->prepare("SELECT " + sqlList(tc) + " FROM " + table + " WHERE point_id = ?"),
                            m.prepare("DELETE FROM " + std::string(table) + " WHERE point_id = ?"),
                            m.prepare("INSERT INTO " + std::string(table) + " (point_id, " + sqlList(tc) +
                                      ") VALUES (" + marks + ")")});
        }
        while (pts.step()) {
          const int64_t sid = pts.getInt(0);
          find.bind(1, pts.getText(1));
          if (!find.step())
            throw LoadError(path + ": point " + pts.getText(1) + " is not a point of " + db +
                            " (a shard of another sweep?)");
          const int64_t id = find.getInt(0);
          find.reset();
          for (size_t c = 0; c < cols.size(); ++c) copyValue(pts, int(c + 2), up, int(c + 1));
          up.bind(int(cols.size() + 1), id).run();
          for (auto& cp : copies) {
            cp.del.bind(1, id).run();
            cp.read.bind(1, sid);
            while (cp.read.step()) {
              cp.write.bind(1, id);
              for (int c = 0; c < cp.read.columns(); ++c) copyValue(cp.read, c, cp.write, c + 2);
              cp.write.run();
            }
            cp.read.reset();
          }
          ++sum.points;
        }
      } catch (const LoadError&) {
        throw;
      } catch (const std::exception& e) {
        throw LoadError(path + ": cannot merge this shard database (" + e.what() + "); " + db +
                        " is left as it was");
      }
      ++sum.shards;
    }
    t.commit();
  }
  // The stored Pareto set, as a local run of the sweep leaves it.
  std::vector<Objective> objs;
  std::stringstream ss(main.meta("objectives"));
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) objs.push_back(parseObjective(item));
  if (objs.empty()) objs.push_back(parseObjective("max:fps"));
  storeFront(main, objs, main.meta("fidelity") == "map" ? "map" : "sim");
  return sum;
}

std::vector<ShardStatus> shardStatus(const std::string& db) {
  const Plan plan = readPlan(db);
  const int k = int(plan.shards.size());
  std::vector<ShardStatus> out;
  std::error_code ec;
  for (int i = 0; i < k; ++i) {
    ShardStatus st;
    st.index = i;
    st.points = plan.shards[size_t(i)].size();
    const std::string path = shardDb(db, i, k);
    st.exists = fs::exists(path, ec);
    std::map<std::string, State> states;
    std::unique_ptr<Database> d = st.exists ? openShard(path) : nullptr;
    st.exists = d != nullptr;
    if (d) {
      Statement f = d->prepare("SELECT value FROM meta WHERE key = 'fidelity'");
      const std::string fidelity = f.step() ? f.getText(0) : "sim";
      Statement q = d->prepare("SELECT hash, status, sim_status, slurm_job_id, slurm_task_id FROM points ORDER BY "
                               "finished_at");
      while (q.step()) {
        states[q.getText(0)] = stateOf(q.getText(1), q.isNull(2) ? "" : q.getText(2), q.isNull(2), fidelity);
        if (!q.isNull(3)) st.job = q.getText(3) + (q.isNull(4) ? "" : "_" + std::to_string(q.getInt(4)));
      }
    }
    for (const auto& h : plan.shards[size_t(i)]) {
      auto it = states.find(h);
      const State x = it == states.end() ? State::Pending : it->second;
      (x == State::Done ? st.done : x == State::Failed ? st.failed : x == State::Running ? st.running : st.pending)++;
    }
    out.push_back(st);
  }
  return out;
}

} // namespace mpsim::sweep
