#!/usr/bin/python3
"""Quality of mpsim's scheduler (docs/scheduler-quality.md): properties and paper-class designs.

Usage: /usr/bin/python3 bench/scheduler_quality.py [--mpsim build/mpsim] [--points 200] [--out FILE]

1. Clock sweep: ResNet-18 W4A4 (8-bit first and last layer) on xczu9eg, `--points` clocks evenly
   from 100 to 300 MHz, `mpsim map` each: the best fps must never fall as the clock rises.
2. Paper class: ResNet-18 W6A6 (8-bit first and last layer) on xczu9eg at 200 MHz, simulated:
   >= 300 fps, fitting the budget.
3. Simulation against prediction: every auto design of (2) and of a few zoo networks simulated,
   with FINN's default FIFO depth 2 and with `mapping.fifos: auto` (FIFOs sized by simulation,
   docs/simulation.md); with sized FIFOs the simulated fps must be within 1 % of the scheduler's
   predicted fps.
Prints a Markdown report (or writes it to --out) and exits 1 when a check fails.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

R18_W4A4 = ["network.model=resnet18", "network.quant.weights=4", "network.quant.activations=4",
            "network.quant.first_layer.weights=8", "network.quant.last_layer.weights=8",
            "hardware.device=xczu9eg", "mapping.mode=auto"]
R18_W6A6 = ["network.model=resnet18", "network.quant.weights=6", "network.quant.activations=6",
            "network.quant.first_layer.weights=8", "network.quant.last_layer.weights=8",
            "hardware.device=xczu9eg", "hardware.clock_mhz=200", "mapping.mode=auto"]
SIM_CASES = [
    ("ResNet-18 W6A6 xczu9eg 200 MHz", R18_W6A6),
    ("ResNet-18 W4A4 xczu9eg 233 MHz", R18_W4A4 + ["hardware.clock_mhz=233"]),
    ("MobileNet-v1 W4A4 zcu104 200 MHz", ["network.model=mobilenet_v1", "network.quant.weights=4",
                                          "network.quant.activations=4", "hardware.device=zcu104",
                                          "hardware.clock_mhz=200", "mapping.mode=auto"]),
    ("CNV W1A1 pynq-z1 100 MHz", ["network.model=cnv", "network.quant.weights=1", "network.quant.activations=1",
                                  "hardware.device=pynq-z1", "hardware.clock_mhz=100", "mapping.mode=auto"]),
    ("ResNet-50 W4A4 xcu250 200 MHz", ["network.model=resnet50", "network.quant.weights=4",
                                       "network.quant.activations=4", "hardware.device=xcu250",
                                       "hardware.clock_mhz=200", "mapping.mode=auto"]),
    ("TFC W2A2 xcu250 200 MHz", ["network.model=tfc", "network.quant.weights=2", "network.quant.activations=2",
                                 "hardware.device=xcu250", "hardware.clock_mhz=200", "mapping.mode=auto"]),
    ("CNV W4A4 xczu9eg 200 MHz", ["network.model=cnv", "network.quant.weights=4", "network.quant.activations=4",
                                  "hardware.device=xczu9eg", "hardware.clock_mhz=200", "mapping.mode=auto"]),
    ("ResNet-18 W2A2 xczu7ev 200 MHz (DRAM-bound)", ["network.model=resnet18", "network.quant.weights=2",
                                                     "network.quant.activations=2", "hardware.device=xczu7ev",
                                                     "hardware.clock_mhz=200", "mapping.mode=auto"]),
]


def sets(keys):
    out = []
    for k in keys:
        out += ["--set", k]
    return out


def mpsim_map(mpsim, keys):
    p = subprocess.run([mpsim, "-q", "map", "--json"] + sets(keys), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("mpsim map failed: " + p.stderr.strip())
    return json.loads(p.stdout)


def mpsim_run(mpsim, keys):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        p = subprocess.run([mpsim, "-q", "run", "--out", out] + sets(keys), capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("mpsim run failed: " + p.stderr.strip())
        with open(os.path.join(out, "report.json")) as f:
            return json.load(f)


def predicted_fps(m):
    return m["summary"]["fps"]  # map.json: the closed form (schema mpsim.map)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpsim", default="build/mpsim")
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--out")
    a = ap.parse_args()
    lines, ok = [], True

    # 1. clock sweep
    clocks = [100 + 200 * i / (a.points - 1) for i in range(a.points)]
    fps = []
    for mhz in clocks:
        m = mpsim_map(a.mpsim, R18_W4A4 + ["hardware.clock_mhz=%.4f" % mhz])
        fps.append(predicted_fps(m))
    drops = [(clocks[i], fps[i - 1], fps[i]) for i in range(1, len(fps)) if fps[i] < fps[i - 1] * (1 - 1e-12)]
    lines.append("## Clock sweep: ResNet-18 W4A4 (8-bit first/last) on xczu9eg, %d clocks 100-300 MHz\n" % a.points)
    lines.append("| clock (MHz) | predicted fps |\n|---|---|")
    for i in range(0, len(clocks), max(1, len(clocks) // 10)):
        lines.append("| %.1f | %.1f |" % (clocks[i], fps[i]))
    lines.append("| %.1f | %.1f |" % (clocks[-1], fps[-1]))
    lines.append("\nfps never falls as the clock rises: **%s** (%d drops)\n" % ("yes" if not drops else "NO", len(drops)))
    ok = ok and not drops

    # 2 + 3. simulated designs
    lines.append("## Simulated auto designs: simulated against predicted fps\n")
    lines.append("| design | predicted fps | simulated fps, depth 2 | difference | simulated fps, fifos: auto | "
                 "difference | fits | LUT | DSP | BRAM18 | URAM |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    paper = False
    for name, keys in SIM_CASES:
        try:
            r2 = mpsim_run(a.mpsim, keys)
            r = mpsim_run(a.mpsim, keys + ["mapping.fifos=auto"])
        except RuntimeError as e:
            msg = str(e).splitlines()
            lines.append("| %s | - | - | - | - | - | no: %s | | | | |" % (name, " ".join(m.replace("[error]", "").strip()
                                                                                 for m in msg[:2])))
            ok = False
            continue
        s = r["summary"]
        pred, sim, sim2 = s["predicted"]["fps"], s["fps"], r2["summary"]["fps"]
        diff = (sim - pred) / pred
        t = r["resources"]["total"]
        fits = r["resources"]["fits"]
        lines.append("| %s | %.1f | %.1f | %+.2f %% | %.1f | %+.2f %% | %s | %d | %d | %d | %d |" %
                     (name, pred, sim2, 100 * (sim2 - pred) / pred, sim, 100 * diff, "yes" if fits else "no",
                      t["lut"], t["dsp"], t["bram18"], t["uram"]))
        ok = ok and abs(diff) <= 0.01 and fits
        if keys is R18_W6A6:
            paper = sim >= 300 and fits
            ok = ok and paper
    lines.append("\nPaper class (ResNet-18 W6A6 on xczu9eg at 200 MHz >= 300 fps simulated, fitting): **%s**" %
                 ("yes" if paper else "NO"))
    lines.append("All simulated within 1 %% of the prediction and fitting: **%s**" % ("yes" if ok else "NO"))
    head = ["# Scheduler quality", "",
            "Measured by `/usr/bin/python3 bench/scheduler_quality.py --points %d --out docs/scheduler-quality.md`" % a.points,
            "(%s, %d cores); regenerate after changing the scheduler or the cost model. What the checks mean:" %
            (platform.node() or "this machine", os.cpu_count() or 0),
            "the docstring of bench/scheduler_quality.py.", ""]
    text = "\n".join(head + lines) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
