#pragma once
// Cluster sweeps on Slurm (docs/slurm.md): the points are dealt onto K shards by estimated cost (a
// plan, written once beside the database), a job array runs one shard per task into its own SQLite
// shard database (`mpsim sweep FILE --shard i/K`), and a dependent job merges the shards into the
// sweep database (`mpsim sweep merge DB`). Rerunning submits only the shards that have work left.
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/sweep/Runner.hpp"

namespace mpsim::sweep {

/// "i/K" with 0 <= i < K <= kMaxShards; throws std::invalid_argument naming the option.
struct ShardSpec {
  int index = 0, count = 1;
};
inline constexpr int kMaxShards = 10000;
ShardSpec parseShard(const std::string& text);

/// Deals points onto k shards so that shards take similar time: in order of decreasing cost (ties:
/// the earlier point first), dealt back and forth (0, 1, .., k-1, k-1, .., 0, 0, 1, ..). Returns the
/// shard of each point. Deterministic; shard sizes differ by at most one.
std::vector<int> assignShards(const std::vector<double>& costs, int k);

/// The estimated cost of each point: map fidelity: its layers; simulation: frames x cycles per frame
/// of its map result in `mainDb` when every point has one, else frames x MACs of its network.
std::vector<double> estimateCosts(const Sweep& s, const std::vector<PreparedPoint>& pts, Fidelity f, Store* mainDb);

/// The folder beside the database: plan.json, array.sh, merge.sh, the shard databases, logs/.
std::string slurmDir(const std::string& db);
std::string shardDb(const std::string& db, int index, int count);

/// The shard plan: the point hashes of each shard.
struct Plan {
  std::vector<std::vector<std::string>> shards;
};
/// Reads <slurmDir>/plan.json; throws LoadError naming it (missing, malformed).
Plan readPlan(const std::string& db);

/// "0-3%2", "1,3%2", "0,2-5" (P = 0: no limit).
std::string arraySpec(const std::vector<int>& indices, int maxParallel);
/// 'text' for a POSIX shell.
std::string shellQuote(const std::string& text);

struct SlurmOptions {
  int array_size = 4;
  int max_parallel = 0; // 0: no limit
  std::string partition, time, mem;
  std::vector<std::string> sbatch_args; // each one more "#SBATCH <arg>" line
  std::vector<std::string> prolog;      // shell lines before mpsim runs (module load ..., export ...)
  std::string launcher;                 // a prefix of the mpsim command (e.g. "apptainer exec mpsim.sif")
  bool dry_run = false;
  std::string sweep_file; // the sweep file as each task loads it (absolute)
};

/// The batch script of the array: one shard per task. `indices` are the shards to run.
std::string arrayScript(const Sweep& s, const Options& opt, const SlurmOptions& so, const std::vector<int>& indices);
/// The batch script of the merge job.
std::string mergeScript(const Sweep& s, const Options& opt, const SlurmOptions& so);

struct Submission {
  std::string dir, array_script, merge_script;
  size_t points = 0;
  std::vector<int> shards;           // the shards submitted (those with work left)
  std::string array_job, merge_job;  // job ids (empty on --dry-run)
};

/// Validates the sweep, records its points in opt.db, writes (or reuses) the plan, writes the
/// scripts and, unless dry_run, submits the array and the dependent merge job with sbatch.
/// Throws LoadError (bad sweep, sbatch missing), BusyError (the previous array still queued),
/// std::runtime_error (sbatch rejected a script: its exit code and output).
Submission submitSlurm(const Sweep& s, const Options& opt, const SlurmOptions& so);

/// Whether shard `index` has work left at `fidelity` ("map" or "sim"): points of the plan missing
/// from its database, not run, left running, killed, or failed with retries left (attempts <= retry).
bool shardNeedsWork(const std::string& db, const Plan& plan, int index, const std::string& fidelity, int retry);

struct MergeSummary {
  size_t shards = 0, points = 0; // shard databases merged, points copied
  size_t missing = 0;            // shard databases not (yet) there
};
/// Merges every shard database into `db` in one transaction; every shard is checked first (a
/// corrupt or foreign one: LoadError naming it, `db` left as it was).
MergeSummary mergeShards(const std::string& db);

struct ShardStatus {
  int index = 0;
  bool exists = false;
  size_t points = 0, done = 0, failed = 0, running = 0, pending = 0;
  std::string job; // the Slurm job of the last outcome ("1234_2")
};
/// Done / failed / running / pending per shard, read from the shard databases (works while the
/// array runs; a corrupt shard: LoadError naming it).
std::vector<ShardStatus> shardStatus(const std::string& db);

} // namespace mpsim::sweep
