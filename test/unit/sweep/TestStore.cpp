// A map-fidelity sweep into the results database, in process: the point list, identities (stable,
// version-dependent, equal for equal effective configs), map results with layer and FIFO rows,
// rejections per constraint, failures (a corrupt model, a design that cannot be mapped) that do
// not stop the sweep, resume (nothing redone), export and Pareto.
#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>

#include "TempDir.hpp"
#include "mpsim/sweep/Results.hpp"
#include "mpsim/sweep/Runner.hpp"

using namespace mpsim;
using namespace mpsim::sweep;

namespace {
int64_t count(Store& st, const std::string& sql) {
  Statement q = st.db().prepare(sql);
  REQUIRE(q.step());
  return q.getInt(0);
}

const char* kSweep = R"(base:
  network: {model: tfc, quant: {weights: 1, activations: 1}}
  hardware: {device: pynq-z1}
  mapping:
    mode: manual
    layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 16, simd: 32}, fc2: {pe: 16, simd: 32}, fc3: {pe: 10, simd: 8}}
sweep:
  - grid:
      hardware.clock_mhz: [100, 100.0, 150]
      mapping.layers.fc0.pe: [4, 16, 64]
  - grid:
      network.model: [corrupt.yaml]
  - grid:
      mapping.layers.fc0.pe: [128]
constraints: ['resources.utilization.lut <= 0.5']
objectives: [max:fps, min:lut]
)";
} // namespace

TEST_CASE("a map-fidelity sweep records every point, its failures, and resumes", "[unit][sweep]") {
  test::TempDir dir;
  dir.write("corrupt.yaml", "layers: [this is: not a network\n");
  const Sweep s = loadSweepText(kSweep, dir / "s.yaml", dir.path.string());
  REQUIRE(s.points.size() == 9 + 1 + 1);
  const auto pts = prepare(s, "1.0");
  // 100 and 100.0 are the same effective config: one point.
  REQUIRE(pts.size() == 6 + 1 + 1);
  std::set<std::string> hashes;
  for (const auto& p : pts) hashes.insert(p.hash);
  CHECK(hashes.size() == pts.size());
  const auto again = prepare(s, "1.0"), other = prepare(s, "1.1");
  for (size_t i = 0; i < pts.size(); ++i) {
    CHECK(again[i].hash == pts[i].hash);
    CHECK(other[i].hash != pts[i].hash);
    CHECK(other[i].config_hash == pts[i].config_hash);
  }
  CHECK(pts[6].load_error.find("corrupt.yaml") != std::string::npos);

  Options o;
  o.db = dir / "s.db";
  o.fidelity = Fidelity::Map;
  o.version = "1.0";
  const Summary sum = run(s, o);
  CHECK(sum.points == 11);
  CHECK(sum.duplicates == 3);
  CHECK(sum.added == 8);
  Store st(o.db);
  CHECK(count(st, "SELECT count(*) FROM points") == 8);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'pending'") == 0);
  // The corrupt model and the illegal folding (pe 128 exceeds fc0's 64 outputs) fail alone,
  // each with its reason.
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'failed'") == 2);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'failed' AND error LIKE '%corrupt.yaml%'") == 1);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'failed' AND error LIKE '%fc0%'") == 1);
  const int64_t mapped = count(st, "SELECT count(*) FROM points WHERE status = 'mapped'");
  const int64_t rejected = count(st, "SELECT count(*) FROM points WHERE status = 'rejected'");
  CHECK(mapped + rejected == 6);
  CHECK(rejected == int64_t(sum.rejections.count("resources.utilization.lut <= 0.5")
                                ? sum.rejections.at("resources.utilization.lut <= 0.5")
                                : 0));
  // Every rejected point breaks its constraint, every accepted one keeps it.
  CHECK(count(st, "SELECT count(*) FROM points p JOIN results r ON r.point_id = p.id WHERE p.status = 'rejected' AND "
                  "r.util_lut <= 0.5") == 0);
  CHECK(count(st, "SELECT count(*) FROM points p JOIN results r ON r.point_id = p.id WHERE p.status = 'mapped' AND "
                  "r.util_lut > 0.5") == 0);
  CHECK(count(st, "SELECT count(*) FROM results WHERE fidelity = 'map'") == 6);
  CHECK(count(st, "SELECT count(*) FROM results WHERE fps > 0 AND lut > 0 AND cycles_per_frame > 0") == 6);
  // The swept values as columns; layer and FIFO rows with units.
  CHECK(
      count(st, "SELECT count(*) FROM points WHERE \"hardware.clock_mhz\" = 150 AND \"mapping.layers.fc0.pe\" = 64") ==
      1);
  CHECK(count(st, "SELECT count(DISTINCT point_id) FROM layers") == 6);
  CHECK(count(st, "SELECT count(*) FROM layers WHERE name = 'fc0' AND pe IN (4, 16, 64)") == 6);
  CHECK(count(st, "SELECT count(DISTINCT point_id) FROM fifos") == 6);
  CHECK(count(st, "SELECT count(*) FROM units WHERE tbl = 'results' AND col = 'fps' AND unit = 'frames/s'") == 1);
  // Higher PE, higher frames/s at the same clock.
  CHECK(count(st,
              "SELECT (SELECT fps FROM results r JOIN points p ON p.id = r.point_id WHERE "
              "\"hardware.clock_mhz\" = 100 AND \"mapping.layers.fc0.pe\" = 16) > (SELECT fps FROM results r JOIN "
              "points p ON p.id = r.point_id WHERE \"hardware.clock_mhz\" = 100 AND \"mapping.layers.fc0.pe\" = 4)") ==
        1);
  // The stored Pareto set is the non-dominated set of the accepted points.
  CHECK(!sum.pareto.empty());
  CHECK(count(st, "SELECT count(*) FROM pareto WHERE objectives = 'max:fps,min:lut'") == int64_t(sum.pareto.size()));

  // Export is deterministic; a second run redoes nothing.
  const auto rows = exportRows(st);
  REQUIRE(rows.size() == 8);
  CHECK(rows[0]["fidelity"] == "map");
  CHECK(rows[0].contains("hardware.clock_mhz"));
  std::ostringstream csv1;
  writeCsv(csv1, rows);
  const std::string firstFinished = [&] {
    Statement q = st.db().prepare("SELECT group_concat(finished_at || map_wall_s) FROM points");
    REQUIRE(q.step());
    return q.getText(0);
  }();
  const Summary again2 = run(s, o);
  CHECK(again2.added == 0);
  {
    Statement q = st.db().prepare("SELECT group_concat(finished_at || map_wall_s) FROM points");
    REQUIRE(q.step());
    CHECK(q.getText(0) == firstFinished); // nothing was mapped again
  }
  std::ostringstream csv2;
  writeCsv(csv2, exportRows(st));
  CHECK(csv1.str() == csv2.str());
  // --retry 1 maps the failed points once more (they fail again, with one more attempt recorded).
  o.retry = 1;
  run(s, o);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'failed' AND attempts = 2") == 2);

  // Pareto on other objectives, and compare of a database with itself.
  const auto front = pareto(st, {parseObjective("max:fps"), parseObjective("min:dsp")});
  CHECK(!front.empty());
  const Comparison same = compare(st, st, {});
  CHECK(same.differences.empty());
  CHECK(same.matched == 8);
}

TEST_CASE("compare reports metrics that moved beyond their tolerance", "[unit][sweep]") {
  test::TempDir dir;
  const std::string text = R"(base:
  network: {model: tfc, quant: {weights: 1, activations: 1}}
  hardware: {device: pynq-z1}
  mapping:
    mode: manual
    layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 16, simd: 32}, fc2: {pe: 16, simd: 32}, fc3: {pe: 10, simd: 8}}
sweep:
  - grid: {hardware.clock_mhz: [100, 200]}
)";
  const Sweep s = loadSweepText(text, dir / "s.yaml", dir.path.string());
  Options o;
  o.fidelity = Fidelity::Map;
  o.version = "1.0";
  o.db = dir / "a.db";
  run(s, o);
  o.db = dir / "b.db";
  o.version = "1.1"; // another version: other point hashes, the same config hashes
  run(s, o);
  Store a(dir / "a.db"), b(dir / "b.db");
  CHECK(compare(a, b, {}).differences.empty());
  // Change one stored metric in b by 2 %.
  b.db().exec("UPDATE results SET fps = fps * 1.02 WHERE point_id = 1");
  const Comparison c = compare(a, b, {});
  REQUIRE(c.differences.size() == 1);
  CHECK(c.differences[0].find(": fps ") != std::string::npos);
  std::map<std::string, Tolerance> tol;
  parseTolerances("fps=rel:0.03,lut=abs:10", tol);
  CHECK(compare(a, b, tol).differences.empty());
  tol.clear();
  parseTolerances("summary.fps=rel:0.01", tol);
  CHECK(compare(a, b, tol).differences.size() == 1);
  CHECK_THROWS_AS(parseTolerances("speed=rel:1", tol), std::invalid_argument);
  CHECK_THROWS_AS(parseTolerances("fps=rel:-1", tol), std::invalid_argument);
  CHECK_THROWS_AS(parseTolerances("fps", tol), std::invalid_argument);
}

TEST_CASE("a database holding two sweep files' points: each run works on its own", "[unit][sweep]") {
  test::TempDir dir;
  auto sweepOf = [&](const std::string& model, const std::string& clocks) {
    return "base:\n  network: {model: " + model + "}\n  hardware: {device: zcu104}\n  mapping: {mode: auto}\n" +
           "sweep:\n  - grid: {hardware.clock_mhz: [" + clocks + "]}\n";
  };
  const Sweep a = loadSweepText(sweepOf("tfc", "100, 150"), dir / "a.yaml", dir.path.string());
  const Sweep b =
      loadSweepText(sweepOf("cnv, quant: {weights: 2, activations: 2}", "100"), dir / "b.yaml", dir.path.string());
  Options o;
  o.fidelity = Fidelity::Map;
  o.version = "1.0";
  o.db = dir / "ab.db";
  run(a, o);
  Store st(o.db);
  // A point of a left pending (as if a killed run had not reached it) is not b's to map.
  st.db().exec("UPDATE points SET status = 'pending' WHERE id = 2");
  const Summary sb = run(b, o);
  CHECK(sb.added == 1);
  CHECK(count(st, "SELECT count(*) FROM points") == 3);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'pending' AND id = 2") == 1);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'mapped' AND id = 3") == 1);
  run(a, o);
  CHECK(count(st, "SELECT count(*) FROM points WHERE status = 'mapped'") == 3);
}

TEST_CASE("results record fits_upper, and a database written before that column gets it added", "[unit][sweep]") {
  test::TempDir dir;
  dir.write("corrupt.yaml", "layers: [this is: not a network\n");
  const Sweep s = loadSweepText(kSweep, dir / "s.yaml", dir.path.string());
  Options o;
  o.db = dir / "s.db";
  o.fidelity = Fidelity::Map;
  o.version = "1.0";
  run(s, o);
  {
    Store st(o.db);
    // The tfc points fit at the estimate; fits_upper is 0 or 1 where fits is recorded.
    CHECK(count(st, "SELECT count(*) FROM results WHERE fits IS NOT NULL AND fits_upper IS NULL") == 0);
    CHECK(count(st, "SELECT count(*) FROM results WHERE fits_upper = 1 AND fits = 0") == 0);
    CHECK(count(st, "SELECT count(*) FROM units WHERE tbl = 'results' AND col = 'fits_upper'") == 1);
    // As an earlier mpsim wrote it: no fits_upper column.
    st.db().exec("ALTER TABLE results DROP COLUMN fits_upper");
    st.db().exec("DELETE FROM units WHERE col = 'fits_upper'");
  }
  Store st(o.db);
  CHECK(count(st, "SELECT count(*) FROM units WHERE tbl = 'results' AND col = 'fits_upper'") == 1);
  CHECK(count(st, "SELECT count(*) FROM results WHERE fits_upper IS NULL") > 0);
  // Against a database written now (fits_upper recorded): the NULLs are no difference.
  Options n = o;
  n.db = dir / "t.db";
  run(s, n);
  Store fresh(n.db);
  CHECK(count(fresh, "SELECT count(*) FROM results WHERE fits IS NOT NULL AND fits_upper IS NULL") == 0);
  const auto c = compare(st, fresh, {}, Tolerance{1e-9, 0});
  CHECK(c.matched > 0);
  CHECK(c.differences.empty());
}
