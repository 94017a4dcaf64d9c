#!/usr/bin/python3
"""Cluster sweeps (`mpsim sweep --slurm`, docs/slurm.md) end to end with the real binary.

  slurm.py MPSIM SRC WORKDIR part     parts: dryrun errors merge sigterm cluster

- dryrun:  --slurm --dry-run: the plan and the batch scripts (array, max parallel, the running
           binary, the sweep file, the fidelity options, #SBATCH lines, prolog), valid shell
- errors:  no sbatch on PATH; an sbatch that rejects the script (its message shown); bad options
- merge:   shards run by hand (--shard i/K), a corrupt shard refused by name at merge with the
           database unchanged, status per shard, resume lists only the shard with work left, the
           merged database equal to a local -j 2 run
- sigterm: a shard task stopped by SIGTERM (what scancel and a time limit send), to the process
           alone and to its whole process group: exit 143, its in-flight points 'killed' with the
           job and task ids, the shard database intact; the rerun finishes the shard
- cluster: on a real single-node Slurm (CTest runs it inside scripts/slurm-test-cluster.sh, labels
           slow;slurm): a 30-point simulation sweep as an array of 4 tasks, 2 at a time; one task
           cancelled with scancel mid-way (its points 'killed' with the job and task ids); rerun
           submits only that shard; the merged database equals a local -j 2 run
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time

from harness import MPSIM, check, fresh, mpsim, run_part

SWEEP = """base:
  network: {model: tfc, quant: {weights: 1, activations: 1}}
  hardware: {device: pynq-z1}
  mapping:
    mode: manual
    layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 16, simd: 32}, fc2: {pe: 16, simd: 32}, fc3: {pe: 10, simd: 8}}
  simulation: {frames: FRAMES, fast_forward: false}  # every frame simulated: runs long enough to be killed
sweep:
  - grid:
      hardware.clock_mhz: [100, 125, 150, 175, 200, 225]
      mapping.layers.fc1.pe: [2, 4, 8, 16, 32]
objectives: [max:fps, min:lut]
"""

# Compared between a merged and a local database (by point hash): everything but timestamps, host,
# wall times, the Slurm ids and the stored whole report (which holds wall-clock times).
POINT_COLS = ["status", "error", "attempts", "sim_status", "sim_error", "sim_exit_code", "sim_attempts",
              "values_json", "config_hash"]
SKIP_RESULT_COLS = {"point_id", "wall_s", "report_json"}


def sweep_file(w, frames):
    f = os.path.join(w, "s.yaml")
    open(f, "w").write(SWEEP.replace("FRAMES", str(frames)))
    return f


def query(db, sql, args=()):
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def content(db):
    """hash -> (point columns, {fidelity: result columns}, layer row count): what must equal."""
    con = sqlite3.connect(db, timeout=30)
    try:
        rcols = [r[1] for r in con.execute("PRAGMA table_info(results)") if r[1] not in SKIP_RESULT_COLS]
        out = {}
        for row in con.execute("SELECT id, hash, %s FROM points" % ", ".join(POINT_COLS)):
            res = {}
            for r in con.execute("SELECT %s FROM results WHERE point_id = ?" % ", ".join(rcols), (row[0],)):
                res[r[rcols.index("fidelity")]] = r
            layers = con.execute("SELECT count(*) FROM layers WHERE point_id = ?", (row[0],)).fetchone()[0]
            out[row[1]] = (row[2:], res, layers)
        return out
    finally:
        con.close()


def same_content(ref, db, what):
    a, b = content(ref), content(db)
    check(len(a) == 30 and set(a) == set(b), "%s: the same 30 point hashes (%d, %d)" % (what, len(a), len(b)))
    diff = [h for h in a if h in b and a[h] != b[h]]
    check(not diff, "%s: points equal to the local run; first difference: %s" %
          (what, (a[diff[0]], b[diff[0]]) if diff else ""))
    ea, eb = mpsim("sweep", "export", ref, "--csv"), mpsim("sweep", "export", db, "--csv")
    check(ea.returncode == 0 and ea.stdout == eb.stdout, "%s: mpsim sweep export --csv gives the same bytes" % what)
    c = mpsim("sweep", "compare", ref, db)
    check(c.returncode == 0, "%s: mpsim sweep compare: %s" % (what, c.stdout[-1000:]))
    check(query(ref, "SELECT objectives, fidelity, count(*) FROM pareto GROUP BY 1, 2") ==
          query(db, "SELECT objectives, fidelity, count(*) FROM pareto GROUP BY 1, 2"), "%s: Pareto sets" % what)


def dryrun():
    w = fresh("dryrun")
    f = sweep_file(w, 2)
    db = os.path.join(w, "s.db")
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--array-size", "4", "--max-parallel", "2",
              "--partition", "short", "--time", "0:20:00", "--mem", "2G", "--sbatch-arg=--account=proj",
              "--prolog", "module load gcc/12", "--timeout", "60", "--dry-run", "--db", db)
    check(r.returncode == 0 and "dry run: nothing submitted" in r.stdout, "dry run: %d %s %s" %
          (r.returncode, r.stdout, r.stderr[-1000:]))
    d = db + ".slurm"
    script = open(os.path.join(d, "array.sh")).read() if os.path.exists(os.path.join(d, "array.sh")) else ""
    print(script)
    exe = os.path.realpath(MPSIM)
    for want in ["#!/bin/bash\n", "#SBATCH --array=0-3%2\n", "#SBATCH --partition=short\n", "#SBATCH --time=0:20:00\n",
                 "#SBATCH --mem=2G\n", "#SBATCH --account=proj\n", "#SBATCH --cpus-per-task=1\n",
                 "#SBATCH --output=%s/logs/shard-%%a-job-%%A.log\n" % d, "\nmodule load gcc/12\n",
                 "\nexec '%s' sweep '%s' --db '%s' --fidelity sim -j 1 --timeout 60 --retry 0 "
                 "--shard \"${SLURM_ARRAY_TASK_ID}/4\"\n" % (exe, os.path.realpath(f), db)]:
        check(want in script, "array script has %r" % want)
    merge = open(os.path.join(d, "merge.sh")).read() if os.path.exists(os.path.join(d, "merge.sh")) else ""
    check("\nexec '%s' sweep merge '%s'\n" % (exe, db) in merge and "#SBATCH --array" not in merge,
          "merge script: " + merge)
    for s in ("array.sh", "merge.sh"):
        check(subprocess.run(["bash", "-n", os.path.join(d, s)]).returncode == 0, s + " is valid bash")
    plan = json.load(open(os.path.join(d, "plan.json")))
    shards = plan["shards"]
    check(len(shards) == 4 and sorted(len(x) for x in shards) == [7, 7, 8, 8], "plan: 30 points on 4 shards")
    hashes = sorted(h for x in shards for h in x)
    check(hashes == sorted(h for (h,) in query(db, "SELECT hash FROM points")), "plan: every point of the database")
    # The same sweep planned again (a fresh folder) gives the same plan: deterministic.
    db2 = os.path.join(w, "again.db")
    mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--dry-run", "--db", db2)
    check(json.load(open(db2 + ".slurm/plan.json"))["shards"] == shards, "the plan is deterministic")


def errors():
    w = fresh("errors")
    f = sweep_file(w, 2)
    db = os.path.join(w, "s.db")
    empty = os.path.join(w, "emptybin")
    os.makedirs(empty)
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--db", db, env=dict(os.environ, PATH=empty))
    check(r.returncode == 3 and "sbatch is not on PATH" in r.stderr and "--dry-run" in r.stderr,
          "no sbatch: %d %s" % (r.returncode, r.stderr))
    check(not os.path.exists(db) and not os.path.exists(db + ".slurm"), "no sbatch: nothing written")
    fake = os.path.join(w, "fakebin")
    os.makedirs(fake)
    sb = os.path.join(fake, "sbatch")
    open(sb, "w").write("#!/bin/sh\necho 'sbatch: error: Batch job submission failed: Invalid partition name "
                        "specified' >&2\nexit 1\n")
    os.chmod(sb, 0o755)
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--partition", "nope", "--db", db,
              env=dict(os.environ, PATH=fake + ":" + os.environ["PATH"]))
    check(r.returncode == 1 and "sbatch rejected" in r.stderr and "Invalid partition name specified" in r.stderr
          and "exit code 1" in r.stderr, "sbatch rejecting: %d %s" % (r.returncode, r.stderr))
    check(not os.path.exists(db + ".slurm/jobs.json"), "sbatch rejecting: no job recorded")
    for args, msg in [(["--fidelity", "screen", "--slurm"], "give --fidelity map or sim"),
                      (["--fidelity", "sim", "--array-size", "4"], "--array-size needs --slurm"),
                      (["--fidelity", "sim", "--slurm", "--array-size", "0"], "--array-size 0"),
                      (["--fidelity", "sim", "--shard", "4/4"], "--shard '4/4'"),
                      (["--fidelity", "sim", "--slurm", "--shard", "0/4"], "not both")]:
        r = mpsim("sweep", f, "--db", db, *args)
        check(r.returncode == 2 and msg in r.stderr, "%s: %d %s" % (args, r.returncode, r.stderr))
    r = mpsim("sweep", f, "--fidelity", "sim", "--shard", "0/4", "--db", os.path.join(w, "none.db"))
    check(r.returncode == 3 and "no shard plan" in r.stderr, "--shard without a plan: " + r.stderr)
    r = mpsim("sweep", "status", os.path.join(w, "none.db"))
    check(r.returncode == 3 and "no shard plan" in r.stderr, "status without a plan: " + r.stderr)


def merge():
    w = fresh("merge")
    f = sweep_file(w, 2)
    ref, db = os.path.join(w, "ref.db"), os.path.join(w, "s.db")
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", ref)
    check(r.returncode == 0, "local run: " + r.stderr[-1000:])
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--dry-run", "--db", db)
    check(r.returncode == 0, "dry run: " + r.stderr[-1000:])
    for i in range(4):
        r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "1", "--retry", "0", "--db", db, "--shard", "%d/4" % i,
                  env=dict(os.environ, SLURM_ARRAY_JOB_ID="4242", SLURM_ARRAY_TASK_ID=str(i)))
        check(r.returncode == 0, "shard %d: %s" % (i, r.stderr[-1000:]))
    shard = os.path.join(db + ".slurm", "shard-2-of-4.db")
    check(query(shard, "SELECT DISTINCT slurm_job_id, slurm_task_id FROM points") == [("4242", 2)],
          "the shard records its job and task ids")
    good = open(shard, "rb").read()
    open(shard, "wb").write(b"this is not an SQLite database" * 300)
    before = open(db, "rb").read()
    r = mpsim("sweep", "merge", db)
    check(r.returncode == 3 and "shard-2-of-4.db" in r.stderr and "corrupt" in r.stderr,
          "corrupt shard: %d %s" % (r.returncode, r.stderr))
    check(open(db, "rb").read() == before and query(db, "SELECT count(*) FROM results") == [(0,)],
          "corrupt shard: the database unchanged")
    r = mpsim("sweep", "status", db)
    check(r.returncode == 3 and "shard-2-of-4.db" in r.stderr, "status names the corrupt shard: " + r.stderr)
    # Without shard 2 the others merge; status and resume show shard 2 alone has work left.
    os.remove(shard)
    r = mpsim("sweep", "merge", db)
    check(r.returncode == 0 and "of 3 shard databases" in r.stdout and "1 shards have no database yet" in r.stdout,
          "merge of 3 shards: %s %s" % (r.stdout, r.stderr))
    r = mpsim("sweep", "status", db)
    print(r.stdout)
    rows = {int(m.group(1)): m.groups() for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*)$",
                                                              r.stdout, re.M)}
    check(r.returncode == 0 and len(rows) == 4, "status: 4 shards: " + r.stdout)
    if len(rows) == 4:
        check(rows[2][2] == "0" and rows[2][5] == rows[2][1] and "no database" in rows[2][6], "status: shard 2 pending")
        check(all(rows[i][2] == rows[i][1] and rows[i][6].strip() == "4242_%d" % i for i in (0, 1, 3)),
              "status: shards 0, 1, 3 done by job 4242")
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--dry-run", "--db", db)
    check(r.returncode == 0 and "shards with work left: 2\n" in r.stdout, "resume plans shard 2 only: " + r.stdout)
    check("#SBATCH --array=2\n" in open(db + ".slurm/array.sh").read(), "resume: --array=2")
    # The shard database back: merged, equal to the local run.
    open(shard, "wb").write(good)
    r = mpsim("sweep", "merge", db)
    check(r.returncode == 0 and "merged 30 points of 4 shard databases" in r.stdout, "merge: " + r.stdout + r.stderr)
    same_content(ref, db, "merged by hand")


def sigterm():
    w = fresh("sigterm")
    f = sweep_file(w, 80000)  # about 0.4 s per simulated point
    db = os.path.join(w, "s.db")
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--array-size", "2", "--dry-run", "--db", db)
    check(r.returncode == 0, "dry run: " + r.stderr[-1000:])
    shard = os.path.join(db + ".slurm", "shard-0-of-2.db")
    for group in (False, True):
        p = subprocess.Popen([MPSIM, "-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db, "--shard", "0/2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                             env=dict(os.environ, SLURM_ARRAY_JOB_ID="99", SLURM_ARRAY_TASK_ID="0"))
        # Stopped while two simulations are in flight and one more point is done than before.
        t0, done0 = time.time(), (query(shard, "SELECT count(*) FROM points WHERE sim_status = 'done'")[0][0]
                                  if group else 0)
        while p.poll() is None and time.time() - t0 < 60:
            try:
                done, running = query(shard, "SELECT count(sim_status = 'done' OR NULL), "
                                             "count(sim_status = 'running' OR NULL) FROM points")[0]
                if done > done0 and running == 2:
                    break
            except (sqlite3.Error, IndexError):
                pass
            time.sleep(0.01)
        if group:
            os.killpg(p.pid, signal.SIGTERM)  # as Slurm signals every process of the task
        else:
            p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        what = "SIGTERM to the process group" if group else "SIGTERM to the process"
        check(p.returncode == 143, "%s: exit %s %s" % (what, p.returncode, err[-500:]))
        killed = query(shard, "SELECT sim_error, slurm_job_id, slurm_task_id FROM points WHERE sim_status = 'killed'")
        check(killed and all("signal 15" in k[0] and "job 99, array task 0" in k[0] and k[1:] == ("99", 0)
                             for k in killed), "%s: in-flight points killed with the ids: %s" % (what, killed))
        check(query(shard, "SELECT count(*) FROM points WHERE sim_status IN ('failed', 'running')")[0][0] == 0,
              "%s: nothing failed or left running" % what)
        check(query(shard, "PRAGMA quick_check") == [("ok",)], "%s: the shard database is intact" % what)
        check(not os.path.exists(shard + ".work") or not os.listdir(shard + ".work"), "%s: no worker files" % what)
    r = mpsim("sweep", f, "--fidelity", "sim", "--slurm", "--array-size", "2", "--dry-run", "--db", db)
    check("shards with work left: 0-1\n" in r.stdout, "the stopped shard has work left: " + r.stdout)
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", db, "--shard", "0/2")
    check(r.returncode == 0 and query(shard, "SELECT count(*) FROM points WHERE sim_status != 'done'") == [(0,)],
          "the rerun finishes the shard: " + r.stderr[-500:])


def squeue(*args):
    r = subprocess.run(["squeue", "-h", "-r", *args], capture_output=True, text=True)
    return [line.split() for line in r.stdout.splitlines() if line.strip()]


def wait_idle(what, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if not squeue("-o", "%i %T"):
            return True
        time.sleep(0.2)
    check(False, "%s: the jobs ended within %d s: %s" % (what, timeout, squeue("-o", "%i %T %R")))
    return False


def submitted(r, what):
    m = re.search(r"submitted: array job (\d+), merge job (\d+)", r.stdout)
    check(r.returncode == 0 and m is not None, "%s: %d %s %s" % (what, r.returncode, r.stdout, r.stderr[-2000:]))
    return m.group(1) if m else None


def cluster():
    if not check(os.environ.get("SLURM_CONF") and subprocess.run(["sinfo"], capture_output=True).returncode == 0,
                 "a Slurm cluster to talk to (run inside scripts/slurm-test-cluster.sh)"):
        return
    t0 = time.time()
    w = fresh("cluster")
    f = sweep_file(w, 80000)  # about 0.4 s per simulated point
    ref, db = os.path.join(w, "ref.db"), os.path.join(w, "c.db")
    r = mpsim("-q", "sweep", f, "--fidelity", "sim", "-j", "2", "--db", ref)
    check(r.returncode == 0, "local run: " + r.stderr[-1000:])
    print("local -j 2 run: %.1f s" % (time.time() - t0))
    cmd = ["sweep", f, "--fidelity", "sim", "--slurm", "--array-size", "4", "--max-parallel", "2", "--db", db]
    job = submitted(mpsim(*cmd), "submit")
    if not job:
        return
    check("#SBATCH --array=0-3%2\n" in open(db + ".slurm/array.sh").read(), "array of 4, 2 at a time")
    # A running task whose shard has a simulated point: cancelled mid-way.
    victim, deadline = None, time.time() + 60
    while victim is None and time.time() < deadline:
        for jid, state in squeue("-j", job, "-o", "%i %T"):
            task = jid.split("_")[-1]
            shard = os.path.join(db + ".slurm", "shard-%s-of-4.db" % task)
            if state != "RUNNING" or not task.isdigit() or not os.path.exists(shard):
                continue
            try:
                done = query(shard, "SELECT count(*) FROM points WHERE sim_status = 'done'")[0][0]
                left = query(shard, "SELECT count(*) FROM points WHERE sim_status IN ('queued', 'running')")[0][0]
            except sqlite3.Error:
                continue
            if done >= 1 and left >= 2:
                victim = task
                break
        time.sleep(0.05)
    if not check(victim is not None, "a running task to cancel"):
        return
    st = mpsim("sweep", "status", db)  # while the array runs
    check(st.returncode == 0 and re.search(r"^\s*%s\s+\d+\s+[1-9]\d*\s+0\s+[01]\s+" % victim, st.stdout, re.M),
          "status while the array runs: %s %s" % (st.stdout, st.stderr))
    subprocess.run(["scancel", "%s_%s" % (job, victim)], check=True)
    print("cancelled task %s of array job %s" % (victim, job))
    if not wait_idle("first submission"):
        return
    shard = os.path.join(db + ".slurm", "shard-%s-of-4.db" % victim)
    killed = query(shard, "SELECT sim_status, sim_error, slurm_job_id, slurm_task_id FROM points "
                          "WHERE sim_status NOT IN ('done', 'deadlock')")
    print("cancelled shard:", killed)
    check(any(k[0] == "killed" and "signal 15" in k[1] and k[2] == job and k[3] == int(victim) for k in killed),
          "the cancelled task's in-flight points are 'killed' with job %s task %s" % (job, victim))
    check(query(db, "SELECT count(*) FROM points WHERE sim_status = 'killed' AND slurm_job_id = ?", (job,))[0][0] >= 1,
          "the merge job ran after the array (afterany) and merged the killed points")
    check(os.path.exists(os.path.join(db + ".slurm", "logs", "shard-%s-job-%s.log" % (victim, job))), "task log")
    st = mpsim("sweep", "status", db)
    print(st.stdout)
    line = re.search(r"^\s*%s\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)" % victim, st.stdout, re.M)
    check(st.returncode == 0 and line is not None and int(line.group(3)) >= 1, "status: the cancelled shard failed")
    # Resume: only the cancelled shard is submitted again.
    r = mpsim(*cmd)
    job2 = submitted(r, "resume")
    check("shards with work left: %s\n" % victim in r.stdout, "resume submits shard %s only: %s" % (victim, r.stdout))
    check("#SBATCH --array=%s%%2\n" % victim in open(db + ".slurm/array.sh").read(), "resume: --array=%s%%2" % victim)
    if not job2 or not wait_idle("resume"):
        return
    r = mpsim(*cmd)
    check(r.returncode == 0 and "nothing to submit" in r.stdout, "complete: nothing to submit: " + r.stdout)
    check(query(db, "SELECT count(*) FROM points WHERE sim_status = 'done'")[0][0] == 30, "30 points simulated")
    check(query(db, "SELECT count(*) FROM points WHERE slurm_job_id = ? AND slurm_task_id = ?", (job2, int(victim)))[0][0]
          >= 1, "the resumed points record job %s" % job2)
    same_content(ref, db, "merged by the cluster")
    print("cluster part: %.1f s" % (time.time() - t0))


run_part({"dryrun": dryrun, "errors": errors, "merge": merge, "sigterm": sigterm, "cluster": cluster}, ok="all checks passed")
