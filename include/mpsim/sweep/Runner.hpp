#pragma once
// Running a sweep (docs/sweeps.md): expand and validate every point, write the point list into the
// results database, map every point in this process (closed form + resources, constraints), then
// simulate the chosen points in worker processes (the mpsim binary itself, one simulation per
// process), `jobs` at a time, each with a timeout. Resumable: points already done are skipped.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mpsim/sweep/Store.hpp"
#include "mpsim/sweep/SweepFile.hpp"

namespace mpsim::sweep {

enum class Fidelity { Map, Sim, Screen };
/// "map", "sim", "screen"; throws std::invalid_argument naming them.
Fidelity parseFidelity(const std::string& s);
const char* toString(Fidelity f);

struct Progress {
  std::string phase; // "map" or "sim"
  size_t total = 0, done = 0, failed = 0, running = 0;
  double elapsed_s = 0;
  bool final = false;
};

struct Options {
  std::string db; // the results database
  Fidelity fidelity = Fidelity::Screen;
  int jobs = 1;                                  // worker processes for simulations
  double timeout_s = 600;                        // per simulated point (0: none)
  int retry = 0;                                 // failed / timed-out points are tried again up to this many times
  int simulate_top = 3;                          // screen: also simulate the best K by each objective
  std::string version;                           // mpsim version (part of each point's identity)
  std::string worker_exe;                        // the mpsim binary (simulations run `mpsim sweep __worker`)
  std::function<void(const Progress&)> progress; // called a few times per second and at the end of a phase
  // Cluster shards (docs/slurm.md):
  std::set<std::string> only;  // run only the points of these hashes (empty: every point)
  bool record_killed = false;  // SIGINT / SIGTERM: in-flight simulations become 'killed' (else 'queued')
  std::string slurm_job, slurm_task; // recorded with each outcome (SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID)
};

struct Summary {
  size_t points = 0, added = 0, duplicates = 0;
  std::map<std::string, size_t> map_status, sim_status; // status -> points (the whole database)
  std::map<std::string, size_t> rejections;             // constraint -> rejected points
  std::vector<int64_t> pareto;                          // ids of the stored Pareto set
  std::string pareto_fidelity;
};

/// Loads every point's config and computes its identity. Errors about the swept values (unknown
/// keys, mistyped or out-of-range values) are collected, located in the sweep file, and thrown as
/// one LoadError before anything runs; so are constraints that read a path no map result has. A
/// point that fails elsewhere (e.g. a corrupt model file) is kept: it fails alone when it runs.
std::vector<PreparedPoint> prepare(const Sweep& s, const std::string& version);

/// Runs (or resumes) the sweep into opt.db.
Summary run(const Sweep& s, const Options& opt);

/// Computes the Pareto front of `objs` over the successful results at `fidelity` and stores it.
std::vector<int64_t> storeFront(Store& store, const std::vector<Objective>& objs, const std::string& fidelity);
/// The sweep file's objectives, or max:fps when it has none.
std::vector<Objective> objectivesOr(const Sweep& s);

/// One sweep at a time writes a database (flock on "<db>.lock", released when the process ends);
/// throws BusyError when another process holds it.
class DbLock {
public:
  explicit DbLock(const std::string& db);
  ~DbLock();
  DbLock(const DbLock&) = delete;
  DbLock& operator=(const DbLock&) = delete;

private:
  int m_fd = -1;
};

/// The worker: reads the job (JSON: base config, overrides), maps and simulates the point in this
/// process, writes report.json to `outFile`. Returns the exit code (0 ok, 4 deadlock, 3 invalid).
int runWorker(const std::string& jobFile, const std::string& outFile);

/// The point's document that constraints are evaluated over: its effective config (network,
/// hardware, mapping, simulation) and the sections of its map.json or report.json.
nlohmann::json pointDoc(const nlohmann::json& effectiveConfig, const nlohmann::ordered_json& report);

} // namespace mpsim::sweep
