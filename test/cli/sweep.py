#!/usr/bin/python3
"""`mpsim sweep` end to end with the real binary (docs/sweeps.md).

  sweep.py MPSIM SRC WORKDIR part     parts: basic kill kill300 failures report

- basic:    the shipped examples (map, screen), the results database, resume, export, pareto,
            compare (exit 1 when a metric moved), an invalid sweep file refused before anything runs
- kill:     kill -9 of a simulation sweep after 3, 8 and 13 points are in the database and of a map
            sweep in its map stage, then resume: every point exactly once, the metrics identical to an
            uninterrupted run
- kill300:  the same for a 300-point simulation sweep killed at 5 moments (CTest label slow)
- failures: a deadlocking point, a point that does not fit, a corrupt model, a timed-out point: each
            recorded with its status and reason while the others finish
"""
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import os
import signal
import sqlite3
import subprocess
import time

from harness import MPSIM, SRC, check, chromium_probe, fresh, mpsim, run_part


def query(db, sql):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def one(db, sql):
    return query(db, sql)[0][0]


def basic():
    w = fresh("basic")
    sweeps = os.path.join(SRC, "configs/sweeps")
    # The example, map fidelity.
    db = os.path.join(w, "r18.db")
    r = mpsim("sweep", os.path.join(sweeps, "resnet18_clock_bits.yaml"), "--fidelity", "map", "--db", db)
    check(r.returncode == 0, "r18 map sweep exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    n = one(db, "SELECT count(*) FROM points")
    check(100 <= n <= 109, "r18: %d distinct points" % n)
    # In auto mode the scheduler refuses a design that cannot fit even fully folded (8-bit
    # activations on the ZCU102): those points fail with that reason; the others are mapped, and
    # rejected by the constraint when they do not fit the budget.
    check(one(db, "SELECT count(*) FROM points WHERE status NOT IN ('mapped', 'rejected') AND NOT "
                  "(status = 'failed' AND error LIKE '%resnet18 does not fit xczu9eg%')") == 0,
          "r18: every point mapped, rejected or unfit")
    unfit = one(db, "SELECT count(*) FROM points WHERE status = 'failed'")
    check(0 < unfit < n, "r18: %d of %d points cannot fit at all" % (unfit, n))
    check(one(db, "SELECT count(*) FROM results WHERE fidelity = 'map'") == n - unfit, "r18: one map result per point")
    check(one(db, "SELECT count(*) FROM points p JOIN results r ON r.point_id = p.id "
                  "WHERE p.status = 'rejected' AND r.fits = 1") == 0, "r18: rejected points do not fit")
    check(one(db, "SELECT count(*) FROM points p JOIN results r ON r.point_id = p.id "
                  "WHERE p.status = 'mapped' AND r.fits = 0") == 0, "r18: accepted points fit")
    check(one(db, "SELECT value FROM meta WHERE key = 'schema'") == "mpsim.sweep/1", "schema recorded")
    check(one(db, "PRAGMA journal_mode") == "wal", "WAL mode")
    check("pareto:" in r.stdout, "summary printed: " + r.stdout)
    # Resume: nothing new, nothing redone.
    before = query(db, "SELECT id, finished_at, map_wall_s FROM points ORDER BY id")
    r2 = mpsim("-q", "sweep", os.path.join(sweeps, "resnet18_clock_bits.yaml"), "--fidelity", "map", "--db", db)
    check(r2.returncode == 0 and " 0 new in " in r2.stdout, "r18 resume: " + r2.stdout + r2.stderr)
    check(query(db, "SELECT id, finished_at, map_wall_s FROM points ORDER BY id") == before, "resume redid nothing")
    # Export: CSV and JSON with one row per point, deterministic.
    c1, c2 = mpsim("sweep", "export", db, "--csv"), mpsim("sweep", "export", db, "--csv")
    check(c1.returncode == 0 and c1.stdout == c2.stdout, "export --csv deterministic")
    table = list(csv.reader(io.StringIO(c1.stdout)))
    check(len(table) == n + 1 and table[0][:6] == ["id", "hash", "status", "sim_status", "fidelity",
                                                   "hardware.clock_mhz"], "csv header and rows")
    check(all(len(r) == len(table[0]) for r in table), "csv rows as wide as the header")
    j = mpsim("sweep", "export", db, "--json", "-o", os.path.join(w, "r18.json"))
    rows = json.load(open(os.path.join(w, "r18.json")))
    check(j.returncode == 0 and len(rows) == n and all("fps" in x for x in rows), "export --json")
    check(sum(1 for x in rows if x["fps"] is not None) == n - unfit, "export: metrics of the mapped points")
    # Pareto: printed and stored; every member non-dominated among the accepted points.
    p = mpsim("sweep", "pareto", db, "--objectives", "max:fps,min:lut", "--json")
    front = json.loads(p.stdout) if p.returncode == 0 else []
    check(len(front) >= 1, "pareto set: " + p.stderr)
    acc = [x for x in rows if x["status"] == "mapped"]
    for f in front:
        dom = [x for x in acc if x["fps"] >= f["fps"] and x["lut"] <= f["lut"] and
               (x["fps"] > f["fps"] or x["lut"] < f["lut"])]
        check(not dom, "pareto member %d is dominated" % f["id"])
    check(one(db, "SELECT count(*) FROM pareto WHERE objectives = 'max:fps,min:lut'") == len(front), "pareto stored")
    # Compare: identical databases match; a moved metric is reported with exit 1.
    db2 = os.path.join(w, "r18-copy.db")
    con = sqlite3.connect(db)
    con.execute("VACUUM INTO ?", (db2,))
    con.close()
    c = mpsim("sweep", "compare", db, db2)
    check(c.returncode == 0 and "match:" in c.stdout, "compare equal: " + c.stdout + c.stderr)
    con = sqlite3.connect(db2)
    con.execute("UPDATE results SET fps = fps * 1.05 WHERE point_id = (SELECT min(point_id) FROM results)")
    con.commit()
    con.close()
    c = mpsim("sweep", "compare", db, db2, "--tol", "fps=rel:0.01")
    check(c.returncode == 1 and ": fps " in c.stdout, "compare moved: %d %s" % (c.returncode, c.stdout[-500:]))
    c = mpsim("sweep", "compare", db, db2, "--tol", "fps=rel:0.1")
    check(c.returncode == 0, "compare within tolerance: " + c.stdout[-500:])
    # Screen (default fidelity): map all, simulate the Pareto set and the top K.
    db3 = os.path.join(w, "cnv.db")
    r = mpsim("-q", "sweep", os.path.join(sweeps, "cnv_folding.yaml"), "--db", db3, "-j", "2", "--simulate-top", "1")
    check(r.returncode == 0, "cnv screen exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    sims = one(db3, "SELECT count(*) FROM results WHERE fidelity = 'sim' AND status = 'done'")
    mapped = one(db3, "SELECT count(*) FROM points WHERE status = 'mapped'")
    check(1 <= sims <= mapped, "screen simulated %d of %d accepted points" % (sims, mapped))
    check(one(db3, "SELECT count(*) FROM points WHERE sim_status IS NOT NULL AND status != 'mapped'") == 0,
          "only accepted points simulated")
    check(one(db3, "SELECT count(*) FROM layers WHERE fidelity = 'sim' AND busy > 0") > 0, "sim layer rows")
    check(one(db3, "SELECT count(*) FROM fifos WHERE fidelity = 'sim' AND max_occupancy >= 0") > 0, "sim FIFO rows")
    check(not os.path.exists(db3 + ".work"), "worker files removed")
    # The HTML report: self-contained (no external references), one circle per plotted point.
    html = os.path.join(w, "cnv.html")
    r = mpsim("sweep", "report", db3, "-o", html, "--color", "mapping.layers.conv0.pe")
    check(r.returncode == 0, "report: " + r.stderr)
    page = open(html).read() if os.path.exists(html) else ""
    start = page.find("<svg xmlns")
    svg = page[start:page.find("</svg>", start) + 6]
    try:
        root = ET.fromstring(svg)
        circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if "point" in c.get("class", "")]
    except ET.ParseError as e:
        circles = []
        check(False, "report SVG is not well-formed: %s" % e)
    plotted = one(db3, "SELECT count(*) FROM points p JOIN results r ON r.point_id = p.id AND r.fidelity = "
                       "COALESCE((SELECT 'sim' FROM results x WHERE x.point_id = p.id AND x.fidelity = 'sim'), 'map') "
                       "WHERE r.fps IS NOT NULL AND r.lut IS NOT NULL")
    check(len(circles) == plotted and plotted > 0, "report: %d circles for %d points" % (len(circles), plotted))
    check(sum(1 for c in circles if "pareto" in c.get("class")) >= 1, "report marks the Pareto front")
    external = [u for u in re.findall(r"(?:src|href)\s*=|https?://[^\s\"']*", page) if "www.w3.org/2000/svg" not in u]
    check(not external, "report is self-contained: %s" % external[:3])
    check(page.count("<tr>") == one(db3, "SELECT count(*) FROM points") + 1, "report table: one row per point")
    # An invalid sweep file is refused before anything runs: no database.
    bad = os.path.join(w, "bad.yaml")
    open(bad, "w").write("base: %s/configs/examples/resnet18_zcu102.yaml\nsweep:\n  - grid:\n"
                         "      network.quant.weights: [4, 40]\n" % SRC)
    r = mpsim("sweep", bad, "--fidelity", "map")
    check(r.returncode == 3 and "bad.yaml:4:34: sweep[0].grid.network.quant.weights = 40" in r.stderr,
          "invalid sweep file: %d %s" % (r.returncode, r.stderr))
    check(not os.path.exists(os.path.join(w, "bad.db")), "no database for an invalid sweep file")
    r = mpsim("sweep", "export", os.path.join(w, "none.db"), "--csv")
    check(r.returncode == 3, "export of a missing database")
    r = mpsim("sweep", os.path.join(sweeps, "cnv_folding.yaml"), "--fidelity", "fast")
    check(r.returncode == 2 and "valid: map, sim, screen" in r.stderr, "bad --fidelity: " + r.stderr)


KILL_SWEEP = """base:
  network: {model: tfc, quant: {weights: 1, activations: 1}}
  hardware: {device: pynq-z1}
  mapping:
    mode: manual
    layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 16, simd: 32}, fc2: {pe: 16, simd: 32}, fc3: {pe: 10, simd: 8}}
  simulation: {frames: 2}
sweep:
  - grid:
      hardware.clock_mhz: [100, 125, 150, 175, 200, 225]
      mapping.layers.fc1.pe: [2, 4, 8, 16]
"""


def kill_at(cmd, db, sql, marks):
    """Starts cmd, kills it with SIGKILL once `sql` on db reaches each mark in turn (restarting it after
    each kill). Returns how many kills happened before the sweep finished on its own."""
    kills = 0
    for mark in marks:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None:
            try:
                done = one(db, sql) if os.path.exists(db) else 0
            except sqlite3.OperationalError:
                done = 0  # the schema is not there yet
            if done >= mark:
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
                break
            time.sleep(0.01)
    return kills


def kill_sim(name, sweep_text, n, marks):
    """Kills a simulation sweep of n points once at each mark (points done), resumes it, and
    compares the database with an uninterrupted run's."""
    w = fresh(name)
    f = os.path.join(w, "k.yaml")
    open(f, "w").write(sweep_text)
    ref, db = os.path.join(w, "ref.db"), os.path.join(w, "k.db")
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", ref)
    check(r.returncode == 0, "reference run: " + r.stderr[-2000:])
    check(one(ref, "SELECT count(*) FROM points WHERE sim_status = 'done'") == n, "reference: %d points simulated" % n)
    cmd = [MPSIM, "-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db]
    kills = kill_at(cmd, db, "SELECT count(*) FROM points WHERE sim_status = 'done'", marks)
    check(kills >= len(marks) - 1, "the sweep was killed %d times" % kills)
    print("simulation sweep killed %d times" % kills)
    r = mpsim(*cmd[1:])
    check(r.returncode == 0, "resumed run: " + r.stderr[-2000:])
    check(one(db, "SELECT count(*) FROM points") == n, "%d points" % n)
    check(one(db, "SELECT count(*) FROM points WHERE sim_status = 'done'") == n, "%d points simulated" % n)
    check(one(db, "SELECT count(*) FROM results WHERE fidelity = 'sim'") == n, "%d sim results, none twice" % n)
    check(one(db, "SELECT count(*) FROM (SELECT DISTINCT point_id, fidelity, idx FROM layers)") ==
          one(db, "SELECT count(*) FROM layers"), "no layer row twice")
    check(one(db, "SELECT count(*) FROM layers WHERE fidelity = 'sim'") ==
          one(ref, "SELECT count(*) FROM layers WHERE fidelity = 'sim'"), "as many layer rows as the reference")
    c = mpsim("sweep", "compare", ref, db)
    check(c.returncode == 0, "metrics identical to the uninterrupted run: " + c.stdout[-2000:])
    check(query(ref, "SELECT hash FROM points ORDER BY hash") == query(db, "SELECT hash FROM points ORDER BY hash"),
          "the same point identities")
    return w


def kill():
    w = kill_sim("kill", KILL_SWEEP, 24, [3, 8, 13])
    # SIGINT: stops at once (exit 130), the running points queued again, no worker files left.
    f, db = os.path.join(w, "k.yaml"), os.path.join(w, "int.db")
    p = subprocess.Popen([MPSIM, "-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while p.poll() is None:
        try:
            if one(db, "SELECT count(*) FROM points WHERE sim_status = 'done'") >= 2:
                break
        except (sqlite3.OperationalError, IndexError):
            pass
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    if check(p.returncode in (130, 0), "SIGINT: exit %s %s" % (p.returncode, err[-500:])) and p.returncode == 130:
        check(one(db, "SELECT count(*) FROM points WHERE sim_status = 'running'") == 0, "SIGINT: nothing left running")
        check(not os.path.exists(db + ".work"), "SIGINT: worker files removed")
    # Killed in the map stage (batches commit every 0.5 s): resume maps the rest, nothing twice.
    sweeps = os.path.join(SRC, "configs/sweeps/resnet18_clock_bits.yaml")
    mref, mdb = os.path.join(w, "mref.db"), os.path.join(w, "m.db")
    r = mpsim("-q", "sweep", sweeps, "--fidelity", "map", "--db", mref)
    check(r.returncode == 0, "map reference: " + r.stderr[-1000:])
    cmd = [MPSIM, "-q", "sweep", sweeps, "--fidelity", "map", "--db", mdb]
    kills = kill_at(cmd, mdb, "SELECT count(*) FROM points WHERE status != 'pending'", [1, 40])
    check(kills == 2, "the map sweep was killed %d times" % kills)
    r = mpsim(*cmd[1:])
    check(r.returncode == 0, "map resume: " + r.stderr[-1000:])
    c = mpsim("sweep", "compare", mref, mdb)
    check(c.returncode == 0, "map sweep identical after kills: " + c.stdout[-2000:])
    check(one(mdb, "SELECT count(*) FROM results") == one(mref, "SELECT count(*) FROM results"), "map results")


def failures_part():
    w = fresh("failures")
    open(os.path.join(w, "corrupt.yaml"), "w").write("layers: [{name: a, op: conv, inputs: [nowhere]}\n")
    open(os.path.join(w, "corrupt.onnx"), "wb").write(bytes(range(256)) * 4)
    base = os.path.join(SRC, "configs/examples/resnet_block_small.yaml")
    f = os.path.join(w, "f.yaml")
    open(f, "w").write(f"""base: {base}
sweep:
  - grid:
      hardware.clock_mhz: [200, 250]
  - grid:
      mapping.fifos.shortcut_depth: [1]
  - grid:
      hardware.device: [{{name: tiny, lut: 2000, ff: 4000}}]
  - set: {{mapping.layers: {{}}}}
    grid:
      network.model: [{w}/corrupt.yaml, {w}/corrupt.onnx]
  - set: {{simulation.fast_forward: false}}  # simulate every frame: a run longer than --timeout
    grid:
      simulation.frames: [100000]
constraints: [resources.fits]
""")
    db = os.path.join(w, "f.db")
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db, "--timeout", "5")
    check(r.returncode == 0, "failures sweep exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    rows = {row[0]: row[1:] for row in query(db, "SELECT values_json, status, error, sim_status, sim_error, "
                                                "sim_exit_code FROM points")}
    print("\n".join("%s: %s" % (k, v) for k, v in sorted(rows.items())))

    def get(key, value):
        for k, v in rows.items():
            if json.loads(k).get(key) == value:
                return v
        return None

    for clk in (200, 250):
        v = get("hardware.clock_mhz", clk)
        check(v and v[0] == "mapped" and v[2] == "done", "clock %d simulated: %s" % (clk, v))
    v = get("mapping.fifos.shortcut_depth", 1)
    check(v and v[2] == "deadlock" and "deadlocked" in (v[3] or "") and v[4] == 4, "deadlock recorded: %s" % (v,))
    v = get("hardware.device", {"name": "tiny", "lut": 2000, "ff": 4000})
    check(v and v[0] == "rejected" and v[1] == "resources.fits", "not fitting: rejected: %s" % (v,))
    for m in ("corrupt.yaml", "corrupt.onnx"):
        v = get("network.model", os.path.join(w, m))
        check(v and v[0] == "failed" and m in (v[1] or ""), "corrupt model %s recorded: %s" % (m, v))
    v = get("simulation.frames", 100000)
    check(v and v[2] == "timeout" and "--timeout" in (v[3] or ""), "timeout recorded: %s" % (v,))
    # A deadlock is a result: its report is stored.
    rep = one(db, "SELECT report_json FROM results r JOIN points p ON p.id = r.point_id "
                  "WHERE r.fidelity = 'sim' AND p.sim_status = 'deadlock'")
    check(rep and json.loads(rep)["summary"]["status"] == "deadlock", "deadlock report stored")
    check(not os.path.exists(db + ".work"), "worker files removed")
    # --retry 2: the timed-out point is tried twice more within this run (the runner reads its
    # tasks a window at a time: a failed one comes back in the next pass over the database); the
    # points with a result are not simulated again.
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db, "--timeout", "1", "--retry", "2")
    check(r.returncode == 0, "retry run exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    att = {k: (st, a) for k, st, a in query(db, "SELECT values_json, sim_status, sim_attempts FROM points "
                                                             "WHERE sim_status IS NOT NULL")}
    tries = {k: v for k, v in att.items() if "simulation.frames" in k}
    check(list(tries.values()) == [("timeout", 3)], "timed-out point tried twice more: %s" % (att,))
    check(all(a == 0 for k, (st, a) in att.items() if st in ("done", "deadlock")), "results not redone: %s" % (att,))


def report():
    """The HTML report in headless Chromium: it renders, one mark per point, no console errors."""
    w = fresh("report")
    db = os.path.join(w, "c.db")
    r = mpsim("-q", "sweep", os.path.join(SRC, "configs/sweeps/cnv_folding.yaml"), "--fidelity", "map", "--db", db)
    check(r.returncode == 0, "map sweep: " + r.stderr[-1000:])
    html = os.path.join(w, "c.html")
    r = mpsim("sweep", "report", db, "-o", html)
    check(r.returncode == 0, "report: " + r.stderr)
    n = one(db, "SELECT count(*) FROM results WHERE fps IS NOT NULL AND lut IS NOT NULL")
    # The DOM after the page's script ran, with a click on a header to sort the table by it.
    got = chromium_probe(w, html, "'circles=' + circles + ' first=' + first",
                         js_setup="var circles = document.querySelectorAll('#scatter circle.point').length; "
                                  "var th = document.querySelectorAll('#points th')[0]; th.click(); th.click(); "
                                  "var first = document.querySelector('#points tbody tr').cells[0].textContent;",
                         window="900,1200", shot_name="c.png")
    m = re.fullmatch(r"circles=(\d+) first=(\d+) errors=(\d+)", got or "")
    check(m is not None, "the probe's answer: %r" % got)
    if m:
        check(int(m.group(1)) == n, "one mark per point: %s of %d" % (m.group(1), n))
        check(int(m.group(2)) == one(db, "SELECT max(id) FROM points"), "the table sorts (descending id first)")
        check(m.group(3) == "0", "no script errors")


def kill300():
    """The issue's acceptance: a 300-point sweep killed at 5 moments, then resumed (label slow)."""
    text = KILL_SWEEP.replace("mapping.layers.fc1.pe: [2, 4, 8, 16]",
                              "mapping.layers.fc1.pe: [2, 4, 8, 16, 32]\n      mapping.layers.fc2.pe: [1, 2, 4, 8, 16, 32, 64, 3, 5, 7]")
    kill_sim("kill300", text, 300, [20, 80, 140, 200, 260])


run_part({"basic": basic, "kill": kill, "kill300": kill300, "failures": failures_part, "report": report},
         ok="all checks passed")
