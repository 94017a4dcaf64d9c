// `mpsim sweep`: option parsing and printing only; the sweep itself is mpsim::sweep (src/sweep/).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "mpsim/cli/Commands.hpp"

#include "CliUtil.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/sweep/Report.hpp"
#include "mpsim/sweep/Results.hpp"
#include "mpsim/sweep/Runner.hpp"
#include "mpsim/sweep/Slurm.hpp"

namespace po = boost::program_options;

namespace mpsim::cli {

namespace {

const char* kSweepUsage =
    R"(mpsim sweep <sweep.yaml> [--db PATH] [--fidelity map|sim|screen] [-j N] [--timeout S]
                         [--retry N] [--simulate-top K]
       mpsim sweep <sweep.yaml> --fidelity map|sim --slurm [--array-size K] [--max-parallel P]
                         [--partition P] [--time T] [--mem M] [--sbatch-arg ARG ...] [--prolog LINE ...]
                         [--launcher PREFIX] [--dry-run]
       mpsim sweep <sweep.yaml> --fidelity map|sim --shard i/K     (one array task's shard)
       mpsim sweep merge <db>                  (the shard databases into the sweep database)
       mpsim sweep status <db>                 (done / failed / running / pending per shard)
       mpsim sweep export <db> (--csv | --json) [--fidelity map|sim] [-o FILE]
       mpsim sweep pareto <db> --objectives max:fps,min:lut[,...] [--fidelity map|sim] [--json]
       mpsim sweep compare <old.db> <new.db> [--tol fps=rel:0.01,lut=abs:10 ...]
       mpsim sweep report <db> -o report.html [--x min:lut] [--y max:fps] [--color KEY]
)";

void out(const std::string& text, const std::string& file) {
  if (file.empty()) {
    writeStdout(text);
  } else {
    writeFileAtomic(file, text);
  }
}

void requireDb(const std::string& db) {
  std::error_code ec;
  if (db.empty()) throw UsageError("sweep: give the results database\nusage: " + std::string(kSweepUsage));
  if (!std::filesystem::is_regular_file(db, ec)) throw LoadError(db + ": no such results database");
}

std::vector<sweep::Objective> objectives(const std::string& text) {
  std::vector<sweep::Objective> objs;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) objs.push_back(sweep::parseObjective(item));
  if (objs.empty()) throw std::invalid_argument("--objectives: give e.g. max:fps,min:lut");
  return objs;
}

/// Progress on stderr: a bar redrawn in place on a terminal, else a plain line every 5 s.
class ProgressPrinter {
public:
  ProgressPrinter() : m_tty(isatty(2)) {}
  void operator()(const sweep::Progress& p) {
    const double rate = p.elapsed_s > 0 ? double(p.done) / p.elapsed_s : 0;
    const double eta = rate > 0 ? double(p.total - std::min(p.total, p.done)) / rate : 0;
    char line[200];
    std::snprintf(line, sizeof line, "%s %zu/%zu done, %zu failed, %zu running, %.1f points/s, ETA %.0f s",
                  p.phase.c_str(), p.done, p.total, p.failed, p.running, rate, eta);
    if (m_tty) {
      const int width = 30;
      const int fill = p.total ? int(double(width) * double(p.done) / double(p.total)) : width;
      std::fprintf(stderr, "\r[%s%s] %s\033[K%s", std::string(size_t(fill), '#').c_str(),
                   std::string(size_t(width - fill), '.').c_str(), line, p.final ? "\n" : "");
    } else if (p.final || p.elapsed_s - m_last >= 5) {
      std::fprintf(stderr, "sweep: %s\n", line);
      m_last = p.elapsed_s;
    }
    if (p.final) m_last = 0;
    std::fflush(stderr);
  }

private:
  bool m_tty;
  double m_last = 0;
};

std::string counts(const std::map<std::string, size_t>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  return s.empty() ? "none" : s;
}

int cmdSweepRun(const std::vector<std::string>& args) {
  po::options_description opts("sweep options");
  std::string file, db, fidelity = "screen";
  int jobs = int(std::max(1u, std::thread::hardware_concurrency())), retry = 0, top = 3;
  double timeout = 600;
  opts.add_options()("help,h", "show this help")("file", po::value(&file), "the sweep file (YAML)")(
      "db", po::value(&db), "results database (default: <sweep name>.db beside the sweep file)")(
      "fidelity", po::value(&fidelity),
      "map (closed form + resources, in process), sim (simulate every accepted point) or screen (default: map all, "
      "simulate the Pareto set and the top K by each objective)")(
      "jobs,j", po::value(&jobs), "simulations in parallel (default: the number of cores)")(
      "timeout", po::value(&timeout),
      "seconds per simulated point before it is killed and recorded (default 600; 0: none)")(
      "retry", po::value(&retry), "try failed or timed-out points again up to N times (default 0)")(
      "simulate-top", po::value(&top), "screen: simulate the best K by each objective too (default 3)");
  sweep::SlurmOptions so;
  std::string shard;
  po::options_description cluster("cluster options (docs/slurm.md)");
  cluster.add_options()("slurm", "write a Slurm job array (one shard of the points per task) and a merge job, and "
                                 "submit them with sbatch; rerun to resume")(
      "array-size", po::value(&so.array_size), "--slurm: shards, i.e. array tasks (default 4)")(
      "max-parallel", po::value(&so.max_parallel), "--slurm: tasks running at once (default: no limit)")(
      "partition", po::value(&so.partition), "--slurm: #SBATCH --partition")(
      "time", po::value(&so.time), "--slurm: #SBATCH --time, per task")(
      "mem", po::value(&so.mem), "--slurm: #SBATCH --mem, per task")(
      "sbatch-arg", po::value(&so.sbatch_args)->composing(), "--slurm: one more #SBATCH line (repeatable)")(
      "prolog", po::value(&so.prolog)->composing(),
      "--slurm: a shell line each job runs before mpsim, e.g. 'module load gcc' (repeatable)")(
      "launcher", po::value(&so.launcher), "--slurm: a prefix of the mpsim command, e.g. 'apptainer exec mpsim.sif'")(
      "dry-run", "--slurm: write the plan and scripts, submit nothing")(
      "shard", po::value(&shard), "run only shard i of K of the plan into its shard database (what an array task runs)");
  opts.add(cluster);
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  if (file.empty()) throw UsageError("sweep: give a sweep file\nusage: " + std::string(kSweepUsage));
  if (jobs < 1 || jobs > 1024) throw UsageError("sweep: -j " + std::to_string(jobs) + ": give 1..1024");
  if (retry < 0 || retry > 100) throw UsageError("sweep: --retry " + std::to_string(retry) + ": give 0..100");
  if (top < 0) throw UsageError("sweep: --simulate-top must not be negative");
  if (!(timeout >= 0)) throw UsageError("sweep: --timeout must not be negative");
  sweep::Options o;
  try {
    o.fidelity = sweep::parseFidelity(fidelity);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const bool slurm = vm.count("slurm") != 0;
  if (!slurm)
    for (const char* k : {"array-size", "max-parallel", "partition", "time", "mem", "sbatch-arg", "prolog", "launcher",
                          "dry-run"})
      if (vm.count(k)) throw UsageError(std::string("sweep: --") + k + " needs --slurm");
  if (slurm && !shard.empty()) throw UsageError("sweep: give --slurm or --shard, not both");
  if (slurm && (so.array_size < 1 || so.array_size > sweep::kMaxShards))
    throw UsageError("sweep: --array-size " + std::to_string(so.array_size) + ": give 1.." +
                     std::to_string(sweep::kMaxShards));
  if (slurm && so.max_parallel < 0) throw UsageError("sweep: --max-parallel must not be negative");
  for (const auto& a : so.sbatch_args)
    if (a.find('\n') != std::string::npos || a.rfind("-", 0) != 0)
      throw UsageError("sweep: --sbatch-arg '" + a + "': give one sbatch option, e.g. --account=proj");
  for (const auto* v : {&so.partition, &so.time, &so.mem, &so.launcher})
    if (v->find('\n') != std::string::npos) throw UsageError("sweep: a --slurm option value holds a line break");
  sweep::ShardSpec sp;
  if (!shard.empty()) {
    try {
      sp = sweep::parseShard(shard);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("sweep: ") + e.what());
    }
  }
  if ((slurm || !shard.empty()) && o.fidelity == sweep::Fidelity::Screen)
    throw UsageError(std::string("sweep: ") + (slurm ? "--slurm" : "--shard") +
                     ": give --fidelity map or sim (screen chooses the points to simulate from every map result "
                     "at once, which no single shard has)");
  const sweep::Sweep s = sweep::loadSweep(file);
  o.db = db.empty() ? (std::filesystem::path(s.dir) / (s.name + ".db")).string() : db;
  if (slurm && !vm.count("jobs")) jobs = 1; // a task's simulations in parallel: its --cpus-per-task
  o.jobs = jobs;
  o.retry = retry;
  o.simulate_top = top;
  o.timeout_s = timeout;
  o.version = MPSIM_VERSION;
  std::error_code ec;
  o.worker_exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (slurm) {
    so.dry_run = vm.count("dry-run") != 0;
    o.db = std::filesystem::absolute(o.db).lexically_normal().string();
    so.sweep_file = std::filesystem::absolute(file).lexically_normal().string();
    const sweep::Submission sub = sweep::submitSlurm(s, o, so);
    std::ostringstream os;
    os << "sweep " << s.name << ": " << sub.points << " points in " << so.array_size << " shards ("
       << sweep::slurmDir(o.db) << "/plan.json)\n";
    if (sub.shards.empty()) {
      os << "nothing to submit: every shard is complete; merge with: mpsim sweep merge " << o.db << "\n";
    } else {
      os << "shards with work left: " << sweep::arraySpec(sub.shards, 0) << "\n";
      os << "array script: " << sub.array_script << "\nmerge script: " << sub.merge_script << "\n";
      if (so.dry_run)
        os << "dry run: nothing submitted (sbatch " << sub.array_script << ")\n";
      else
        os << "submitted: array job " << sub.array_job << ", merge job " << sub.merge_job
           << " (afterany); progress: mpsim sweep status " << o.db << "\n";
    }
    out(os.str(), "");
    return kExitOk;
  }
  if (!shard.empty()) {
    const sweep::Plan plan = sweep::readPlan(o.db);
    if (int(plan.shards.size()) != sp.count)
      throw LoadError(sweep::slurmDir(o.db) + "/plan.json: planned for " + std::to_string(plan.shards.size()) +
                      " shards, not " + std::to_string(sp.count) + " (--shard " + shard + ")");
    const auto& hashes = plan.shards[size_t(sp.index)];
    o.only.insert(hashes.begin(), hashes.end());
    o.db = sweep::shardDb(o.db, sp.index, sp.count);
    o.record_killed = true;
    const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
    if (!job) job = std::getenv("SLURM_JOB_ID");
    const char* task = std::getenv("SLURM_ARRAY_TASK_ID");
    o.slurm_job = job ? job : "";
    o.slurm_task = task ? task : "";
    if (hashes.empty()) {
      out("sweep " + s.name + ": shard " + shard + " has no points\n", "");
      return kExitOk;
    }
  }
  ProgressPrinter printer;
  if (spdlog::get_level() <= spdlog::level::info) o.progress = [&](const sweep::Progress& p) { printer(p); };
  installInterruptHandlers();
  const sweep::Summary sum = sweep::run(s, o);
  std::ostringstream os;
  os << "sweep " << s.name << ": " << sum.points << " points (" << sum.duplicates << " duplicates), " << sum.added
     << " new in " << o.db << "\n";
  os << "map:    " << counts(sum.map_status) << "\n";
  if (!sum.sim_status.empty()) os << "sim:    " << counts(sum.sim_status) << "\n";
  for (const auto& [reason, n] : sum.rejections) os << "rejected by '" << reason << "': " << n << "\n";
  os << "pareto: " << sum.pareto.size() << " points (" << sum.pareto_fidelity << "):";
  for (int64_t id : sum.pareto) os << " " << id;
  os << "\n";
  out(os.str(), "");
  return kExitOk;
}

int cmdSweepExport(const std::vector<std::string>& args) {
  po::options_description opts("sweep export options");
  std::string db, outFile, fidelity;
  opts.add_options()("help,h", "show this help")("db", po::value(&db), "results database")("csv", "CSV")(
      "json", "JSON")("fidelity", po::value(&fidelity), "map or sim (default: each point's best)")(
      "out,o", po::value(&outFile), "write to this file instead of stdout");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  if (vm.count("csv") == vm.count("json")) throw UsageError("sweep export: give one of --csv, --json");
  if (!fidelity.empty() && fidelity != "map" && fidelity != "sim")
    throw UsageError("sweep export: --fidelity " + fidelity + ": valid: map, sim");
  requireDb(db);
  sweep::Store st(db);
  const auto rows = sweep::exportRows(st, fidelity);
  std::ostringstream os;
  if (vm.count("csv"))
    sweep::writeCsv(os, rows);
  else
    os << rows.dump(2) << "\n";
  out(os.str(), outFile);
  return kExitOk;
}

int cmdSweepPareto(const std::vector<std::string>& args) {
  po::options_description opts("sweep pareto options");
  std::string db, objs, fidelity;
  opts.add_options()("help,h", "show this help")("db", po::value(&db), "results database")(
      "objectives", po::value(&objs), "e.g. max:fps,min:lut,min:dsp (metric columns or report paths)")(
      "fidelity", po::value(&fidelity),
      "map or sim (default: sim when the database has simulations)")("json", "print the rows as JSON");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  if (objs.empty()) throw UsageError("sweep pareto: give --objectives, e.g. max:fps,min:lut");
  if (!fidelity.empty() && fidelity != "map" && fidelity != "sim")
    throw UsageError("sweep pareto: --fidelity " + fidelity + ": valid: map, sim");
  std::vector<sweep::Objective> o;
  try {
    o = objectives(objs);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  requireDb(db);
  sweep::Store st(db);
  const auto rows = sweep::pareto(st, o, fidelity);
  std::ostringstream os;
  if (vm.count("json")) {
    os << rows.dump(2) << "\n";
  } else {
    os << "pareto set of " << sweep::objectivesKey(o) << ": " << rows.size() << " points\n";
    for (const auto& r : rows) {
      os << "  point " << r["id"].get<int64_t>() << " [" << r["fidelity"].get<std::string>() << "]";
      for (const auto& x : o) os << "  " << x.metric << "=" << r[x.metric].dump();
      os << "\n";
    }
  }
  out(os.str(), "");
  return kExitOk;
}

int cmdSweepCompare(const std::vector<std::string>& args) {
  po::options_description opts("sweep compare options");
  std::string a, b;
  std::vector<std::string> tols;
  opts.add_options()("help,h", "show this help")("old", po::value(&a), "old results database")("new", po::value(&b),
                                                                                               "new results database")(
      "tol", po::value(&tols)->composing(),
      "per-metric tolerance, metric=rel:R or metric=abs:A, comma separated (repeatable); default: exact (rel 1e-9)");
  po::positional_options_description pos;
  pos.add("old", 1).add("new", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  std::map<std::string, sweep::Tolerance> t;
  try {
    for (const auto& x : tols) sweep::parseTolerances(x, t);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  requireDb(a);
  requireDb(b);
  sweep::Store oldDb(a), newDb(b);
  const sweep::Comparison c = sweep::compare(oldDb, newDb, t);
  std::ostringstream os;
  for (const auto& d : c.differences) os << d << "\n";
  os << (c.differences.empty() ? "match: " : "DIFFERENT: ") << c.matched << " points in both, " << c.differences.size()
     << " differences\n";
  out(os.str(), "");
  return c.differences.empty() ? kExitOk : kExitFailure;
}

int cmdSweepReport(const std::vector<std::string>& args) {
  po::options_description opts("sweep report options");
  sweep::ReportOptions ro;
  std::string db, outFile;
  opts.add_options()("help,h", "show this help")("db", po::value(&db), "results database")(
      "out,o", po::value(&outFile), "the HTML file to write")("x", po::value(&ro.x),
                                                              "x axis: min:<metric> or max:<metric> (default min:lut)")(
      "y", po::value(&ro.y), "y axis (default max:fps)")("color", po::value(&ro.color),
                                                         "colour by this swept key or metric (default the first "
                                                         "swept key)")("title", po::value(&ro.title), "page title");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  if (outFile.empty()) throw UsageError("sweep report: give -o report.html");
  requireDb(db);
  sweep::Store st(db);
  std::string html;
  try {
    html = sweep::htmlReport(st, ro);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  writeFileAtomic(outFile, html);
  spdlog::info("wrote {}", outFile);
  return kExitOk;
}

int cmdSweepMerge(const std::vector<std::string>& args) {
  po::options_description opts("sweep merge options");
  std::string db;
  opts.add_options()("help,h", "show this help")("db", po::value(&db), "the sweep database (its shards are in <db>.slurm/)");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  requireDb(db);
  const sweep::MergeSummary m = sweep::mergeShards(db);
  out("merged " + std::to_string(m.points) + " points of " + std::to_string(m.shards) + " shard databases into " + db +
          (m.missing ? " (" + std::to_string(m.missing) + " shards have no database yet)" : "") + "\n",
      "");
  return kExitOk;
}

int cmdSweepStatus(const std::vector<std::string>& args) {
  po::options_description opts("sweep status options");
  std::string db;
  opts.add_options()("help,h", "show this help")("db", po::value(&db), "the sweep database (its shards are in <db>.slurm/)");
  po::positional_options_description pos;
  pos.add("db", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, kSweepUsage)) return kExitOk;
  if (db.empty()) throw UsageError("sweep status: give the sweep database\nusage: " + std::string(kSweepUsage));
  const auto st = sweep::shardStatus(db);
  std::ostringstream os;
  size_t t[5] = {0, 0, 0, 0, 0};
  os << "shard  points  done  failed  running  pending  last job\n";
  for (const auto& x : st) {
    char line[200];
    std::snprintf(line, sizeof line, "%5d  %6zu  %4zu  %6zu  %7zu  %7zu  %s\n", x.index, x.points, x.done, x.failed,
                  x.running, x.pending, x.exists ? (x.job.empty() ? "-" : x.job.c_str()) : "(no database yet)");
    os << line;
    t[0] += x.points, t[1] += x.done, t[2] += x.failed, t[3] += x.running, t[4] += x.pending;
  }
  char line[200];
  std::snprintf(line, sizeof line, "total  %6zu  %4zu  %6zu  %7zu  %7zu\n", t[0], t[1], t[2], t[3], t[4]);
  os << line;
  out(os.str(), "");
  return kExitOk;
}

} // namespace

int cmdSweep(const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  const std::vector<std::string> rest = args.empty() ? args : std::vector<std::string>(args.begin() + 1, args.end());
  if (sub == "export") return cmdSweepExport(rest);
  if (sub == "pareto") return cmdSweepPareto(rest);
  if (sub == "compare") return cmdSweepCompare(rest);
  if (sub == "report") return cmdSweepReport(rest);
  if (sub == "merge") return cmdSweepMerge(rest);
  if (sub == "status") return cmdSweepStatus(rest);
  if (sub == "__worker") {
    if (rest.size() != 2) throw UsageError("sweep __worker: internal; needs JOB OUT");
    return sweep::runWorker(rest[0], rest[1]);
  }
  return cmdSweepRun(args);
}

} // namespace mpsim::cli
