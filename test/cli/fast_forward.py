"""Fast-forward (docs/simulation.md): a run that advances the steady state whole reports exactly what
simulating every frame reports. Usage: fast_forward.py MPSIM SRC WORKDIR PART, PART one of
  equal   a spread of designs (compute-, I/O- and DRAM-bound, weight streaming, 2, 3 and 4 DRAM channels,
          deep FIFOs, a deadlock), each run with simulation.fast_forward true and false: report.json
          (but its fast_forward section) and layers.csv identical; where the fast-forward applied it
          simulated fewer frames than the run has
  long    1000 frames of the TFC example both ways (the steady state inserted ~1000 times)
  errors  a bad value of simulation.fast_forward is a config error naming the key
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, check, fresh, mpsim, run_part  # noqa: E402

EX = os.path.join(SRC, "configs", "examples")
AUTO = ["--set", "mapping.mode=auto"]

# (name, config or None for the built-in default, frames, --set arguments, must apply)
CASES = [
    ("default", None, 40, [], True),
    ("block", os.path.join(EX, "resnet_block_small.yaml"), 40, [], True),
    # the input DMA runs ahead of the bottleneck for longer than 60 frames: no steady state yet
    ("cnv", os.path.join(EX, "cnv_w1a1_pynq.yaml"), 60, [], False),
    ("tfc", os.path.join(EX, "tfc_w1a1_pynq.yaml"), 60, [], True),
    # four DRAM channels: the input DMA's 37 bursts per frame rotate over them (stride 4)
    ("resnet50", None, 30, ["--set", "network.model=resnet50", "--set", "hardware.device=xcu250"] + AUTO, True),
    ("mobilenet", None, 30, ["--set", "network.model=mobilenet_v1"] + AUTO, False),
    # 44 layers' weights streamed from DRAM, four channels
    ("resnet152", None, 30, ["--set", "network.model=resnet152", "--set", "hardware.device=xcu250"] + AUTO, True),
    ("default-2ch", None, 30, ["--set", "hardware.dram.channels=2"], False),
    # three channels, slow DRAM: weight streams and DMAs contend
    ("block-dram3", os.path.join(EX, "resnet_block_small.yaml"), 40,
     ["--set", "hardware.dram.channels=3", "--set", "hardware.dram.bandwidth_gbps=0.8"] +
     [x for l in ("block1.conv1", "block2.conv2") for x in ("--set", "mapping.layers[%s].weights=dram" % l)], False),
    # FIFOs deeper than the last layers' frames (49 pixels): a longer memory
    ("default-deep", None, 30, ["--set", "mapping.fifos.default_depth=100"], False),
    ("default-burst256", None, 30, ["--set", "hardware.dram.burst_bytes=256"], False),
    ("deadlock", os.path.join(SRC, "test", "golden", "resnet18_shortcut_deadlock", "config.yaml"), 20, [], False),
]


def run(w, name, cfg, frames, sets, ff):
    out = os.path.join(w, "%s-%s" % (name, "ff" if ff else "full"))
    args = ["-q", "run"] + ([cfg] if cfg else []) + ["--frames", str(frames), "--out", out] + sets
    args += ["--set", "simulation.fast_forward=%s" % ("true" if ff else "false")]
    p = mpsim(*args)
    if not check(p.returncode in (0, 4), "%s ff=%s: mpsim run exits 0 or 4 (deadlock), got %d: %s" %
                 (name, ff, p.returncode, p.stderr[-400:])):
        return None, None
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    with open(os.path.join(out, "layers.csv")) as f:
        layers = f.read()
    return report, layers


def compare(w, name, cfg, frames, sets, must_apply):
    a, la = run(w, name, cfg, frames, sets, True)
    b, lb = run(w, name, cfg, frames, sets, False)
    if a is None or b is None:
        return False
    ff = a.pop("fast_forward", None)
    check("fast_forward" not in b, "%s: a run with fast_forward false reports no fast_forward section" % name)
    for key in sorted(set(a) | set(b)):
        check(a.get(key) == b.get(key), "%s: report.json %s identical with and without fast-forward:\n  %s\n  %s" %
              (name, key, str(a.get(key))[:300], str(b.get(key))[:300]))
    check(la == lb, "%s: layers.csv identical with and without fast-forward" % name)
    applied = ff is not None
    if applied:
        check(0 < ff["simulated_frames"] < frames, "%s: simulated %s of %d frames" % (name, ff["simulated_frames"], frames))
        check(ff["period_cycles"] > 0 and ff["period_frames"] >= 1, "%s: period %s" % (name, ff))
        check(ff["steady_from_frame"] < ff["simulated_frames"], "%s: steady from a simulated frame: %s" % (name, ff))
    if must_apply:
        check(applied, "%s: the fast-forward applied (a periodic design)" % name)
    print("%-18s %s" % (name, ff if applied else "simulated every frame"))
    return applied


def equal():
    w = fresh("ff_equal")
    applied = [compare(w, *c) for c in CASES]
    check(sum(applied) >= 7, "the fast-forward applied in at least 7 of the %d cases (%d)" % (len(CASES), sum(applied)))


def long():
    w = fresh("ff_long")
    applied = compare(w, "tfc-1000", os.path.join(EX, "tfc_w1a1_pynq.yaml"), 1000, [], True)
    check(applied, "1000 frames: fast-forward applied")


def errors():
    w = fresh("ff_errors")
    p = mpsim("run", "--set", "simulation.fast_forward=sometimes", "--out", os.path.join(w, "out"))
    check(p.returncode == 3, "a bad simulation.fast_forward exits 3, got %d" % p.returncode)
    check("simulation.fast_forward" in p.stderr, "the error names simulation.fast_forward: " + p.stderr[-300:])
    check(not os.path.exists(os.path.join(w, "out", "report.json")), "no report from a refused config")


run_part({"equal": equal, "long": long, "errors": errors})
