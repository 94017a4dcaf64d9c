#pragma once
// The results database of a sweep (docs/sweeps.md, "Results database"): one SQLite file, schema
// mpsim.sweep/1. Points are inserted before the first run; every outcome (a point's map result, a
// simulation result, a failure) is written in a transaction together with the point's status, so a
// sweep killed at any moment resumes with nothing lost or recorded twice.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/sweep/Expr.hpp"
#include "mpsim/sweep/Sqlite.hpp"
#include "mpsim/sweep/SweepFile.hpp"

namespace mpsim::sweep {

inline constexpr const char* kDbSchema = "mpsim.sweep/1";
inline constexpr int kDbSchemaVersion = 1;

/// A point with its identity, ready to be inserted.
struct PreparedPoint {
  Point point;
  std::string hash;        // effective config + mpsim version + model files: the point's identity
  std::string config_hash; // the same without the mpsim version (matches points across versions)
  std::string load_error;  // the point's config does not load (e.g. a corrupt model): it fails alone
};

/// A point to work on.
struct Task {
  int64_t id = 0;
  std::string hash;
  std::vector<std::string> overrides;
  int attempts = 0;
};

/// One outcome of a point at one fidelity ("map": closed form and resources; "sim": simulated).
struct Outcome {
  std::string status; // map: mapped | rejected | failed; sim: done | deadlock | failed | timeout
  std::string error;  // rejected: the constraint; failed: the message
  std::optional<int> exit_code;
  double wall_s = 0;
  nlohmann::ordered_json report; // map.json or report.json (null when failed)
};

class Store {
public:
  /// Opens or creates the database; refuses a file with another schema version.
  explicit Store(const std::string& path);
  Database& db() { return m_db; }

  /// Records the sweep (meta rows, one column per swept key) and inserts the points not yet
  /// present (by hash), in one transaction. Returns the number of new points.
  size_t addPoints(const Sweep& s, const std::vector<PreparedPoint>& pts, const std::string& version,
                   const std::string& fidelity);
  /// The same with the points one at a time: `next` fills in the next point, false after the last.
  size_t addPoints(const Sweep& s, const std::function<bool(PreparedPoint&)>& next, const std::string& version,
                   const std::string& fidelity);
  /// Points left 'running' by a killed sweep, or 'killed' (stopped by SIGINT / SIGTERM in a cluster
  /// task, docs/slurm.md), are queued again (no attempt counted).
  void requeueRunning();
  /// The Slurm job and array task (docs/slurm.md) recorded with every outcome from now on (empty:
  /// not in a Slurm job: NULL).
  void setJobIds(const std::string& job, const std::string& task);
  /// A simulation stopped by a signal (a cancelled or timed-out cluster task): sim_status 'killed'.
  void markKilled(int64_t id, const std::string& error);
  /// Points whose map stage is to run: pending, or failed at most `retry` times.
  std::vector<Task> mapTasks(int retry);
  /// The same, at most `limit` of them after point id `after` (a sweep reads them a chunk at a time).
  std::vector<Task> mapTasks(int retry, int64_t after, size_t limit);
  /// Accepted points queued for simulation, or failed / timed out at most `retry` times: at most
  /// `limit` of them after point id `after` (a sweep reads them a window at a time).
  std::vector<Task> simTasks(int retry, int64_t after, size_t limit);
  /// Calls f with the hash of each of those points (all of them; nothing held).
  void forEachSimTask(int retry, const std::function<void(const std::string&)>& f);
  /// Queues accepted, not yet simulated points for simulation (all of them, or those in `ids`).
  void queueSim(const std::vector<int64_t>* ids);
  void markSimRunning(int64_t id);

  /// Writes one outcome (result row, layer rows, FIFO rows, the point's status) inside the
  /// caller's transaction.
  void record(int64_t id, const std::string& fidelity, const Outcome& o);

  /// (point id, objective values) of every successful result at `fidelity`.
  std::vector<std::pair<int64_t, std::vector<double>>> objectiveValues(const std::string& fidelity,
                                                                       const std::vector<Objective>& objs);
  /// The same one at a time, in point order.
  void forEachObjectiveValue(const std::string& fidelity, const std::vector<Objective>& objs,
                             const std::function<void(int64_t, const std::vector<double>&)>& fn);
  /// Replaces the stored Pareto set of these objectives.
  void storePareto(const std::string& key, const std::string& fidelity, const std::vector<int64_t>& ids);
  /// "sim" when any point has a simulation result, else "map".
  std::string bestFidelity();
  std::string meta(const std::string& key);

private:
  void bindJobIds(Statement& st, int i) const; // binds i (job id) and i + 1 (task id)
  /// The statement of `sql`, prepared once (record() runs for every point), reset for new binds.
  Statement& cached(const std::string& sql);
  Database m_db;
  std::string m_job, m_task;
  std::map<std::string, std::unique_ptr<Statement>> m_statements; // after m_db: finalized first
};

/// The points columns of the Slurm job and array task ids (docs/slurm.md); every other column after
/// `mpsim_version` is a swept key.
inline bool isJobIdColumn(const std::string& column) {
  return column == "slurm_job_id" || column == "slurm_task_id";
}

/// The objectives as stored in the pareto table ("max:fps,min:lut").
std::string objectivesKey(const std::vector<Objective>& objs);

} // namespace mpsim::sweep
