#!/usr/bin/python3
"""The system around the accelerator end to end (docs/system.md).

  system.py MPSIM SRC WORKDIR part     parts: examples errors determinism

- examples:    every configs/system/*.yaml runs; its report has the system section with the latency
               distribution (arrivals) or the end-to-end numbers (host); the summary prints them;
               the camera examples are slower than the accelerator: nothing dropped, fps = camera rate
- errors:      bad traces and keys (unsorted, negative, missing file, bad header, a line without an
               end, unknown keys, an unsorted DRAMSys background trace): exit 3, the message names the file and line, nothing simulated,
               no --out directory left behind (and an earlier result is kept as it was)
- determinism: the same inputs give the same report.json bytes, with arrivals and with a host
"""
import glob
import json
import os

from harness import SRC, check, fresh, mpsim, run_part


def load(path):
    with open(path) as f:
        return json.load(f)


def examples():
    w = fresh("examples")
    cfgs = sorted(glob.glob(os.path.join(SRC, "configs", "system", "*.yaml")))
    check(len(cfgs) >= 6, "six example configs under configs/system (found %d)" % len(cfgs))
    for cfg in cfgs:
        name = os.path.splitext(os.path.basename(cfg))[0]
        out = os.path.join(w, name)
        p = mpsim("run", cfg, "--out", out, "-q")
        if not check(p.returncode == 0, "%s runs (rc %d): %s" % (name, p.returncode, p.stderr[-2000:])):
            continue
        rep = load(os.path.join(out, "report.json"))
        check("system" in rep, name + ": report.json has a system section")
        sysr = rep.get("system", {})
        if "arrivals" in sysr:
            a = sysr["arrivals"]
            lat = a["latency_us"]
            check(lat["min"] <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], name + ": latency percentiles ordered")
            check(a["processed"] + a["dropped"] == a["offered"], name + ": processed + dropped = offered")
            check("arrivals " in p.stdout and "latency " in p.stdout, name + ": summary prints the arrivals")
            if name.startswith("camera"):
                check(a["dropped"] == 0, name + ": a camera slower than the accelerator drops nothing")
                rate = 30.0 if "30" in name else 60.0
                check(abs(a["achieved_fps"] / rate - 1) < 0.02, name + ": frames leave at the camera rate (%s)" % a["achieved_fps"])
                check(lat["max"] - lat["min"] < 0.01 * lat["min"] + 1, name + ": every frame sees the single-frame latency")
            if name.startswith("bursty"):
                check(a["dropped"] > 0, name + ": the bursts' tails are dropped")
            b = rep["summary"]["bottleneck"]
            if name.startswith("camera"):
                check(b["engine"] == "arrivals" and b["reason"] == "arrival rate",
                      name + ": the arrival rate is the bottleneck (%s)" % b)
                pipe = b.get("pipeline", {})
                check(pipe.get("engine", "") != "" and "starved" not in pipe.get("reason", "starved"),
                      name + ": the pipeline's own bottleneck is named with its own reason (%s)" % pipe)
                check("bottleneck   arrivals (arrival rate; without them the pipeline is held by" in p.stdout,
                      name + ": the summary says the arrivals bind")
            else:  # frames queue or are dropped: the pipeline binds
                check(b["engine"] not in ("", "arrivals") and b["reason"] in ("compute", "DRAM", "I/O"),
                      name + ": frames come faster than the pipeline: an engine binds, by its own work (%s)" % b)
            if not rep["summary"]["steady_state"]:
                check("NOT yet steady" not in p.stdout, name + ": arrivals, not too few frames, make it aperiodic")
        if "host" in sysr:
            h = sysr["host"]
            e2e = h["end_to_end"]
            check(0 < e2e["fps"] < h["accelerator_fps"], name + ": end-to-end fps below the accelerator's")
            total = h["driver_overhead_us"] + h["accelerator_batch_us"]
            check(abs(e2e["runtime_us"] - total) < 1e-3, name + ": runtime = driver + batch")
            check("host " in p.stdout, name + ": summary prints the host line")
        if "background" in sysr:
            b = sysr["background"]
            check(all(m["achieved_gbps"] > 0 for m in b["masters"]), name + ": every master moved data")
            check(b["accelerator"]["slowdown"] >= 0.999, name + ": the accelerator is no faster with the background")
            check("background " in p.stdout and "slowdown " in p.stdout, name + ": summary prints the masters")


BAD = {
    "unsorted.csv": ("frame,time_ms\n0,0\n1,10\n2,5\n", ":4:", "earlier than the previous"),
    "negative.csv": ("# a comment\nframe,time_ms\n0,-2\n", ":3:", "negative"),
    "header.csv": ("index,when\n0,0\n", ":1:", "header"),
    "endless.csv": ("frame,time_ms\n" + "7" * 200000, ":2:", "longer than"),
}


def errors():
    w = fresh("errors")
    cfg = os.path.join(SRC, "configs", "system", "camera60_tfc_pynq.yaml")
    # An earlier good result in --out must survive every failed run.
    out = os.path.join(w, "out")
    p = mpsim("run", cfg, "--out", out, "-q")
    check(p.returncode == 0, "the good run works (%s)" % p.stderr[-500:])
    before = open(os.path.join(out, "report.json")).read() if p.returncode == 0 else None
    cases = []
    for fname, (text, line, what) in BAD.items():
        path = os.path.join(w, fname)
        with open(path, "w") as f:
            f.write(text)
        cases.append((["--set", "input.arrivals.file=" + path], path + line, what))
    cases.append((["--set", "input.arrivals.file=" + os.path.join(w, "missing.csv")], "missing.csv", "input.arrivals.file"))
    cases.append((["--set", "input.arrivals.speed=3"], "input.arrivals.speed", "unknown key"))
    cases.append((["--set", "host.batch=5"], "host", "cannot be combined"))
    cases.append((["--set", "input.buffer_frames=-1"], "input.buffer_frames", "out of range"))
    bad_stl = os.path.join(w, "bad.stl")
    with open(bad_stl, "w") as f:
        f.write("# ok\n0: read 0x0\n9: read 0x40\n3: write 0x80\n")
    cases.append((["--set", "background=[{kind: stl, file: %s}]" % bad_stl], bad_stl + ":4:", "earlier than the previous"))
    for args, where, what in cases:
        for target in (out, os.path.join(w, "fresh_out")):
            p = mpsim("run", cfg, *args, "--out", target, "-q")
            check(p.returncode == 3, "%s: exit 3 (got %d)" % (args, p.returncode))
            check(where in p.stderr and what in p.stderr, "%s: message names %r and %r: %s" % (args, where, what, p.stderr[-600:]))
            check("simulating" not in p.stderr, "%s: nothing simulated" % args)
        check(not os.path.exists(os.path.join(w, "fresh_out")), "%s: no output directory made" % args)
        if before is not None:
            check(open(os.path.join(out, "report.json")).read() == before, "%s: the earlier result is kept" % args)
    leftovers = [n for n in os.listdir(w) if ".tmp-" in n]
    check(not leftovers, "no temporary output directories left: %s" % leftovers)


def determinism():
    w = fresh("determinism")
    for cfg in ("bursty_host_cnv.yaml", "host_cnv_pynq.yaml", "poisson_cnv_pynq.yaml",
                "background_cpu_resnet_block.yaml"):
        path = os.path.join(SRC, "configs", "system", cfg)
        reps = []
        for i in range(2):
            out = os.path.join(w, "%s_%d" % (cfg, i))
            p = mpsim("run", path, "--out", out, "-q")
            check(p.returncode == 0, cfg + " runs")
            reps.append(open(os.path.join(out, "report.json"), "rb").read() if p.returncode == 0 else b"")
        check(reps[0] == reps[1] and reps[0], cfg + ": the same report bytes twice")


run_part({"examples": examples, "errors": errors, "determinism": determinism})
