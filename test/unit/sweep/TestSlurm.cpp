// Cluster sweeps (docs/slurm.md) without a cluster: the shard assignment (deterministic, balanced),
// the --shard and --array syntax, the generated batch scripts of a dry run, and shards run in
// process then merged: the merged database equals a local run; a corrupt shard is refused by name
// and leaves the database as it was. test/cli/slurm.py runs the same on a real Slurm.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>

#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/sweep/Slurm.hpp"

using namespace mpsim;
using namespace mpsim::sweep;

namespace {

const char* kSweep = R"(base:
  network: {model: tfc, quant: {weights: 1, activations: 1}}
  hardware: {device: pynq-z1}
  mapping:
    mode: manual
    layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 16, simd: 32}, fc2: {pe: 16, simd: 32}, fc3: {pe: 10, simd: 8}}
sweep:
  - grid:
      hardware.clock_mhz: [100, 150, 200]
      mapping.layers.fc0.pe: [4, 8, 16]
  - grid:
      network.model: [cnv]
      mapping.layers: [{}]
      mapping.mode: [auto]
objectives: [max:fps, min:lut]
)";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// hash -> (status, fps, lut) of every map result.
std::map<std::string, std::string> results(const std::string& db) {
  Store st(db);
  Statement q = st.db().prepare("SELECT p.hash, p.status, r.fps, r.lut FROM points p LEFT JOIN results r ON "
                                "r.point_id = p.id AND r.fidelity = 'map'");
  std::map<std::string, std::string> out;
  while (q.step())
    out[q.getText(0)] = q.getText(1) + " " + (q.isNull(2) ? "-" : q.getText(2)) + " " +
                        (q.isNull(3) ? "-" : q.getText(3));
  return out;
}

} // namespace

TEST_CASE("points are dealt onto shards by cost deterministically and balanced", "[unit][sweep]") {
  std::vector<double> costs;
  uint64_t x = 12345;
  for (int i = 0; i < 103; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    costs.push_back(double(x >> 40) / 1000.0);
  }
  for (int k : {1, 2, 4, 7}) {
    const auto a = assignShards(costs, k);
    CHECK(a == assignShards(costs, k));
    std::vector<size_t> n(size_t(k), 0);
    std::vector<double> sum(size_t(k), 0);
    for (size_t i = 0; i < a.size(); ++i) {
      REQUIRE(a[i] >= 0);
      REQUIRE(a[i] < k);
      ++n[size_t(a[i])];
      sum[size_t(a[i])] += costs[i];
    }
    CHECK(*std::max_element(n.begin(), n.end()) - *std::min_element(n.begin(), n.end()) <= 1);
    // Back-and-forth dealing in cost order: shards differ by at most the largest single cost.
    CHECK(*std::max_element(sum.begin(), sum.end()) - *std::min_element(sum.begin(), sum.end()) <=
          *std::max_element(costs.begin(), costs.end()));
  }
  // Equal costs: the points in order, dealt 0 1 2 2 1 0 0 1.
  CHECK(assignShards(std::vector<double>(8, 1.0), 3) == std::vector<int>{0, 1, 2, 2, 1, 0, 0, 1});
  // The most expensive points go to different shards.
  CHECK(assignShards({1, 9, 1, 8, 1, 1}, 2) == std::vector<int>{1, 0, 0, 1, 0, 1});
  CHECK_THROWS(assignShards(costs, 0));
}

TEST_CASE("the shard and job array specifications: i of K and index lists", "[unit][sweep]") {
  CHECK(parseShard("0/4").index == 0);
  CHECK(parseShard("3/4").count == 4);
  for (const char* bad : {"4/4", "-1/4", "1", "1/0", "a/4", "1/4x", "1/", "/4", "0/100000"})
    CHECK_THROWS_AS(parseShard(bad), std::invalid_argument);
  CHECK(arraySpec({0, 1, 2, 3}, 2) == "0-3%2");
  CHECK(arraySpec({1, 3}, 2) == "1,3%2");
  CHECK(arraySpec({0, 2, 3, 4, 7}, 0) == "0,2-4,7");
  CHECK(shellQuote("a b'c") == "'a b'\\''c'");
}

TEST_CASE("a dry run writes the plan and the scripts and shards merge into what a local run gives", "[unit][sweep]") {
  test::TempDir dir;
  const std::string file = dir.write("s.yaml", kSweep);
  const Sweep s = loadSweep(file);
  Options o;
  o.db = dir / "s.db";
  o.fidelity = Fidelity::Map;
  o.jobs = 2;
  o.version = "test";
  o.worker_exe = "/opt/mpsim/bin/mpsim";
  SlurmOptions so;
  so.array_size = 4;
  so.max_parallel = 2;
  so.partition = "short";
  so.time = "0:10:00";
  so.sbatch_args = {"--account=proj"};
  so.prolog = {"module load gcc"};
  so.dry_run = true;
  so.sweep_file = file;
  const Submission sub = submitSlurm(s, o, so);
  CHECK(sub.points == 10);
  CHECK(sub.shards == std::vector<int>{0, 1, 2, 3});
  CHECK(sub.array_job.empty());
  const std::string script = slurp(sub.array_script);
  CHECK(script.rfind("#!/bin/bash\n", 0) == 0);
  for (const char* want : {"#SBATCH --array=0-3%2\n", "#SBATCH --partition=short\n", "#SBATCH --time=0:10:00\n",
                           "#SBATCH --account=proj\n", "#SBATCH --cpus-per-task=2\n", "\nmodule load gcc\n",
                           "\nexec '/opt/mpsim/bin/mpsim' sweep '", "--fidelity map -j 2",
                           "--shard \"${SLURM_ARRAY_TASK_ID}/4\"\n", "shard-%a-job-%A.log"})
    CHECK(script.find(want) != std::string::npos);
  const std::string merge = slurp(sub.merge_script);
  CHECK(merge.find("exec '/opt/mpsim/bin/mpsim' sweep merge '" + o.db + "'\n") != std::string::npos);
  // The plan covers every point once, 2 or 3 points per shard; a second dry run reuses it.
  const Plan plan = readPlan(o.db);
  REQUIRE(plan.shards.size() == 4);
  size_t n = 0;
  for (const auto& sh : plan.shards) {
    CHECK((sh.size() == 2 || sh.size() == 3));
    n += sh.size();
  }
  CHECK(n == 10);
  CHECK(submitSlurm(s, o, so).shards == sub.shards);
  so.array_size = 3;
  CHECK_THROWS_AS(submitSlurm(s, o, so), LoadError);
  so.array_size = 4;

  // Each shard into its database, as the array tasks do; shard 2 is not run yet.
  for (int i : {0, 1, 3}) {
    Options t = o;
    t.only.insert(plan.shards[size_t(i)].begin(), plan.shards[size_t(i)].end());
    t.db = shardDb(o.db, i, 4);
    t.slurm_job = "77";
    t.slurm_task = std::to_string(i);
    run(s, t);
    CHECK_FALSE(shardNeedsWork(o.db, plan, i, "map", 0));
  }
  CHECK(shardNeedsWork(o.db, plan, 2, "map", 0));
  CHECK(submitSlurm(s, o, so).shards == std::vector<int>{2});
  auto st = shardStatus(o.db);
  REQUIRE(st.size() == 4);
  CHECK(st[2].pending == plan.shards[2].size());
  CHECK_FALSE(st[2].exists);
  CHECK(st[3].done == plan.shards[3].size());
  CHECK(st[3].job == "77_3");

  // A shard database its task is just creating (no tables yet) is not there yet, not corrupt.
  { std::ofstream(shardDb(o.db, 2, 4)); }
  CHECK_FALSE(shardStatus(o.db)[2].exists);
  CHECK(shardNeedsWork(o.db, plan, 2, "map", 0));

  Options t = o;
  t.only.insert(plan.shards[2].begin(), plan.shards[2].end());
  t.db = shardDb(o.db, 2, 4);
  t.slurm_job = "77";
  t.slurm_task = "2";
  run(s, t);
  CHECK(submitSlurm(s, o, so).shards.empty());

  // A corrupt shard: refused by name before anything is merged.
  const std::string good = slurp(shardDb(o.db, 1, 4));
  { std::ofstream(shardDb(o.db, 1, 4), std::ios::trunc) << std::string(8192, 'x'); }
  const auto before = results(o.db);
  try {
    mergeShards(o.db);
    FAIL("a corrupt shard was merged");
  } catch (const LoadError& e) {
    CHECK(std::string(e.what()).find("shard-1-of-4.db") != std::string::npos);
  }
  CHECK(results(o.db) == before);
  { std::ofstream(shardDb(o.db, 1, 4), std::ios::trunc | std::ios::binary) << good; }

  const MergeSummary m = mergeShards(o.db);
  CHECK(m.shards == 4);
  CHECK(m.points == 10);
  Options local = o;
  local.db = dir / "local.db";
  run(s, local);
  CHECK(results(o.db) == results(local.db));
  {
    Store merged(o.db);
    Statement q = merged.db().prepare("SELECT count(*) FROM points WHERE slurm_job_id = '77' AND slurm_task_id >= 0");
    REQUIRE(q.step());
    CHECK(q.getInt(0) == 10);
    Statement p = merged.db().prepare("SELECT count(*) FROM pareto WHERE objectives = 'max:fps,min:lut'");
    REQUIRE(p.step());
    CHECK(p.getInt(0) > 0);
  }
  // Merging again changes nothing.
  mergeShards(o.db);
  CHECK(results(o.db) == results(local.db));
}

TEST_CASE("a results database written before cluster sweeps gains the Slurm id columns", "[unit][sweep]") {
  test::TempDir dir;
  const std::string db = dir / "old.db";
  {
    Store st(db);
    st.db().exec("ALTER TABLE points DROP COLUMN slurm_job_id");
    st.db().exec("ALTER TABLE points DROP COLUMN slurm_task_id");
  }
  Store st(db);
  Statement q = st.db().prepare("SELECT count(*) FROM pragma_table_info('points') WHERE name IN "
                                "('slurm_job_id', 'slurm_task_id')");
  REQUIRE(q.step());
  CHECK(q.getInt(0) == 2);
}
