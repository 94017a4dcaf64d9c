#include "mpsim/sweep/Runner.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/flow/Segments.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/YamlEmit.hpp"
#include "mpsim/io/YamlReader.hpp"
#include "mpsim/zoo/Zoo.hpp"

namespace mpsim::sweep {

using nlohmann::json;
using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

Fidelity parseFidelity(const std::string& s) {
  if (s == "map") return Fidelity::Map;
  if (s == "sim") return Fidelity::Sim;
  if (s == "screen") return Fidelity::Screen;
  throw std::invalid_argument("--fidelity '" + s + "': valid: map, sim, screen");
}

const char* toString(Fidelity f) { return f == Fidelity::Map ? "map" : f == Fidelity::Sim ? "sim" : "screen"; }

namespace {

/// FNV-1a, 64 bits: a fixed, portable hash (std::hash is not stable across libraries).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

/// The sweep's loops log only errors (the scheduler's per-point notes would drown the progress).
class QuietLog {
public:
  QuietLog() : m_level(spdlog::get_level()) {
    if (m_level < spdlog::level::err) spdlog::set_level(spdlog::level::err);
  }
  ~QuietLog() { spdlog::set_level(m_level); }

private:
  spdlog::level::level_enum m_level;
};

std::string joinMessages(const LoadError& e) {
  std::string s;
  for (const auto& m : e.messages()) s += (s.empty() ? "" : "\n") + m;
  return s;
}

/// Hash of the model file a config reads (empty for built-in models), cached per path.
std::string modelHash(const Sweep& s, const std::string& model, std::map<std::string, std::string>& cache) {
  if (zoo::isModel(model)) return "";
  for (const auto& t : io::modelCandidates(model, baseDir(s))) {
    std::error_code ec;
    if (!std::filesystem::exists(t, ec)) continue;
    auto it = cache.find(t);
    if (it != cache.end()) return it->second;
    return cache[t] = hex(fnv1a(readFileLimited(t, kMaxModelBytes, "model")));
  }
  return "";
}

/// A point's map result (map.json, or a segmented design's map.json with the same summary and
/// resources keys, docs/segments.md) and its effective config. Ordered, as written: no copy into
/// a sorted json on the way to the results rows.
ordered_json mapPoint(config::Run run, config::RunConfig& effective) {
  if (flow::segmentsRequested(run)) {
    flow::SegmentedDesign sd = flow::mapSegments(run);
    if (sd.segments.size() > 1 || run.config.mapping.segments.mode == config::SegmentMode::Manual) {
      effective = sd.effectiveConfig();
      return flow::segmentsMapJson(sd);
    }
  }
  const flow::Design d = flow::map(std::move(run));
  effective = d.effectiveConfig();
  return flow::mapReport(d);
}

Outcome mapOne(const Sweep& s, const Task& t) {
  Outcome o;
  const auto t0 = Clock::now();
  try {
    config::Run run = loadPoint(s, t.overrides);
    config::RunConfig effective;
    o.report = mapPoint(std::move(run), effective);
    o.status = "mapped";
    if (!s.constraints.empty()) { // the document is made only when something reads it
      const json doc = pointDoc(yamlToJson(config::effectiveConfig(effective)), o.report);
      for (const auto& c : s.constraints) {
        if (!c.expr.test(doc)) {
          o.status = "rejected";
          o.error = c.expr.text();
          break;
        }
      }
    }
  } catch (const LoadError& e) {
    o = Outcome{};
    o.status = "failed";
    o.error = joinMessages(e);
  } catch (const std::exception& e) {
    o = Outcome{};
    o.status = "failed";
    o.error = e.what();
  }
  o.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return o;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string tail(const std::string& path, size_t n) {
  std::string s;
  try {
    s = readFileLimited(path, kMaxJsonBytes, "worker log");
  } catch (const LoadError&) {
    return "";
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

struct Worker {
  Task task;
  pid_t pid = -1;
  Clock::time_point start;
  std::string job, out, err;
};

class SimRunner {
public:
  SimRunner(const Sweep& s, const Options& opt, Store& store) : m_s(s), m_opt(opt), m_store(store) {}

  /// Simulates `total` tasks, read from the database a window at a time: fetch(after) gives the
  /// next ones after point id `after` (empty at the end) and advances it. A task that fails and
  /// may be tried again (--retry) is read again by the next pass over the database, so that the
  /// runner holds a window of tasks, not the list of them.
  void run(const std::function<std::vector<Task>(int64_t&)>& fetch, size_t total) {
    if (total == 0) return;
    if (m_opt.worker_exe.empty()) throw std::runtime_error("sweep: simulations need the mpsim binary (worker_exe)");
    m_dir = m_opt.db + ".work";
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec); // files of workers of a killed sweep
    std::filesystem::create_directories(m_dir);
    std::deque<Task> queue;
    int64_t after = 0;
    bool passDone = false;
    m_retryPending = false;
    m_progress.phase = "sim";
    m_progress.total = total;
    const auto t0 = Clock::now();
    auto lastReport = Clock::now() - std::chrono::seconds(1);
    const size_t jobs = size_t(std::max(1, m_opt.jobs));
    const size_t window = std::max<size_t>(256, 2 * jobs);
    auto refill = [&] {
      while (queue.size() < window) {
        if (passDone) {
          // Failed tasks to try again: another pass, once every task read has started (a task
          // still queued here is still 'queued' in the database: a pass would read it twice).
          if (!m_retryPending || !queue.empty()) return;
          passDone = false;
          m_retryPending = false;
          after = 0;
        }
        std::vector<Task> more = fetch(after);
        if (more.empty()) passDone = true;
        for (auto& t : more) queue.push_back(std::move(t));
      }
    };
    for (refill(); !queue.empty() || !m_running.empty(); refill()) {
      if (interruptRequested()) {
        stopAll();
        throwIfInterrupted();
      }
      while (m_running.size() < jobs && !queue.empty()) {
        spawn(queue.front());
        queue.pop_front();
      }
      bool progressed = false;
      for (size_t i = 0; i < m_running.size();) {
        Worker& w = m_running[i];
        int status = 0;
        const pid_t r = waitpid(w.pid, &status, WNOHANG);
        if (r == w.pid && killedWithUs(status)) {
          stopped(w);
          m_running.erase(m_running.begin() + long(i));
          progressed = true;
          continue;
        }
        if (r == w.pid) {
          finish(w, status, false);
          m_running.erase(m_running.begin() + long(i));
          progressed = true;
          continue;
        }
        if (m_opt.timeout_s > 0 && since(w.start) > m_opt.timeout_s) {
          kill(w.pid, SIGKILL);
          waitpid(w.pid, &status, 0);
          finish(w, status, true);
          m_running.erase(m_running.begin() + long(i));
          progressed = true;
          continue;
        }
        ++i;
      }
      m_progress.running = m_running.size();
      m_progress.elapsed_s = since(t0);
      if (m_opt.progress && Clock::now() - lastReport > std::chrono::milliseconds(200)) {
        m_opt.progress(m_progress);
        lastReport = Clock::now();
      }
      if (!progressed) usleep(5000);
    }
    m_progress.running = 0;
    m_progress.final = true;
    m_progress.elapsed_s = since(t0);
    if (m_opt.progress) m_opt.progress(m_progress);
    std::filesystem::remove(m_dir, ec); // only when empty
  }

  ~SimRunner() { stopAll(); }

private:
  /// Kills the running workers (interrupt, error): their points are queued again and their files
  /// removed, as if they had not started.
  void stopAll() noexcept {
    for (auto& w : m_running) {
      kill(w.pid, SIGKILL);
      int st = 0;
      waitpid(w.pid, &st, 0);
      stopped(w);
    }
    m_running.clear();
    std::error_code ec;
    // Everything: a worker killed while writing its result leaves writeFileAtomic's temporary file
    // (".p<id>.out.json.tmp-..."); the folder is this sweep's alone (the database lock).
    if (!m_dir.empty()) std::filesystem::remove_all(m_dir, ec);
  }

  /// A worker stopped by an interrupt: its point is queued again, or in a cluster task recorded as
  /// 'killed' with the signal and the job ids (queued again by the next run).
  void stopped(const Worker& w) noexcept {
    try {
      if (m_opt.record_killed) {
        std::string msg = "stopped by signal " + std::to_string(interruptSignal());
        if (!m_opt.slurm_job.empty()) msg += " (Slurm job " + m_opt.slurm_job + ", array task " + m_opt.slurm_task + ")";
        m_store.markKilled(w.task.id, msg + "; queued again by the next run");
      } else {
        Statement q = m_store.db().prepare("UPDATE points SET sim_status = 'queued' WHERE id = ?");
        q.bind(1, w.task.id).run();
      }
    } catch (const std::exception&) {
      // the next run queues 'running' points again anyway
    }
    std::error_code ec;
    for (const auto& f : {w.job, w.out, w.err}) std::filesystem::remove(f, ec);
  }

  /// A worker killed by SIGTERM / SIGINT: the signal usually reached the whole process group (Ctrl-C,
  /// a cancelled Slurm task), so give this process's own handler a moment to record it.
  static bool killedWithUs(int status) {
    if (!WIFSIGNALED(status) || (WTERMSIG(status) != SIGTERM && WTERMSIG(status) != SIGINT)) return false;
    for (int i = 0; i < 100 && !interruptRequested(); ++i) usleep(5000);
    return interruptRequested();
  }

  void spawn(const Task& t) {
    Worker w;
    w.task = t;
    const std::string stem = (std::filesystem::path(m_dir) / ("p" + std::to_string(t.id))).string();
    w.job = stem + ".job.json";
    w.out = stem + ".out.json";
    w.err = stem + ".err";
    json job = {{"base_path", m_s.basePath},
                {"base_text", m_s.baseText},
                {"base_name", m_s.baseName},
                {"dir", m_s.dir},
                {"overrides", t.overrides}};
    writeFileAtomic(w.job, job.dump() + "\n");
    std::error_code ec;
    std::filesystem::remove(w.out, ec);
    m_store.markSimRunning(t.id);
    const pid_t parent = getpid();
    w.start = Clock::now();
    w.pid = fork();
    if (w.pid < 0) throw std::runtime_error("sweep: fork failed");
    if (w.pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL); // a killed sweep takes its workers with it
      if (getppid() != parent) _exit(127);
      const int errFd = open(w.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int nullFd = open("/dev/null", O_RDWR);
      if (errFd >= 0) dup2(errFd, 2);
      if (nullFd >= 0) {
        dup2(nullFd, 0);
        dup2(nullFd, 1);
      }
      execl(m_opt.worker_exe.c_str(), "mpsim", "-q", "sweep", "__worker", w.job.c_str(), w.out.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    m_running.push_back(std::move(w));
  }

  void finish(const Worker& w, int status, bool timedOut) {
    Outcome o;
    o.wall_s = since(w.start);
    if (timedOut) {
      o.status = "timeout";
      o.error = "no result within " + io::formatNumber(m_opt.timeout_s) + " s (--timeout); the worker was killed";
    } else if (WIFEXITED(status)) {
      const int code = WEXITSTATUS(status);
      o.exit_code = code;
      if (code == kExitOk || code == kExitDeadlock) {
        try {
          o.report = ordered_json::parse(readFileLimited(w.out, kMaxJsonBytes, "worker result"));
          if (!o.report.is_object() || !o.report.contains("summary")) throw std::runtime_error("not a report");
          o.status = code == kExitOk ? "done" : "deadlock";
          if (code == kExitDeadlock)
            o.error = "the pipeline deadlocked at cycle " + o.report["deadlock"]["cycle"].dump();
        } catch (const std::exception& e) {
          o.report = nullptr;
          o.status = "failed";
          o.error = std::string("the worker's result is unreadable: ") + e.what();
        }
      } else {
        o.status = "failed";
        o.error = "exit code " + std::to_string(code);
        const std::string msg = tail(w.err, 2000);
        if (!msg.empty()) o.error += ": " + msg;
      }
    } else if (WIFSIGNALED(status)) {
      o.status = "failed";
      o.exit_code = 128 + WTERMSIG(status);
      o.error = "the worker was killed by signal " + std::to_string(WTERMSIG(status));
      const std::string msg = tail(w.err, 2000);
      if (!msg.empty()) o.error += ": " + msg;
    }
    {
      Transaction t(m_store.db());
      m_store.record(w.task.id, "sim", o);
      t.commit();
    }
    std::error_code ec;
    for (const auto& f : {w.job, w.out, w.err}) std::filesystem::remove(f, ec);
    const bool failed = o.status == "failed" || o.status == "timeout";
    if (failed) ++m_progress.failed;
    if (failed && w.task.attempts + 1 <= m_opt.retry) {
      m_retryPending = true; // tried again in this run: the next pass over the database reads it
    } else {
      ++m_progress.done;
    }
  }

  const Sweep& m_s;
  const Options& m_opt;
  Store& m_store;
  std::string m_dir;
  std::vector<Worker> m_running;
  Progress m_progress;
  bool m_retryPending = false; // a task failed that may be tried again (sim_attempts <= retry)
};

/// Computes each point's identity, or its load error; collects the problems of the sweep file
/// (errors about swept values, constraints that read a path no map result has) for one LoadError.
class Identifier {
public:
  Identifier(const Sweep& s, const std::string& version) : m_s(s), m_version(version), m_checked(s.constraints.empty()) {}

  /// False when the point's problems are the sweep file's (recorded; thrown by throwIfAny).
  bool identify(PreparedPoint& pp) {
    const Point& p = pp.point;
    try {
      config::Run run = loadPoint(m_s, p.overrides());
      // yaml-cpp's text of the effective config (io::emitYaml writes the same, faster).
      const std::string body = io::emitYaml(config::effectiveConfig(run.config)) + "\nmodel " +
                               modelHash(m_s, run.config.network.model, m_modelCache);
      pp.config_hash = hex(fnv1a(body));
      pp.hash = hex(fnv1a("mpsim " + m_version + "\n" + body));
      if (!m_checked) checkConstraints(std::move(run));
    } catch (const LoadError& e) {
      const auto msgs = sweepErrors(m_s, p, e);
      if (!msgs.empty()) {
        for (const auto& m : msgs)
          if (m_seenMsg.insert(m).second) {
            if (m_errs.errors().size() < 50)
              m_errs.error(m);
            else
              ++m_more;
          }
        return false;
      }
      pp.load_error = joinMessages(e);
      std::string body = "unloadable\n" + m_s.basePath + "\n" + m_s.baseText;
      for (const auto& o : p.overrides()) body += "\n" + o;
      pp.config_hash = hex(fnv1a(body));
      pp.hash = hex(fnv1a("mpsim " + m_version + "\n" + body));
    }
    return true;
  }

  void throwIfAny() {
    if (m_more) m_errs.error("... and " + std::to_string(m_more) + " more problems");
    m_errs.throwIfAny();
  }

private:
  /// Constraints may read only paths a point's config or map result has (checked on the first
  /// point that maps).
  void checkConstraints(config::Run run) {
    try {
      config::RunConfig effective;
      const ordered_json report = mapPoint(std::move(run), effective);
      const json doc = pointDoc(yamlToJson(config::effectiveConfig(effective)), report);
      for (size_t i = 0; i < m_s.constraints.size(); ++i)
        for (const auto& path : m_s.constraints[i].expr.paths())
          if (!findPath(doc, path))
            m_errs.error(m_s.constraints[i].where + ": constraints[" + std::to_string(i) + "]: '" +
                         m_s.constraints[i].expr.text() + "': no value at '" + path +
                         "' in a point's config or map result (e.g. resources.fits, resources.utilization.dsp, "
                         "summary.fps, params.weight_bits, hardware.clock_mhz)");
      m_checked = true;
    } catch (const LoadError&) {
      // this point does not map: check with the next one
    }
  }

  const Sweep& m_s;
  const std::string& m_version;
  bool m_checked;
  Diagnostics m_errs;
  std::set<std::string> m_seenMsg;
  std::map<std::string, std::string> m_modelCache;
  size_t m_more = 0;
};

/// The identities of this run's points, on disk: a private temporary SQLite database (deleted when
/// closed; its page cache bounded), so that a sweep's memory does not grow with its points.
class PointSet {
public:
  PointSet() try : m_db("") {
    m_db.exec("PRAGMA journal_mode=OFF");
    m_db.exec("CREATE TABLE pts (hash TEXT PRIMARY KEY, idx INTEGER NOT NULL, config_hash TEXT NOT NULL, "
              "load_error TEXT NOT NULL) WITHOUT ROWID");
    m_db.exec("CREATE INDEX pts_idx ON pts (idx)");
    m_ins.emplace(m_db, "INSERT OR IGNORE INTO pts VALUES (?, ?, ?, ?)");
    m_find.emplace(m_db, "SELECT 1 FROM pts WHERE hash = ?");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("sweep: cannot create the temporary database of the points' identities (SQLite's "
                                         "temporary folder: TMPDIR, /var/tmp, /tmp): ") + e.what());
  }
  Database& db() { return m_db; }
  /// False when a point of the same identity is there already (a duplicate).
  bool insert(size_t idx, const PreparedPoint& p) {
    m_ins->bind(1, p.hash).bind(2, int64_t(idx)).bind(3, p.config_hash).bind(4, p.load_error).run();
    return m_db.changes() > 0;
  }
  bool contains(const std::string& hash) {
    m_find->bind(1, hash);
    const bool found = m_find->step();
    m_find->reset();
    return found;
  }

private:
  Database m_db;
  std::optional<Statement> m_ins, m_find; // after m_db: finalized first
};

} // namespace

DbLock::DbLock(const std::string& db) {
  m_fd = open((db + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0)
    throw LoadError(db + ": cannot create the results database's lock file " + db + ".lock: " + std::strerror(errno));
  if (flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    close(m_fd);
    throw BusyError(db + ": another mpsim sweep is writing this results database");
  }
}

DbLock::~DbLock() { close(m_fd); }

std::vector<Objective> objectivesOr(const Sweep& s) {
  if (!s.objectives.empty()) return s.objectives;
  return {parseObjective("max:fps")};
}

std::vector<int64_t> storeFront(Store& store, const std::vector<Objective>& objs, const std::string& fidelity) {
  ParetoSet front(objs);
  store.forEachObjectiveValue(fidelity, objs, [&](int64_t id, const std::vector<double>& v) { front.add(id, v); });
  const std::vector<int64_t> ids = front.rows();
  store.storePareto(objectivesKey(objs), fidelity, ids);
  return ids;
}

json pointDoc(const json& effectiveConfig, const ordered_json& report) {
  json doc = effectiveConfig;
  for (auto it = report.begin(); it != report.end(); ++it)
    if (it.key() != "schema" && it.key() != "network" && it.key() != "device") doc[it.key()] = it.value();
  return doc;
}

std::vector<PreparedPoint> prepare(const Sweep& s, const std::string& version) {
  QuietLog quiet;
  Identifier id(s, version);
  std::set<std::string> seenHash;
  std::vector<PreparedPoint> out;
  for (size_t i = 0; i < s.points.size(); ++i) {
    PreparedPoint pp;
    pp.point = s.points[i];
    if (id.identify(pp) && seenHash.insert(pp.hash).second) out.push_back(std::move(pp));
  }
  id.throwIfAny();
  return out;
}

Summary run(const Sweep& s, const Options& opt) {
  Summary sum;
  // Every point's identity first (every problem before anything is written), kept on disk, not
  // in memory; then the points inserted, then mapped a chunk at a time.
  PointSet pts;
  {
    QuietLog quiet;
    Identifier id(s, opt.version);
    size_t distinct = 0;
    Transaction t(pts.db());
    for (size_t i = 0; i < s.points.size(); ++i) {
      PreparedPoint pp;
      pp.point = s.points[i];
      if (!id.identify(pp)) continue;
      if (!opt.only.empty() && !opt.only.count(pp.hash)) continue; // a cluster shard: only its points
      distinct += pts.insert(i, pp) ? 1 : 0;
    }
    id.throwIfAny();
    t.commit();
    sum.points = s.points.size();
    sum.duplicates = s.points.size() - distinct;
    if (!opt.only.empty()) {
      for (const auto& h : opt.only)
        if (!pts.contains(h))
          throw LoadError(s.file + ": point " + h +
                          " of the shard plan is not a point of this sweep file: the file (or the mpsim version) changed since the plan "
                          "was written (docs/slurm.md, \"Resume\")");
      sum.points = distinct;
      sum.duplicates = 0;
    }
  }
  DbLock lock(opt.db);
  Store store(opt.db);
  store.setJobIds(opt.slurm_job, opt.slurm_task);
  {
    Statement q = pts.db().prepare("SELECT idx, hash, config_hash, load_error FROM pts ORDER BY idx");
    sum.added = store.addPoints(
        s,
        [&](PreparedPoint& pp) {
          if (!q.step()) return false;
          pp.point = s.points[size_t(q.getInt(0))];
          pp.hash = q.getText(1);
          pp.config_hash = q.getText(2);
          pp.load_error = q.getText(3);
          return true;
        },
        opt.version, toString(opt.fidelity));
  }
  store.requeueRunning();

  {
    // Map every point in this process: `jobs` threads map a chunk of points (the flow's map step is
    // pure: no SystemC; what it shares is the scheduler's thread-safe caches, which change no
    // result), then this thread writes the chunk in point order in one transaction.
    QuietLog quiet;
    Progress pr;
    pr.phase = "map";
    {
      // This sweep file's points to map (a database may also hold points of another sweep file,
      // whose base config this run does not know).
      Statement n = store.db().prepare("SELECT hash FROM points WHERE status = 'pending' OR (status = 'failed' "
                                       "AND attempts <= ?)");
      n.bind(1, int64_t(opt.retry));
      while (n.step()) pr.total += pts.contains(n.getText(0)) ? 1 : 0;
    }
    const auto t0 = Clock::now();
    const size_t threads = size_t(std::max(1, opt.jobs));
    const size_t chunk = 16 * threads;
    // Tasks are read a window at a time (bounded memory) and mapped in the window in the order of
    // their overrides without the clock: points that differ only in the clock one after another,
    // so that they find the layer options the scheduler shares across points (sched/Scheduler.cpp)
    // before it drops them. Each point's outcome does not depend on the order.
    constexpr size_t kWindow = 4096;
    std::vector<Task> window;
    size_t at = 0;
    int64_t after = 0;
    for (;;) {
      throwIfInterrupted();
      if (at == window.size()) {
        window.clear();
        at = 0;
        while (window.size() < kWindow) {
          std::vector<Task> more = store.mapTasks(opt.retry, after, kWindow);
          if (more.empty()) break;
          after = more.back().id;
          for (auto& t : more)
            if (pts.contains(t.hash)) window.push_back(std::move(t));
        }
        std::vector<std::pair<std::vector<std::string>, size_t>> order;
        for (size_t i = 0; i < window.size(); ++i) {
          std::vector<std::string> sig;
          for (const auto& o : window[i].overrides)
            if (o.rfind("hardware.clock_mhz=", 0) != 0) sig.push_back(o);
          order.emplace_back(std::move(sig), i);
        }
        std::stable_sort(order.begin(), order.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<Task> sorted;
        sorted.reserve(window.size());
        for (const auto& o : order) sorted.push_back(std::move(window[o.second]));
        window = std::move(sorted);
      }
      if (window.empty()) break;
      const size_t n = std::min(chunk, window.size() - at);
      std::vector<Task> tasks(std::make_move_iterator(window.begin() + long(at)),
                              std::make_move_iterator(window.begin() + long(at + n)));
      at += n;
      std::vector<std::vector<Outcome>> outcomes(tasks.size()); // every try of each task, in order
      std::atomic<size_t> next{0};
      auto work = [&] {
        for (size_t i; (i = next++) < tasks.size();) {
          auto& tries = outcomes[i];
          tries.push_back(mapOne(s, tasks[i]));
          for (int a = tasks[i].attempts + 1; tries.back().status == "failed" && a <= opt.retry; ++a)
            tries.push_back(mapOne(s, tasks[i]));
        }
      };
      std::vector<std::thread> pool;
      for (size_t k = 1; k < threads && k < tasks.size(); ++k) pool.emplace_back(work);
      work();
      for (auto& t : pool) t.join();
      Transaction tr(store.db());
      for (size_t i = 0; i < tasks.size(); ++i) {
        for (const Outcome& o : outcomes[i]) store.record(tasks[i].id, "map", o);
        ++pr.done;
        if (outcomes[i].back().status == "failed") ++pr.failed;
      }
      tr.commit();
      pr.elapsed_s = since(t0);
      if (opt.progress && pr.done < pr.total) opt.progress(pr);
    }
    pr.final = true;
    pr.elapsed_s = since(t0);
    if (opt.progress && pr.total) opt.progress(pr);
  }

  const std::vector<Objective> objs = objectivesOr(s);
  if (opt.fidelity == Fidelity::Sim) store.queueSim(nullptr);
  if (opt.fidelity == Fidelity::Screen) {
    // The map-fidelity Pareto set plus the best K by each objective (one pass over the results,
    // holding the front and K rows per objective).
    ParetoSet front(objs);
    std::vector<TopK> top;
    for (const auto& o : objs) top.emplace_back(o, size_t(std::max(0, opt.simulate_top)));
    store.forEachObjectiveValue("map", objs, [&](int64_t id, const std::vector<double>& v) {
      front.add(id, v);
      for (size_t k = 0; k < objs.size(); ++k) top[k].add(id, v[k]);
    });
    std::set<int64_t> chosen;
    for (int64_t id : front.rows()) chosen.insert(id);
    for (const auto& t : top)
      for (int64_t id : t.rows()) chosen.insert(id);
    const std::vector<int64_t> ids(chosen.begin(), chosen.end());
    store.queueSim(&ids);
  }
  if (opt.fidelity != Fidelity::Map) {
    // This sweep file's points to simulate, read a window at a time (bounded memory).
    size_t total = 0;
    store.forEachSimTask(opt.retry, [&](const std::string& hash) { total += pts.contains(hash) ? 1 : 0; });
    auto fetch = [&](int64_t& after) {
      for (;;) {
        std::vector<Task> more = store.simTasks(opt.retry, after, 256);
        if (more.empty()) return more;
        after = more.back().id;
        more.erase(std::remove_if(more.begin(), more.end(), [&](const Task& t) { return !pts.contains(t.hash); }),
                   more.end());
        if (!more.empty()) return more;
      }
    };
    SimRunner sims(s, opt, store);
    sims.run(fetch, total);
  }

  sum.pareto_fidelity = opt.fidelity == Fidelity::Map ? "map" : "sim";
  sum.pareto = storeFront(store, objs, sum.pareto_fidelity);

  Statement st = store.db().prepare("SELECT status, sim_status, count(*) FROM points GROUP BY status, sim_status");
  while (st.step()) {
    sum.map_status[st.getText(0)] += size_t(st.getInt(2));
    if (!st.isNull(1)) sum.sim_status[st.getText(1)] += size_t(st.getInt(2));
  }
  Statement rj = store.db().prepare("SELECT error, count(*) FROM points WHERE status = 'rejected' GROUP BY error");
  while (rj.step()) sum.rejections[rj.getText(0)] = size_t(rj.getInt(1));
  return sum;
}

int runWorker(const std::string& jobFile, const std::string& outFile) {
  const json job = json::parse(readFileLimited(jobFile, kMaxConfigBytes, "sweep job"));
  std::vector<std::string> ov;
  for (const auto& o : job.at("overrides")) ov.push_back(o.get<std::string>());
  const std::string basePath = job.at("base_path").get<std::string>();
  config::Run run = basePath.empty()
                        ? flow::loadText(job.at("base_text").get<std::string>(), job.at("base_name").get<std::string>(),
                                         ov, job.at("dir").get<std::string>())
                        : flow::load(basePath, ov);
  if (flow::segmentsRequested(run)) {
    flow::SegmentedDesign sd = flow::mapSegments(run);
    if (sd.segments.size() > 1 || run.config.mapping.segments.mode == config::SegmentMode::Manual) {
      const flow::SegmentedOutcome r = flow::simulateSegments(sd, {}, "");
      writeFileAtomic(outFile, r.report.dump() + "\n");
      return kExitOk; // a segment that deadlocks throws
    }
  }
  const flow::Design d = flow::map(std::move(run));
  const flow::RunOutcome r = flow::simulate(d, {}, "");
  writeFileAtomic(outFile, r.report.dump() + "\n");
  return r.result.deadlock.detected ? kExitDeadlock : kExitOk;
}

} // namespace mpsim::sweep
