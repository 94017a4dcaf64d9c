#!/usr/bin/python3
"""Timelines and the HTML run report of `mpsim run` end to end (docs/timelines.md).

  timelines.py MPSIM SRC WORKDIR part     parts: trace stall vcd html errors progress

- trace:    --trace on the CNV example: the trace-event format (required fields per phase, monotone
            times per track, durations >= 0), one process per layer, FIFO counter maxima equal to the
            report's max_occupancy, frame markers; byte-identical on a second run; report.json
            identical to a run without --trace; --trace-frames / --trace-engines bound it
- stall:    acceptance: ResNet-18 with the first shortcut FIFO one above its deadlock minimum: the
            fork has blocked slices naming that FIFO, and its counter reaches the depth
- vcd:      --vcd: Debian gtkwave's vcd2fst converts it; parsed FIFO maxima equal the report's
- html:     --html and `mpsim report DIR` in headless Chromium: renders, one mark per engine and
            FIFO, the deadlock graph for a deadlocked run, no console errors, a screenshot
- errors:   bad --trace-frames, unknown --trace-engines pattern, options without --trace, an
            unwritable directory: non-zero exit naming the option, nothing half written
- progress: a plain progress line when stderr is not a terminal, a bar on a terminal (script(1)),
            nothing with -q; stdout holds only the summary
"""
import gzip
import json
import os
import re
import shutil
import subprocess

from harness import MPSIM, SRC, check, chromium_probe, fresh, mpsim, run_part

CNV = ["--set", "network.model=cnv", "--set", "hardware.device=pynq-z1", "--set", "mapping.mode=auto",
       "--frames", "3"]


def load(path):
    with open(path) as f:
        return json.load(f)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


REQUIRED = {"X": ["name", "ph", "ts", "dur", "pid", "tid"], "C": ["name", "ph", "ts", "pid", "args"],
            "i": ["name", "ph", "ts", "pid", "s"], "M": ["name", "ph", "pid", "args"]}


def validate(trace, what):
    """The trace-event format: known phases, their required fields, numbers, monotone times per track."""
    check(isinstance(trace, dict) and isinstance(trace.get("traceEvents"), list), what + ": traceEvents list")
    evs = trace.get("traceEvents", [])
    check(len(evs) > 0, what + ": events")
    last = {}
    bad = []
    for e in evs:
        ph = e.get("ph")
        if ph not in REQUIRED:
            bad.append("phase %r" % ph)
            continue
        for k in REQUIRED[ph]:
            if k not in e:
                bad.append("%s event without %s: %s" % (ph, k, e))
        if ph == "M":
            continue
        if not isinstance(e.get("ts"), (int, float)) or not isinstance(e.get("pid"), int):
            bad.append("ts/pid not numbers: %s" % e)
            continue
        if ph == "X":
            if not (isinstance(e["dur"], (int, float)) and e["dur"] >= 0):
                bad.append("negative dur: %s" % e)
            track = ("X", e["pid"], e["tid"])
            # slices on one thread never overlap: each begins at or after the previous end
            if track in last and e["ts"] < last[track] - 1e-9:
                bad.append("time goes back on %s: %s" % (track, e))
            last[track] = e["ts"] + e["dur"]
            continue
        if ph == "C":
            if not all(isinstance(v, (int, float)) for v in e["args"].values()):
                bad.append("counter value not a number: %s" % e)
            track = ("C", e["pid"], e["name"])
        else:
            track = ("i", e["pid"])
        if track in last and e["ts"] < last[track]:
            bad.append("time goes back on %s: %s" % (track, e))
        last[track] = e["ts"]
    check(not bad, what + ": trace-event format: %s" % bad[:5])
    return evs


def counters(evs, pid_name):
    pids = {e["pid"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"
            and e["args"]["name"].startswith(pid_name)}
    out = {}
    for e in evs:
        if e["ph"] == "C" and e["pid"] in pids:
            out.setdefault(e["name"], []).append((e["ts"], list(e["args"].values())[0]))
    return out


def threads(evs):
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "thread_name"}
    out = {}
    for e in evs:
        if e["ph"] == "X":
            out.setdefault(names.get((e["pid"], e["tid"]), "?"), []).append(e)
    return out


def trace():
    w = fresh("trace")
    a, b, plain = (os.path.join(w, n) for n in ("a", "b", "plain"))
    r = mpsim("-q", "run", *CNV, "--trace", "--out", a)
    check(r.returncode == 0, "run --trace: " + r.stderr[-2000:])
    r2 = mpsim("-q", "run", *CNV, "--trace", "--out", b)
    r3 = mpsim("-q", "run", *CNV, "--out", plain)
    check(r2.returncode == 0 and r3.returncode == 0, "second runs")
    t = os.path.join(a, "trace.json")
    if not check(os.path.exists(t), "trace.json written"):
        return
    check(read(t, "rb") == read(os.path.join(b, "trace.json"), "rb"), "trace.json byte-identical on a second run")
    gz = os.path.join(w, "gz")
    r = mpsim("-q", "run", *CNV, "--trace-gzip", "--out", gz)
    if check(r.returncode == 0 and os.path.exists(os.path.join(gz, "trace.json.gz")), "--trace-gzip: " + r.stderr[-500:]):
        check(not os.path.exists(os.path.join(gz, "trace.json")), "--trace-gzip: no trace.json beside it")
        packed = read(os.path.join(gz, "trace.json.gz"), "rb")
        check(packed[:2] == b"\x1f\x8b" and gzip.decompress(packed) == read(t, "rb"),
              "trace.json.gz is a gzip of the same trace.json")
        check(len(packed) < len(read(t, "rb")) / 3, "gzip shrinks it: %d of %d bytes" % (len(packed), len(read(t, "rb"))))
    check(read(os.path.join(a, "report.json"), "rb") == read(os.path.join(plain, "report.json"), "rb"),
          "report.json identical with and without --trace (tracing changes no cycle)")
    rep = load(os.path.join(a, "report.json"))
    evs = validate(load(t), "cnv trace")
    procs = [e["args"]["name"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"]
    layers = {l["layer"] for l in rep["layers"]}
    check(all(("layer " + l) in procs for l in layers), "one process per layer: %s" % procs[:10])
    th = threads(evs)
    check(set(th) == {l["name"] for l in rep["layers"]} or set(th) <= {l["name"] for l in rep["layers"]},
          "threads are engines")
    check(len(th) >= len(rep["layers"]) - 2, "slices on (nearly) every engine: %d of %d" % (len(th), len(rep["layers"])))
    names = {e["name"].split(":")[0] for e in evs if e["ph"] == "X"}
    check({"busy", "starved", "blocked"} <= names, "busy, starved and blocked slices: %s" % names)
    starved = [e for e in evs if e["ph"] == "X" and e["name"].startswith("starved: ")]
    fifo_names = {f["name"] for f in rep["fifos"]}
    check(starved and all(e["name"][len("starved: "):] in fifo_names for e in starved), "starved slices name a FIFO")
    occ = counters(evs, "FIFO occupancy")
    for f in rep["fifos"]:
        vals = [v for _, v in occ.get(f["name"], [])]
        check(vals and max(vals) == f["max_occupancy"],
              "FIFO %s: counter max %s = report max_occupancy %d" % (f["name"], max(vals) if vals else None,
                                                                      f["max_occupancy"]))
    dram = counters(evs, "DRAM bandwidth")
    check("total" in dram and "input" in dram, "DRAM bandwidth counters: %s" % list(dram)[:5])
    marks = [e["name"] for e in evs if e["ph"] == "i"]
    for f in range(3):
        check("frame %d entered" % f in marks and "frame %d left" % f in marks, "frame %d markers" % f)
    # Bounds: frames 1:1 and a subset of engines.
    c = os.path.join(w, "c")
    r = mpsim("-q", "run", *CNV, "--trace", "--trace-frames", "1:1", "--trace-engines", "conv1*,output",
              "--out", c)
    check(r.returncode == 0, "run with bounds: " + r.stderr[-2000:])
    if r.returncode == 0:
        evs2 = validate(load(os.path.join(c, "trace.json")), "bounded trace")
        th2 = set(threads(evs2))
        check(th2 and all(n.startswith("conv1") or n == "output" for n in th2), "only the selected engines: %s" % th2)
        marks2 = [e["name"] for e in evs2 if e["ph"] == "i"]
        check("frame 0 entered" not in marks2 and "frame 1 left" in marks2, "only frame 1's window: %s" % marks2)
        lo = min(e["ts"] for e in evs2 if e["ph"] in "XC")
        ent = [e["ts"] for e in evs if e["ph"] == "i" and e["name"] == "frame 1 entered"][0]
        check(lo >= ent - 1e-6, "nothing before frame 1 entered")
        check(os.path.getsize(os.path.join(c, "trace.json")) < os.path.getsize(t), "a smaller trace")


def stall():
    """Acceptance: a shortcut FIFO just above its deadlock minimum stalls the fork."""
    w = fresh("stall")
    base = load(os.path.join(SRC, "test/golden/resnet18_auto/expected.json"))
    fifo = [f for f in base["fifos"] if f["shortcut"]][0]
    name, depth = fifo["name"], fifo["min_depth"] + 1
    fork = name.split("->")[0]
    cfg = os.path.join(w, "run.yaml")
    with open(cfg, "w") as f:
        f.write("network: {model: resnet18, quant: {weights: 4, activations: 4}}\n"
                "hardware: {device: zcu102, clock_mhz: 200}\n"
                "mapping: {mode: auto, fifos: {depths: {\"%s\": %d}}}\n"
                "simulation: {frames: 3}\n" % (name, depth))
    out = os.path.join(w, "out")
    r = mpsim("-q", "run", cfg, "--trace", "--out", out)
    check(r.returncode == 0, "resnet18 with %s at depth %d: %s" % (name, depth, r.stderr[-2000:]))
    t = os.path.join(out, "trace.json")
    if not check(os.path.exists(t), "trace.json written"):
        return
    size = os.path.getsize(t)
    print("resnet18 trace: %.1f MB" % (size / 1e6))
    evs = validate(load(t), "resnet18 trace")
    rep = load(os.path.join(out, "report.json"))
    f = [x for x in rep["fifos"] if x["name"] == name][0]
    check(f["depth"] == depth, "the FIFO has depth %d" % depth)
    blocked = [e for e in threads(evs).get(fork, []) if e["name"] == "blocked: " + name]
    check(blocked, "the fork %s has blocked slices naming %s" % (fork, name))
    vals = [v for _, v in counters(evs, "FIFO occupancy").get(name, [])]
    check(vals and max(vals) == depth, "the FIFO's counter reaches its depth %d (max %s)" % (depth, max(vals) if vals else None))
    # Counter points are window maxima at the window's start: allow one window around each.
    tr = load(t)
    win = tr["otherData"]["resolution_cycles"] / tr["otherData"]["clock_mhz"]
    full_at = [ts for ts, v in counters(evs, "FIFO occupancy").get(name, []) if v == depth]
    overlap = [e for e in blocked if any(e["ts"] - win <= ts <= e["ts"] + e["dur"] + win for ts in full_at)]
    check(overlap, "blocked slices of the fork while its FIFO is full (%d slices, %d full points)"
          % (len(blocked), len(full_at)))
    # What if: explain --confirm finds the FIFO depths that remove the stall, and the run with them
    # simulates at the frame rate it states, that of ample FIFOs.
    r = mpsim("-q", "explain", cfg, "--confirm", "1", "--json")
    if not check(r.returncode == 0, "explain --confirm: " + r.stderr[-1000:]):
        return
    e = json.loads(r.stdout)
    fx = [s for s in e["steps"] if s["kind"] == "fifo"]
    if not check(len(fx) == 1, "one fifo step: %r" % [s["kind"] for s in e["steps"]]):
        return
    fx = fx[0]
    check(e["simulated_fps"] < e["stall_free_fps"] * 0.999,
          "the design as it is stalls: %.2f fps against %.2f with ample FIFOs" % (e["simulated_fps"], e["stall_free_fps"]))
    check(name in fx["set"] and fx["simulated_fps"] >= e["stall_free_fps"] * 0.999,
          "the step deepens %s and reaches the stall-free rate: %r" % (name, fx))
    check(all(v >= 0 for v in fx["extra"].values()), "deeper FIFOs cost no less: %r" % fx["extra"])
    check(fx["set"].count("mapping.fifos.depths[") <= 3, "only the FIFOs that need it grow: %r" % fx["set"])
    sets = []
    for kv in fx["set"].split(" "):
        sets += ["--set", kv]
    r = mpsim("-q", "run", cfg, *sets, "--frames", "5", "--out", os.path.join(w, "fixed"), "--json")  # 5: as explain simulates
    if check(r.returncode == 0, "run with the step's --set: " + r.stderr[-500:]):
        fps = json.loads(r.stdout)["summary"]["fps"]
        check(abs(fps - fx["simulated_fps"]) <= 0.001 * fps, "the run with the step: %.2f fps, stated %.2f"
              % (fps, fx["simulated_fps"]))


def parse_vcd(text):
    ids, values, t = {}, {}, 0
    for line in text.splitlines():
        m = re.match(r"\$comment (engine|fifo) (\S+) (.+) \$end", line)
        if m:
            ids[m.group(2)] = (m.group(1), m.group(3))
            continue
        if line.startswith("#"):
            nt = int(line[1:])
            assert nt >= t, "VCD time goes back"
            t = nt
        elif line.startswith("b"):
            v, i = line[1:].split()
            values.setdefault(i, []).append((t, int(v, 2)))
        elif line and line[0] in "01" and not line.startswith("$"):
            values.setdefault(line[1:], []).append((t, int(line[0])))
    return ids, values


def vcd():
    w = fresh("vcd")
    out = os.path.join(w, "out")
    r = mpsim("-q", "run", *CNV, "--vcd", "--out", out)
    check(r.returncode == 0, "run --vcd: " + r.stderr[-2000:])
    v = os.path.join(out, "trace.vcd")
    if not check(os.path.exists(v), "trace.vcd written"):
        return
    vcd2fst = shutil.which("vcd2fst")
    if check(vcd2fst is not None, "vcd2fst installed (gtkwave, scripts/setup.sh)"):
        fst = os.path.join(w, "trace.fst")
        c = subprocess.run([vcd2fst, v, fst], capture_output=True, text=True, timeout=300)
        check(c.returncode == 0 and os.path.getsize(fst) > 0, "vcd2fst converts it: %s" % c.stderr[-1000:])
    try:
        ids, values = parse_vcd(read(v))
    except AssertionError as e:
        check(False, str(e))
        return
    rep = load(os.path.join(out, "report.json"))
    by_name = {name: i for i, (kind, name) in ids.items() if kind == "fifo"}
    for f in rep["fifos"]:
        seq = values.get(by_name.get(f["name"], "?"), [])
        check(seq and max(x for _, x in seq) == f["max_occupancy"],
              "VCD %s: max %s = report %d" % (f["name"], max(x for _, x in seq) if seq else None, f["max_occupancy"]))
    states = {x for i, (kind, _) in ids.items() if kind == "engine" for _, x in values.get(i, [])}
    check({0, 1, 2} <= states, "engine states idle, busy, starved appear: %s" % states)
    check(len([1 for k, _ in ids.values() if k == "engine"]) == len(rep["layers"]), "one signal per engine")


def html():
    w = fresh("html")
    out = os.path.join(w, "out")
    r = mpsim("-q", "run", *CNV, "--html", "--explain", "--out", out)
    check(r.returncode == 0, "run --html: " + r.stderr[-2000:])
    page = os.path.join(out, "report.html")
    if not check(os.path.exists(page), "report.html written"):
        return
    text = read(page)
    check("http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text,
          "self-contained: no links to elsewhere")
    again = os.path.join(w, "again.html")
    r = mpsim("-q", "report", out, "-o", again)
    check(r.returncode == 0, "mpsim report: " + r.stderr)
    check(os.path.exists(again) and read(again) == text, "mpsim report DIR writes the same page")
    rep = load(os.path.join(out, "report.json"))
    got = chromium_probe(w, page, "'engines=' + document.querySelectorAll('#engine-bars g.row').length + "
                         "' fifos=' + document.querySelectorAll('#fifo-bars g.row').length + "
                         "' busy=' + document.querySelectorAll('#engine-bars rect.busy').length + "
                         "' res=' + document.querySelectorAll('#resource-bars g.row').length + "
                         "' dram=' + document.querySelectorAll('#dram-bars g.row').length + "
                         "' params=' + document.querySelectorAll('#param-bars g.row').length + "
                         "' steps=' + document.querySelectorAll('#whatif-steps tr.step').length + "
                         "' notes=' + document.querySelectorAll('#whatif-notes li').length + "
                         "' totals=' + document.querySelectorAll('#resource-totals tr.resource').length + "
                         "' whiskers=' + document.querySelectorAll('#resource-bars g.interval').length + "
                         "' fits=' + document.getElementById('fits').dataset.fits + "
                         "' fits_upper=' + document.getElementById('fits').dataset.fitsUpper")
    check("explain" in rep and rep["explain"]["bottleneck"] == rep["summary"]["predicted"]["bottleneck"],
          "--explain puts the what-if analysis into report.json")
    if got:
        vals = dict(kv.split("=") for kv in got.split())
        check(int(vals["engines"]) == len(rep["layers"]), "one bar per engine: %s" % got)
        check(int(vals["fifos"]) == len(rep["fifos"]), "one bar per FIFO: %s" % got)
        check(int(vals["busy"]) > 0 and int(vals["res"]) >= 4 and int(vals["dram"]) == len(rep["dram"]["initiators"])
              and int(vals["params"]) == 2, "busy, resource, DRAM and parameter marks: %s" % got)
        check(int(vals["steps"]) == len(rep["explain"]["steps"]) > 0 and
              int(vals["notes"]) == len(rep["explain"]["notes"]), "one row per what-if step: %s" % got)
        check(vals["errors"] == "0", "no script errors")
        check(int(vals["totals"]) == int(vals["res"]) == int(vals["whiskers"]),
              "one totals row and one error bar per resource bar: %s" % got)
        res = rep["resources"]
        check(vals["fits"] == str(res["fits"]).lower() and vals["fits_upper"] == str(res["fits_upper"]).lower(),
              "the fits statement is report.json's fits / fits_upper: %s" % got)
    # Each resource's estimate and interval as report.json has them, and the statement in words.
    res = rep["resources"]
    for k in ["lut", "ff", "dsp", "bram18", "uram"]:
        if res["device"][k] <= 0 and res["total"][k] <= 0:
            continue
        m = re.search(r'data-name="%s"><td class="l">[^<]*</td><td class="estimate">([^<]*)</td>'
                      r'<td class="interval[^"]*">([^<]*) - ([^<]*)</td>' % k, text)
        if check(m is not None, "a totals row with an interval for %s" % k):
            check([float(g) for g in m.groups()] == [res["total"][k], res["total_low"][k], res["total_high"][k]],
                  "%s estimate and interval %s are report.json's" % (k, m.groups()))
    want = ("Fits the budget at the estimate and at the interval's upper bound." if res["fits_upper"] else
            "Fits the budget at the estimate, not at the interval's upper bound" if res["fits"] else
            "Does not fit the budget at the estimate")
    check(want in text, "the page says: " + want)
    # --explain alone: the section in report.json, the same as mpsim explain prints.
    r = mpsim("-q", "run", *CNV, "--explain", "--out", os.path.join(w, "ex"))
    ex = mpsim("-q", "explain", "--json", *CNV[:-2])  # explain has no --frames
    if check(r.returncode == 0 and ex.returncode == 0, "run --explain / explain: " + r.stderr[-300:] + ex.stderr[-300:]):
        got = load(os.path.join(w, "ex", "report.json"))["explain"]
        want = json.loads(ex.stdout)
        check(got["steps"] == want["steps"] and got["bottleneck"] == want["bottleneck"],
              "report.json's explain section is mpsim explain's")
    r = mpsim("-q", "run", *CNV, "--out", os.path.join(w, "plain"))
    check("explain" not in load(os.path.join(w, "plain", "report.json")), "no explain section unless asked")
    # A deadlocked run: the wait-for cycle as a graph.
    dl = os.path.join(w, "dl")
    r = mpsim("-q", "run", os.path.join(SRC, "test/golden/resnet18_shortcut_deadlock/config.yaml"), "--frames", "2",
              "--html", "--out", dl)
    check(r.returncode == 4, "the deadlock run exits 4: %d" % r.returncode)
    page = os.path.join(dl, "report.html")
    if check(os.path.exists(page), "report.html of the deadlocked run"):
        rep = load(os.path.join(dl, "report.json"))
        n = len(rep["deadlock"]["wait_cycle"]) // 2
        got = chromium_probe(w, page, "'nodes=' + document.querySelectorAll('#deadlock-graph g.node').length + "
                             "' edges=' + document.querySelectorAll('#deadlock-graph line.wait').length")
        if got:
            vals = dict(kv.split("=") for kv in got.split())
            check(int(vals["nodes"]) == n and int(vals["edges"]) == n, "the cycle's %d engines and waits: %s" % (n, got))
    r = mpsim("report", os.path.join(w, "nosuch"))
    check(r.returncode != 0 and "report.json" in r.stderr, "mpsim report of a directory without report.json fails")


def errors():
    w = fresh("errors")
    out = os.path.join(w, "out")
    cases = [
        (["--trace", "--trace-frames", "1-2"], "--trace-frames", "A:B"),
        (["--trace", "--trace-frames", "2:9"], "--trace-frames", "0..2"),
        (["--trace", "--trace-frames", "2:1"], "--trace-frames", "before"),
        (["--trace", "--trace-engines", "conv1,nosuch*"], "nosuch*", "engines are"),
        (["--trace-frames", "0:1"], "--trace-frames", "only with --trace"),
        (["--vcd", "--trace-resolution", "0"], "--trace-resolution", "cycles"),
    ]
    for args, a, b in cases:
        r = mpsim("run", *CNV, *args, "--out", out)
        check(r.returncode not in (0, 4) and a in r.stderr and b in r.stderr,
              "%s: exit %d, message %r" % (args, r.returncode, r.stderr[-400:]))
        check(not os.path.exists(out), "%s: no output directory left" % args)
    ro = os.path.join(w, "ro")
    os.makedirs(ro)
    os.chmod(ro, 0o555)
    if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a file instead
        target = os.path.join(w, "afile", "out")
        with open(os.path.join(w, "afile"), "w") as f:
            f.write("x")
    else:
        target = os.path.join(ro, "out")
    r = mpsim("run", *CNV, "--trace", "--html", "--out", target)
    check(r.returncode != 0 and r.stderr.strip(), "unwritable --out: exit %d, %r" % (r.returncode, r.stderr[-300:]))
    check(not os.path.exists(os.path.join(target, "trace.json")), "no trace.json in an unwritable place")


def progress():
    w = fresh("progress")
    env = dict(os.environ, MPSIM_PROGRESS_SECONDS="0")
    r = mpsim("run", *CNV, "--out", os.path.join(w, "a"), env=env)
    check(r.returncode == 0, "run: " + r.stderr[-1000:])
    check(re.search(r"simulating: \d+/3 frames", r.stderr), "a plain progress line when not a terminal: %r"
          % r.stderr[-600:])
    check("simulating" not in r.stdout and "\r" not in r.stdout, "nothing of it on stdout")
    r = mpsim("-q", "run", *CNV, "--out", os.path.join(w, "b"), env=env)
    check(r.returncode == 0 and "simulating" not in r.stderr, "nothing with -q: %r" % r.stderr[-300:])
    # An ONNX import counts its initializers and nodes (TFC_2W2A: 4 weight tensors, tens of nodes).
    onnx = os.path.join(SRC, "test", "data", "onnx", "TFC_2W2A.onnx")
    r = mpsim("map", "--set", "network.model=" + onnx, env=env)
    lines = re.findall(r"importing ONNX: (\d+)/(\d+) tensors and nodes", r.stderr)
    check(r.returncode == 0 and lines, "import progress lines: %r" % r.stderr[-600:])
    if lines:
        done, total = int(lines[-1][0]), int(lines[-1][1])
        check(done == total and total > 10, "the import counts up to its total: %r" % (lines[-3:],))
    r = mpsim("-q", "map", "--set", "network.model=" + onnx, env=env)
    check(r.returncode == 0 and "importing" not in r.stderr, "no import progress with -q: %r" % r.stderr[-300:])
    script = shutil.which("script")
    if check(script is not None, "script(1) (util-linux) to run on a terminal"):
        cmd = " ".join([MPSIM, "run", *CNV, "--out", os.path.join(w, "c")]) + " >/dev/null"
        # bytes: text mode would turn the bar's carriage returns into newlines
        r = subprocess.run([script, "-qec", cmd, "/dev/null"], capture_output=True, env=env, timeout=300)
        out = r.stdout.decode(errors="replace")
        check(r.returncode == 0, "run on a terminal: %r" % out[-500:])
        check("\r\x1b[K" in out and "simulating [" in out, "a bar redrawn in place on a terminal: %r" % out[-300:])


def explain():
    """mpsim explain on the default example at half its LUT budget (the full budget's design is held
    by maxpool at its fastest folding, with no chain to try): names the bottleneck and the next
    steps with their closed-form fps; --confirm simulates the best ones: within 1 % of the prediction."""
    half = ["--set", "hardware.budget.lut=0.5"]
    r = mpsim("-q", "explain", "--confirm", "2", "--json", *half)
    if not check(r.returncode == 0, "explain: " + r.stderr[-1000:]):
        return
    j = json.loads(r.stdout)
    m = json.loads(mpsim("-q", "map", "--json", *half).stdout)
    check(j["bottleneck"] == m["summary"]["bottleneck"], "names the closed form's bottleneck")
    check(j["steps"], "at least one next step")
    sim = [s for s in j["steps"] if "simulated_fps" in s]
    check(len(sim) == min(2, len(j["steps"])), "--confirm 2 simulated two steps")
    for s in sim:
        check(abs(s["simulated_fps"] - s["fps_after"]) <= 0.01 * s["fps_after"],
              "%s: simulated %.2f fps within 1 %% of the predicted %.2f" % (s["change"], s["simulated_fps"],
                                                                          s["fps_after"]))
    chain = [s for s in j["steps"] if s["engine"] == "(chain)"]
    check(chain and chain[0]["fps_after"] > j["fps"], "the chain of limits makes the design faster")
    # A DRAM-bound design (conv1's weights streamed once per output pixel): placement steps for the
    # weight streamers, and `mpsim map` with a step's `set` predicts the fps the step states.
    cnv = CNV[:-2] + ["--set", "mapping.layers.conv1.weights=dram", "--set", "mapping.layers.conv1.weight_reuse=1"]
    r = mpsim("-q", "explain", "--json", *cnv)
    if check(r.returncode == 0, "explain of a DRAM-bound design: " + r.stderr[-500:]):
        d = json.loads(r.stdout)
        check(d["bottleneck"] == "dram", "bound by DRAM: %r" % d["bottleneck"])
        pl = [s for s in d["steps"] if s["kind"] == "placement" and s["engine"] == "conv1.weights"]
        check(len(pl) == 2 and all(s["fps_after"] > d["fps"] for s in pl),
              "conv1's weights on chip or read once per row make it faster: %r" % pl)
        # The steps change the design as mapped: their `set` goes on top of its effective config.
        w = fresh("explain")
        r = mpsim("-q", "map", *cnv, "--out", os.path.join(w, "m"))
        eff = os.path.join(w, "m", "effective-config.yaml")
        for s in pl[:2]:
            sets = []
            for kv in s["set"].split(" "):
                sets += ["--set", kv]
            m2 = json.loads(mpsim("-q", "map", eff, "--json", *sets).stdout)
            check(abs(m2["summary"]["fps"] - s["fps_after"]) <= 1e-6 * s["fps_after"],
                  "%s: map with its set predicts %.3f fps, the step %.3f" % (s["change"], m2["summary"]["fps"],
                                                                               s["fps_after"]))
    t = mpsim("-q", "explain")
    check(t.returncode == 0 and ("bottleneck   " + j["bottleneck"]) in t.stdout and "then limited by" in t.stdout,
          "the table: %r" % t.stdout[:300])
    r = mpsim("explain", "--confirm", "0")
    check(r.returncode == 2 and "--confirm" in r.stderr, "--confirm 0 refused")


run_part({"explain": explain, "trace": trace, "stall": stall, "vcd": vcd, "html": html, "errors": errors,
          "progress": progress})
