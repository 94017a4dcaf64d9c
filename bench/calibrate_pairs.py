#!/usr/bin/python3
"""Calibrated on one build, evaluated on another of the same FINN generation (issue #13 target:
per-layer LUT median error <= 10 %).

Usage: bench/calibrate_pairs.py [--mpsim build/mpsim] [--synth ../shared/reference/synth] [--markdown]

For every ordered pair (A, B) of builds of one FINN generation in ../shared/reference/synth for
which bench/calibrate/ has a run config, runs

    mpsim calibrate A.yaml A/post_synth_resources.xml --out A.cal.yaml
    mpsim calibrate B.yaml B/post_synth_resources.xml --json                                # uncalibrated
    mpsim calibrate B.yaml B/post_synth_resources.xml --json --set hardware.cost_model=A.cal.yaml

and prints, over B's matched nodes (FINN's MAC, thresholding, pooling, sliding-window and label
select nodes; its FIFOs and width converters have no mpsim counterpart), the median and maximum of
|est - meas| / meas for LUT and FF, uncalibrated (mpsim's default model) and calibrated on A.
The calibrate runs' "estimate" of a node is the config's cost model before any fit, so the third
run evaluates A's model on B without refitting. Deterministic.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# build: (run config in bench/calibrate, reference folder, FINN generation)
BUILDS = {
    "facile_w4a4": ("facile_w4a4.yaml", "kf7lsu_pytorchFACILE__facile-mlp-w4a4_ultra96_0301a9d", "v0.5b"),
    "facile_w6a6": ("facile_w6a6.yaml", "kf7lsu_pytorchFACILE__facile-mlp-w6a6_ultra96_63cbd6c", "v0.5b"),
    "eeg_deep4": ("eeg_deep4.yaml", "zhangks98_eeg-adapt__eeg-deep4-1d-cnn_zcu104_1a4d06e", "v0.7"),
    "eeg_deep4_6bit": ("eeg_deep4_6bit.yaml", "zhangks98_eeg-adapt__eeg-deep4-1d-cnn-6bit_zcu104_53295f4", "v0.7"),
}


def run(mpsim, args):
    p = subprocess.run([mpsim] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("calibrate_pairs.py: mpsim %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p.stdout


def median(v):
    v = sorted(v)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2]))


def errors(nodes, res):
    return [abs(n["estimate"][res] - n["measured"][res]) / n["measured"][res] for n in nodes if n["measured"][res] > 0]


def pct(v):
    return "-" if v is None else "%.1f %%" % (100 * v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mpsim", default=os.path.join(ROOT, "build", "mpsim"))
    ap.add_argument("--synth", default=os.path.join(ROOT, "..", "shared", "reference", "synth"))
    args = ap.parse_args()
    cfgdir = os.path.join(ROOT, "bench", "calibrate")
    have = {b: v for b, v in BUILDS.items() if os.path.exists(os.path.join(cfgdir, v[0]))}
    report = lambda b: os.path.join(args.synth, have[b][1], "output_final", "report", "post_synth_resources.xml")
    cfg = lambda b: os.path.join(cfgdir, have[b][0])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cal = {}
        for b in have:
            cal[b] = os.path.join(tmp, b + ".cal.yaml")
            run(args.mpsim, ["-q", "calibrate", cfg(b), report(b), "--out", cal[b]])
        for a in have:
            for b in have:
                if a == b or have[a][2] != have[b][2]:
                    continue
                unc = json.loads(run(args.mpsim, ["-q", "calibrate", cfg(b), report(b), "--json"]))["nodes"]
                calb = json.loads(run(args.mpsim, ["-q", "calibrate", cfg(b), report(b), "--json", "--set",
                                                   "hardware.cost_model=" + cal[a]]))["nodes"]
                r = {"a": a, "b": b, "gen": have[a][2], "n": len(unc)}
                for res in ("lut", "ff"):
                    eu, ec = errors(unc, res), errors(calb, res)
                    r[res] = (median(eu), max(eu) if eu else None, median(ec), max(ec) if ec else None)
                rows.append(r)
    print("| calibrated on (A) | evaluated on (B) | FINN | B nodes | LUT median uncal. | LUT median cal. on A | "
          "LUT max uncal. / cal. | FF median uncal. | FF median cal. on A | FF max uncal. / cal. |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lu, fu = r["lut"], r["ff"]
        print("| %s | %s | %s | %d | %s | %s | %s / %s | %s | %s | %s / %s |" %
              (r["a"], r["b"], r["gen"], r["n"], pct(lu[0]), pct(lu[2]), pct(lu[1]), pct(lu[3]), pct(fu[0]),
               pct(fu[2]), pct(fu[1]), pct(fu[3])))
    allc = [r["lut"][2] for r in rows]
    print("\nLUT median per pair, calibrated: %s (target <= 10 %%)" % ", ".join(pct(x) for x in allc))


if __name__ == "__main__":
    main()
