#!/usr/bin/python3
"""Fits the linear cost-model coefficients on the per-layer synthesis fixtures and reports
leave-one-build-out (LOBO) errors.

Usage: bench/fit_cost_model.py [--bin build/validate_cost_model] [--fixtures test/data/synth]

The bench (validate_cost_model --terms) gives, per node, the estimate's fixed part (memories,
registers of buffers: nothing fitted) and the term each linear coefficient multiplies
(hw::linearCoefficients: a per-bit, per-PE or per-SIMD quantity of the node, never a per-build
value). For every engine family and resource (LUT, FF) this script solves the non-negative least
squares problem of the relative errors, min sum ((fixed + sum_k c_k t_k - measured) / measured)^2,
once over all builds (the defaults in include/mpsim/hw/CostModel.hpp) and once per build (and per network: the EEG and FACILE builds are pairs of one network) with
that build left out, predicting the left-out build's nodes with the coefficients fitted on the others.
Deterministic.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_terms(binary, fixtures):
    files = sorted(glob.glob(os.path.join(fixtures, "*.json")))
    p = subprocess.run([binary, "--terms"] + files, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("fit_cost_model.py: %s failed (exit %d): %s" % (binary, p.returncode, p.stderr.strip()))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def nnls(a, b):
    """Non-negative least squares by elimination: solve, drop the most negative coefficient, repeat."""
    active = list(range(a.shape[1]))
    while True:
        x = np.zeros(a.shape[1])
        if not active:
            return x
        sol, *_ = np.linalg.lstsq(a[:, active], b, rcond=None)
        if (sol >= 0).all():
            x[active] = sol
            return x
        del active[int(np.argmin(sol))]


def fit(nodes, res, names):
    """Coefficients (dict) minimising the relative error of `res` over `nodes`."""
    rows, rhs = [], []
    for n in nodes:
        m = float(n["measured"][res])
        if m <= 0:
            continue
        t = n[res + "_terms"]
        rows.append([t.get(k, 0.0) / m for k in names])
        rhs.append((m - n["fixed"][res]) / m)
    if not rows:
        return None
    x = nnls(np.array(rows), np.array(rhs))
    return dict(zip(names, x))


def predict(n, res, coef):
    return n["fixed"][res] + sum(coef.get(k, 0.0) * v for k, v in n[res + "_terms"].items())


def network(build):
    """The network of a build (cnv, cybsec, eeg, facile): two builds of one network are near twins."""
    return build.split("_")[0]


def median(v):
    v = sorted(v)
    if not v:
        return None
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "validate_cost_model"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "test", "data", "synth"))
    args = ap.parse_args()
    nodes = load_terms(args.bin, args.fixtures)
    builds = sorted({n["build"] for n in nodes})
    families = sorted({n["op"] for n in nodes})
    lobo = {"build": [], "network": []}
    print("## Fitted coefficients (all builds)\n")
    print("| coefficient | value |\n|---|---|")
    for fam in families:
        fam_nodes = [n for n in nodes if n["op"] == fam]
        for res in ("lut", "ff"):
            names = sorted({k for n in fam_nodes for k in n[res + "_terms"]})
            if not names:
                continue
            coef = fit(fam_nodes, res, names)
            for k in names:
                print("| %s | %.4g |" % (k, coef[k]))
            for mode, key in (("build", lambda n: n["build"]), ("network", lambda n: network(n["build"]))):
                for g in sorted({key(n) for n in fam_nodes}):
                    test = [n for n in fam_nodes if key(n) == g]
                    c = fit([n for n in fam_nodes if key(n) != g], res, names)
                    for n in test:
                        m = float(n["measured"][res])
                        if m > 0 and c is not None:
                            lobo[mode].append((fam, res, g, abs(predict(n, res, c) - m) / m))
    pct = lambda v: "-" if v is None else "%.0f %%" % (100 * v)
    for mode, what in (("build", ""), ("network", ", both builds of a network left out together")):
        rows = lobo[mode]
        print("\n## Leave-one-%s-out relative errors (|est - meas| / meas of the left-out nodes%s)\n" % (mode, what))
        print("| node type | LUT median | LUT max | FF median | FF max | nodes |\n|---|---|---|---|---|---|")
        for fam in families + ["all"]:
            cells, cnt = [], 0
            for res in ("lut", "ff"):
                # "all": the per-layer nodes (the DMAs have their own row, as in validate_cost_model.py)
                e = [r[3] for r in rows if (r[0] == fam or (fam == "all" and r[0] != "dma")) and r[1] == res]
                cnt = max(cnt, len(e))
                cells += [pct(median(e)), pct(max(e) if e else None)]
            print("| %s | %s | %s | %s | %s | %d |" % (fam, cells[0], cells[1], cells[2], cells[3], cnt))
        print("\n| left out | LUT median | FF median |\n|---|---|---|")
        layer = [r for r in rows if r[0] != "dma"]
        for g in sorted({r[2] for r in layer}):
            print("| %s | %s | %s |" % (g, pct(median([r[3] for r in layer if r[2] == g and r[1] == "lut"])),
                                         pct(median([r[3] for r in layer if r[2] == g and r[1] == "ff"]))))


if __name__ == "__main__":
    main()
