"""Segments through DRAM (docs/segments.md). Usage: segments.py MPSIM SRC WORKDIR PART, PART one of
  functional  the small ResNet cut twice inside residual blocks (each cut crossed by a shortcut's
              saved tensor): output.npy bit-exact against the unsegmented functional run of the same
              seed, and each crossing tensor bit-exact against the unsegmented network's tensor
              recomputed by test/func_ref.py
  resnet152   ResNet-152 W4A4 (8-bit first/last) on xczu9eg at 200 MHz, mapping.segments auto, at
              batch 1 and 16: several segments, each fitting the budget, the simulated fps within 2 %
              of the closed form, DRAM traffic per frame reported, consecutive segments of the same
              hardware sharing the fabric; mpsim map agrees with mpsim run on the cuts; with
              execution: reconfigure every switch is a reconfiguration
  single      a network that fits: mapping.segments auto gives the report of a run without segments
  errors      bad cuts and values are config errors naming the key, with nothing written
  sweep       a sweep of segmented points (map and sim fidelity) records what mpsim map and mpsim run
              report for the same points; configs/sweeps/resnet152_segments.yaml expands
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, check, fresh, mpsim, run_part  # noqa: E402

BLOCK = os.path.join(SRC, "configs", "networks", "resnet_block.yaml")
BLOCK_RUN = ["--set", "network.model=" + BLOCK, "--set", "hardware.device=xczu3eg", "--set", "mapping.mode=auto"]
R152 = ["--set", "network.model=resnet152", "--set", "network.quant.weights=4", "--set",
        "network.quant.activations=4", "--set", "network.quant.first_layer.weights=8", "--set",
        "network.quant.last_layer.weights=8", "--set", "hardware.device=xczu9eg", "--set", "hardware.clock_mhz=200",
        "--set", "mapping.mode=auto", "--set", "mapping.segments=auto"]


def load(path):
    with open(path) as f:
        return json.load(f)


def functional():
    import numpy as np
    w = fresh("seg_functional")
    whole, cut = os.path.join(w, "whole"), os.path.join(w, "cut")
    p = mpsim("-q", "run", *BLOCK_RUN, "--functional", "--frames", "5", "--out", whole)
    check(p.returncode == 0, "unsegmented functional run exits 0: " + p.stderr[-400:])
    # block1.conv2: stem's output (block1's shortcut) and block1.conv1's cross the cut;
    # block2.conv2: block1.add (the input of block2's downsample shortcut) and block2.conv1's.
    p = mpsim("-q", "run", *BLOCK_RUN, "--functional", "--frames", "5", "--out", cut, "--set",
              "mapping.segments={mode: manual, cuts: [block1.conv2, block2.conv2]}")
    if not check(p.returncode == 0, "segmented functional run exits 0: " + p.stderr[-400:]):
        return
    a, b = np.load(os.path.join(whole, "output.npy")), np.load(os.path.join(cut, "output.npy"))
    check(a.shape == b.shape and a.shape[0] == 5, "output shapes %s and %s, 5 frames" % (a.shape, b.shape))
    check(len(np.unique(a)) > 3, "the output varies (%d distinct values)" % len(np.unique(a)))
    check(a.shape == b.shape and (a == b).all(), "segmented output.npy equals the unsegmented one")
    r = load(os.path.join(cut, "report.json"))
    check(r["summary"]["segments"] == 3, "3 segments: %s" % r["summary"]["segments"])
    crossing = {t["tensor"] for s in r["segments"] for t in s["outputs"]}
    check(crossing == {"stem", "block1.conv1", "block1.add", "block2.conv1"},
          "the tensors crossing the cuts: %s" % sorted(crossing))
    # Each crossing tensor as the segment wrote it, against the unsegmented network's tensor from the
    # independent reference (func_ref.py recomputes every layer from the written parameters).
    ref = os.path.join(w, "ref")
    os.makedirs(ref, exist_ok=True)
    q = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "test", "func_ref.py"), "network", whole,
                        os.path.join(ref, "out.npy"), "--dump", ref], capture_output=True, text=True)
    if not check(q.returncode == 0, "func_ref.py network --dump: " + q.stderr[-400:]):
        return
    for s in r["segments"]:
        for t in s["outputs"]:
            got = np.load(os.path.join(cut, "segments", s["name"], t["tensor"] + ".to_dram.npy"))
            want = np.load(os.path.join(ref, t["tensor"] + ".npy"))
            check(got.shape == want.shape and (got == want).all(),
                  "%s: %s written to DRAM equals the reference's tensor" % (s["name"], t["tensor"]))


    # A cut after a flatten (the next segment reads the flattened tensor as one token) and bipolar
    # tensors crossing cuts (stored as bits, written as -1 / +1 values).
    for name, net, bits, cuts in (("tfc", "tfc", 2, "[fc1, fc3]"), ("cnv-w1a1", "cnv", 1, "[conv2, fc6]")):
        base = ["--set", "network.model=" + net, "--set", "network.quant.weights=%d" % bits, "--set",
                "network.quant.activations=%d" % bits, "--set", "hardware.device=pynq-z1", "--set",
                "mapping.mode=auto", "--functional", "--frames", "2"]
        a, b = os.path.join(w, name + "-whole"), os.path.join(w, name + "-cut")
        p = mpsim("-q", "run", *base, "--out", a)
        q = mpsim("-q", "run", *base, "--set", "mapping.segments={mode: manual, cuts: %s}" % cuts, "--out", b)
        if check(p.returncode == 0 and q.returncode == 0, "%s: both runs exit 0: %s" % (name, (p.stderr + q.stderr)[-300:])):
            x, y = np.load(os.path.join(a, "output.npy")), np.load(os.path.join(b, "output.npy"))
            check(x.shape == y.shape and (x == y).all() and len(np.unique(x)) > 1,
                  "%s cut at %s: output.npy equals the unsegmented one" % (name, cuts))


def resnet152():
    w = fresh("seg_resnet152")
    for batch in (1, 16):
        out = os.path.join(w, "run%d" % batch)
        p = mpsim("-q", "run", *R152, "--frames", str(batch), "--out", out)
        if not check(p.returncode == 0, "batch %d: mpsim run exits 0: %s" % (batch, p.stderr[-400:])):
            continue
        r = load(os.path.join(out, "report.json"))
        s = r["summary"]
        check(s["segments"] >= 2, "batch %d: segments %d" % (batch, s["segments"]))
        check(s["batch"] == batch, "batch %d recorded" % batch)
        check(abs(s["predicted"]["difference"]) <= 0.02,
              "batch %d: simulated fps %s within 2 %% of the closed form %s" % (batch, s["fps"], s["predicted"]["fps"]))
        check(s["fps"] > 0 and s["dram_bytes_per_frame"] > 0, "batch %d: fps and DRAM bytes per frame" % batch)
        for g in r["segments"]:
            check(g["resources"]["fits"], "batch %d: %s fits the budget" % (batch, g["name"]))
            check(os.path.exists(os.path.join(out, g["report"])), "%s: its report.json" % g["name"])
        rc = r["reconfiguration"]
        check(rc["per_batch"] + rc["weight_reloads_per_batch"] == s["segments"],
              "one switch into every segment per batch: %s" % rc)
        shared = [g for g in r["segments"] if g["switch_in"]["how"] == "weights reloaded"]
        check(batch != 16 or len(shared) >= 2, "batch 16: segments of the same hardware share the fabric")
        for g in shared:  # only where the segment before it has the same hardware
            i = int(g["name"][len("segment"):])
            prev = r["segments"][i - 1]
            check(prev["layers"] == g["layers"] and prev["resources"] == g["resources"],
                  "%s shares the fabric with %s: the same layers and resources" % (g["name"], prev["name"]))
        # mpsim map of the same run, and of its effective config (the cuts as manual segments):
        # the same cuts and closed form.
        for what, args in (("mpsim map", [*R152, "--set", "simulation.frames=%d" % batch]),
                           ("the effective config", [os.path.join(out, "effective-config.yaml")])):
            m = mpsim("-q", "map", *args, "--json")
            if check(m.returncode == 0, "%s maps: %s" % (what, m.stderr[-300:])):
                mj = json.loads(m.stdout)
                check([g["first_layer"] for g in mj["segments"]] == [g["first_layer"] for g in r["segments"]],
                      "%s: the same cuts as the run" % what)
                check(abs(mj["predicted"]["fps"] - s["predicted"]["fps"]) <= 1e-6 * s["predicted"]["fps"],
                      "%s: the run's closed form" % what)
        if batch == 16:
            p = mpsim("-q", "run", *R152, "--frames", "16", "--out", out + "-reconf", "--set",
                      "mapping.segments={mode: auto, execution: reconfigure}")
            if check(p.returncode == 0, "execution: reconfigure runs: " + p.stderr[-300:]):
                rr = load(os.path.join(out + "-reconf", "report.json"))
                check(rr["reconfiguration"]["per_batch"] == rr["summary"]["segments"] and
                      rr["reconfiguration"]["weight_reloads_per_batch"] == 0, "reconfigure: every switch reconfigures")
                check(rr["summary"]["fps"] < s["fps"], "sharing the fabric is faster (%s < %s)" %
                      (rr["summary"]["fps"], s["fps"]))
                check(abs(rr["summary"]["predicted"]["difference"]) <= 0.02, "reconfigure: within 2 %")
        print("batch %2d: %d segments, %.2f fps (closed form %.2f), %.1f MB DRAM per frame" %
              (batch, s["segments"], s["fps"], s["predicted"]["fps"], s["dram_bytes_per_frame"] / 1e6))


def single():
    w = fresh("seg_single")
    a, b = os.path.join(w, "plain"), os.path.join(w, "auto")
    p = mpsim("-q", "run", "--out", a)
    q = mpsim("-q", "run", "--out", b, "--set", "mapping.segments=auto")
    if check(p.returncode == 0 and q.returncode == 0, "both runs exit 0: " + p.stderr[-200:] + q.stderr[-200:]):
        ra, rb = load(os.path.join(a, "report.json")), load(os.path.join(b, "report.json"))
        check(ra == rb, "mapping.segments auto on a network that fits: the same report.json")
        with open(os.path.join(a, "layers.csv")) as f, open(os.path.join(b, "layers.csv")) as g:
            check(f.read() == g.read(), "and the same layers.csv")


def errors():
    w = fresh("seg_errors")
    cases = [
        (["--set", "mapping.segments={mode: manual, cuts: [nosuchlayer]}"], "mapping.segments.cuts[0]"),
        (["--set", "mapping.segments={mode: manual, cuts: [block2.conv1, block1.conv2]}"], "mapping.segments.cuts[1]"),
        (["--set", "mapping.segments={mode: manual, cuts: [stem]}"], "first layer"),
        (["--set", "mapping.segments=manual"], "mapping.segments"),
        (["--set", "mapping.segments={mode: manual}"], "mapping.segments.cuts"),
        (["--set", "mapping.segments={mode: auto, cuts: [stem]}"], "mapping.segments.cuts"),
        (["--set", "mapping.segments=sometimes"], "mapping.segments"),
        (["--set", "mapping.segments={mode: auto, colour: red}"], "colour"),
        (["--set", "mapping.segments={mode: auto, reconfiguration_ms: -1}"], "reconfiguration_ms"),
    ]
    for i, (sets, key) in enumerate(cases):
        out = os.path.join(w, "out%d" % i)
        p = mpsim("-q", "run", *BLOCK_RUN, *sets, "--out", out)
        check(p.returncode == 3, "%s: exits 3, got %d" % (sets[-1], p.returncode))
        check(key in p.stderr, "%s: the error names %s: %s" % (sets[-1], key, p.stderr[-300:]))
        check(not os.path.exists(out), "%s: nothing written" % sets[-1])
    # A segment that deadlocks (a depth-1 shortcut FIFO in segment0): the error itself says where,
    # since the output folder that would hold its report is not kept.
    out = os.path.join(w, "deadlock")
    p = mpsim("-q", "run", *BLOCK_RUN, "--set", "mapping.segments={mode: manual, cuts: [block2.conv1]}", "--set",
              "mapping.fifos.shortcut_depth=1", "--out", out)
    check(p.returncode == 3 and "segment0: the segment's pipeline deadlocked at cycle" in p.stderr and
          "wait-for cycle: " in p.stderr and "stem.fork->block1.add (full)" in p.stderr,
          "a deadlocked segment is named with its wait-for cycle (%d): %s" % (p.returncode, p.stderr[-600:]))
    check(not os.path.exists(out), "a deadlocked segmented run writes nothing")
    # What a segmented run does not write yet is refused, not silently left out.
    for flag in ("--html", "--trace", "--explain"):
        out = os.path.join(w, "flag" + flag)
        p = mpsim("-q", "run", *BLOCK_RUN, "--set", "mapping.segments={mode: manual, cuts: [block1.conv2]}", flag,
                  "--out", out)
        check(p.returncode == 3 and "segmented run" in p.stderr, "%s with segments: a clear error (%d): %s" %
              (flag, p.returncode, p.stderr[-200:]))
        check(not os.path.exists(out), "%s with segments: nothing written" % flag)


def sweep():
    w = fresh("seg_sweep")
    cfg = os.path.join(w, "point.yaml")
    with open(cfg, "w") as f:
        f.write("network: {model: %s}\nhardware: {device: xczu3eg}\n"
                "mapping: {mode: auto, segments: {mode: manual, cuts: [block1.conv2]}}\n"
                "simulation: {frames: 2}\n" % BLOCK)
    sw = os.path.join(w, "s.yaml")
    with open(sw, "w") as f:
        f.write("base: point.yaml\nsweep:\n  - grid:\n      simulation.frames: [2, 5]\nobjectives: [max:fps]\n")
    db = os.path.join(w, "s.db")
    p = mpsim("-q", "sweep", sw, "--db", db, "--fidelity", "sim", "-j", "1")
    if not check(p.returncode == 0, "the sweep runs: " + p.stderr[-400:]):
        return
    e = mpsim("sweep", "export", db, "--json")
    rows = json.loads(e.stdout) if e.returncode == 0 else []
    check(len(rows) == 2 and all(r["sim_status"] == "done" for r in rows), "two points simulated: %s" % rows)
    for r in rows:
        frames = int(r["simulation.frames"])
        out = os.path.join(w, "run%d" % frames)
        q = mpsim("-q", "run", cfg, "--frames", str(frames), "--out", out)
        if check(q.returncode == 0, "mpsim run of the point: " + q.stderr[-300:]):
            rep = load(os.path.join(out, "report.json"))
            check(abs(r["fps"] - rep["summary"]["fps"]) <= 1e-6 * rep["summary"]["fps"],
                  "frames %d: the sweep's fps %s is mpsim run's %s" % (frames, r["fps"], rep["summary"]["fps"]))
            check(r["lut"] == rep["resources"]["total"]["lut"] and r["fits"] == 1, "frames %d: resources" % frames)
        m = mpsim("-q", "sweep", "export", db, "--json", "--fidelity", "map")
        mrows = json.loads(m.stdout) if m.returncode == 0 else []
        mine = [x for x in mrows if int(x["simulation.frames"]) == frames]
        check(len(mine) == 1 and mine[0]["predicted_fps"] == rep["summary"]["predicted"]["fps"],
              "frames %d: the map fidelity's fps is the closed form: %s" % (frames, mine))
    plan = os.path.join(w, "plan")
    os.makedirs(plan)
    p = mpsim("-q", "sweep", os.path.join(SRC, "configs", "sweeps", "resnet152_segments.yaml"), "--db",
              os.path.join(plan, "r.db"), "--fidelity", "map", "--slurm", "--dry-run")
    check(p.returncode == 0, "configs/sweeps/resnet152_segments.yaml expands: " + p.stderr[-300:])


run_part({"functional": functional, "resnet152": resnet152, "single": single, "errors": errors, "sweep": sweep})
