#!/usr/bin/python3
"""Per-layer validation of mpsim's cost model against synthesised FINN builds.

Usage: bench/validate_cost_model.py [--bin build/validate_cost_model] [--fixtures test/data/synth]
                                    [--nodes] [--bands] [--check]

Runs the validation bench (bench/validate_cost_model.cpp) over every fixture, then prints per node
type the median and maximum relative error of mpsim's estimate (and of FINN's own estimate where the
build has one) for LUT and FF, and how many memories get their BRAM18 / URAM count and how many
nodes their DSP count exactly. FINN's IODMAs are their own node type (dma) and are left out of the
"all" row and band (the per-layer nodes); a per-build table then compares mpsim's uncalibrated
estimate of the whole design (the matched layers, DMAs and FIFOs plus the shell line,
hw::shellCost) with the measured top-level totals of the post-route report. --nodes lists every node; --bands prints the error bands (10th / 90th
percentile of the signed relative error per engine family) as the table of src/hw/CostBands.cpp;
--check tests the targets and that table (CTest cost_model_validation). The leave-one-build-out
errors are bench/fit_cost_model.py's. Deterministic.
"""
import argparse
import csv
import glob
import io
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_bench(binary, fixtures):
    files = sorted(glob.glob(os.path.join(fixtures, "*.json")))
    if not files:
        sys.exit("validate_cost_model.py: no fixtures in %s" % fixtures)
    p = subprocess.run([binary] + files, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("validate_cost_model.py: %s failed (exit %d): %s" % (binary, p.returncode, p.stderr.strip()))
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    for r in rows:
        for k in list(r):
            if k not in ("build", "node", "op"):
                r[k] = float(r[k]) if r[k] != "" else None
    return rows


def median(v):
    v = sorted(v)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def rel(est, meas):
    if est is None or meas is None or meas == 0:
        return None
    return (est - meas) / meas


def pct(x):
    return "-" if x is None else "%.0f %%" % (100 * x)


def stats(rows, who, key):
    errs = [abs(e) for e in (rel(r[who + "_" + key], r["meas_" + key]) for r in rows) if e is not None]
    if not errs:
        return None, None, 0
    return median(errs), max(errs), len(errs)


def exact(rows, who, key, memories_only):
    """(exact, total) over nodes where the measured or the estimated count is non-zero (memories_only),
    else over all nodes with an estimate."""
    ok = tot = 0
    for r in rows:
        est, meas = r[who + "_" + key], r["meas_" + key]
        if est is None:
            continue
        if memories_only and est == 0 and meas == 0:
            continue
        tot += 1
        ok += int(round(est) == round(meas))
    return ok, tot


# Node types that are not layers: the DMAs (own row and band, not in "all") and the shell line (only
# in the whole-design table).
NOT_LAYERS = ("dma", "shell")


def layers(rows):
    return [r for r in rows if r["op"] not in NOT_LAYERS]


def table(rows, title):
    ops = sorted({r["op"] for r in rows if r["op"] != "shell"})
    out = ["### " + title, "",
           "| node type | n | LUT median (mpsim) | LUT max (mpsim) | LUT median (FINN) | LUT max (FINN) | "
           "FF median | FF max | BRAM18 exact (mpsim) | BRAM18 exact (FINN) | URAM exact | DSP exact |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for op in ops + ["all"]:
        sub = layers(rows) if op == "all" else [r for r in rows if r["op"] == op]
        lm, lx, _ = stats(sub, "mpsim", "lut")
        fm, fx, fn = stats(sub, "finn", "lut")
        ffm, ffx, _ = stats(sub, "mpsim", "ff")
        b = exact(sub, "mpsim", "bram18", True)
        fb = exact([r for r in sub if r["finn_bram18"] is not None], "finn", "bram18", True)
        u = exact(sub, "mpsim", "uram", True)
        d = exact(sub, "mpsim", "dsp", False)
        frac = lambda t: "-" if t[1] == 0 else "%d/%d" % t
        finn = lambda x: pct(x) + (" (%d)" % fn if fn and x is not None else "")
        out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
                   (op, len(sub), pct(lm), pct(lx), finn(fm), pct(fx), pct(ffm), pct(ffx), frac(b), frac(fb),
                    frac(u), frac(d)))
    out.append("")
    return "\n".join(out)


def totals(rows):
    """Per build, the sums over its matched nodes (not the whole design: unmatched FIFOs, DMAs and
    the shell are left out)."""
    out = ["### Per build, sums over the matched nodes", "",
           "| build | nodes | LUT meas | LUT mpsim | FF meas | FF mpsim | BRAM18 meas | BRAM18 mpsim | URAM meas | "
           "URAM mpsim |", "|---|---|---|---|---|---|---|---|---|---|"]
    for b in sorted({r["build"] for r in rows}):
        sub = [r for r in layers(rows) if r["build"] == b]
        s = lambda k: sum(r[k] or 0 for r in sub)
        d = lambda k: "%d (%+.0f %%)" % (s("mpsim_" + k), 100 * (s("mpsim_" + k) / s("meas_" + k) - 1)) \
            if s("meas_" + k) else "%d" % s("mpsim_" + k)
        out.append("| %s | %d | %d | %s | %d | %s | %d | %s | %d | %d |" %
                   (b, len(sub), s("meas_lut"), d("lut"), s("meas_ff"), d("ff"), s("meas_bram18"), d("bram18"),
                    s("meas_uram"), s("mpsim_uram")))
    out.append("")
    return "\n".join(out)


# Engine families whose interval comes from their own residuals; a family with fewer validated nodes
# (or none) takes the band of all nodes (hw::costBand, src/hw/CostBands.cpp).
BAND_MIN_NODES = 5


def percentile(v, q):
    """Linear interpolation between the closest ranks (numpy's default), q in [0, 1]."""
    v = sorted(v)
    if not v:
        return None
    x = q * (len(v) - 1)
    i = int(x)
    if i + 1 >= len(v):
        return v[-1]
    return v[i] + (x - i) * (v[i + 1] - v[i])


def bands(rows):
    """Per engine family and resource, the 10th and 90th percentiles of the signed relative error
    (est - meas) / meas over the nodes with a measured count > 0 (BRAM18: nodes where the measured or
    the estimated count is non-zero). Returns {(family, res): (p10, p90, n)}, with "all" for all nodes."""
    out = {}
    for fam in sorted({r["op"] for r in rows if r["op"] != "shell"}) + ["all"]:
        sub = layers(rows) if fam == "all" else [r for r in rows if r["op"] == fam]
        for res in ("lut", "ff", "bram18"):
            e = [rel(r["mpsim_" + res], r["meas_" + res]) for r in sub]
            if res == "bram18":
                e = [rel(r["mpsim_" + res], r["meas_" + res]) for r in sub if r["meas_" + res] or r["mpsim_" + res]]
            e = [x for x in e if x is not None]
            if len(e) >= BAND_MIN_NODES or fam == "all":
                out[(fam, res)] = (percentile(e, 0.1), percentile(e, 0.9), len(e))
    return out


def bands_cpp(rows):
    """The table of src/hw/CostBands.cpp (family, resource, p10, p90, nodes), one line per band."""
    b = bands(rows)
    return "\n".join('      {"%s", "%s", %.4f, %.4f, %d},' % (f, r, lo, hi, n) for (f, r), (lo, hi, n) in sorted(b.items()))


def whole_designs(rows, fixtures):
    """Per build with a post-route hierarchical report: mpsim's uncalibrated estimate of the whole
    design (every fixture node: layers, FIFOs, DMAs; plus the shell line) against the measured
    top-level totals, and what the estimate cannot include (measured instances not in the fixture)."""
    docs = {}
    for f in sorted(glob.glob(os.path.join(fixtures, "*.json"))):
        import json
        d = json.load(open(f))
        docs[d["build"]] = d
    out = ["### Whole designs: mpsim's uncalibrated estimate against the measured top-level totals", "",
           "| build | part | nodes | LUT meas | LUT mpsim | FF meas | FF mpsim | BRAM18 meas | BRAM18 mpsim | "
           "DSP meas | DSP mpsim | notes |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for b in sorted(docs):
        d = docs[b]
        missing = [e for e in d["excluded"] if "measured" in e]
        miss = "; ".join("%s (%d LUT, %d FF, %d BRAM18: %s)" % (e["name"], e["measured"]["lut"], e["measured"]["ff"],
                                                               e["measured"]["bram18"], e["reason"]) for e in missing)
        if "top" not in d:
            out.append("| %s | - | %d | - | - | - | - | - | - | - | - | no post-route hierarchical report "
                       "(per-IP out-of-context synthesis only): no top-level totals, no DMAs |" %
                       (b, len([r for r in rows if r["build"] == b])))
            continue
        sub = [r for r in rows if r["build"] == b]
        top = d["top"]["measured"]
        est = lambda k: sum(r["mpsim_" + k] or 0 for r in sub)

        def cell(k):
            e, m = est(k), top[k]
            return "%d" % round(e) if m == 0 else "%d (%+.1f %%)" % (round(e), 100 * (e / m - 1))
        notes = []
        shell = [r for r in sub if r["op"] == "shell"]
        if shell:
            notes.append("shell %d LUT / %d FF of %d / %d measured" % (shell[0]["mpsim_lut"], shell[0]["mpsim_ff"],
                                                                    shell[0]["meas_lut"], shell[0]["meas_ff"]))
        if miss:
            notes.append("measured, not in the estimate: " + miss)
        if top["uram"] or est("uram"):
            notes.append("URAM %d measured, %d estimated" % (top["uram"], round(est("uram"))))
        out.append("| %s | %s | %d | %d | %s | %d | %s | %d | %s | %d | %s | %s |" %
                   (b, d["shell"]["part"], len([r for r in sub if r["op"] != "shell"]), top["lut"], cell("lut"),
                    top["ff"], cell("ff"), top["bram18"], cell("bram18"), top["dsp"], cell("dsp"),
                    "; ".join(notes)))
    out.append("")
    return "\n".join(out)


def check(rows, binary):
    failures = []
    dmas = [r for r in rows if r["op"] == "dma"]
    m, _, n = stats(dmas, "mpsim", "lut")
    if m is None or m > 0.20:
        failures.append("DMA LUT median is %s (> 20 %%, %d DMAs)" % (pct(m), n))
    ok, tot = exact(dmas, "mpsim", "bram18", True)
    if tot == 0 or ok != tot:
        failures.append("DMA BRAM18 exact for %d of %d DMAs" % (ok, tot))
    rows = [r for r in rows if r["op"] != "shell"]
    for what, sub in (("all nodes", layers(rows)), ("MAC units", [r for r in rows if r["op"] == "mvau"])):
        m, _, n = stats(sub, "mpsim", "lut")
        if m is None or m > 0.20:
            failures.append("LUT median over %s is %s (> 20 %%, %d nodes)" % (what, pct(m), n))
    m, _, _ = stats(layers(rows), "mpsim", "ff")
    if m is None or m > 0.25:
        failures.append("FF median is %s (> 25 %%)" % pct(m))
    ok, tot = exact(rows, "mpsim", "dsp", False)
    if ok != tot:
        failures.append("DSP exact for %d of %d nodes" % (ok, tot))
    # The built-in error bands (src/hw/CostBands.cpp) are the ones these fixtures and this model give.
    p = subprocess.run([binary, "--bands"], capture_output=True, text=True)
    if p.returncode != 0 or p.stdout.strip() != bands_cpp(rows).strip():
        failures.append("the built-in error bands (src/hw/CostBands.cpp) differ from the fixtures' residuals; "
                        "paste the output of bench/validate_cost_model.py --bands there:\n" + bands_cpp(rows))
    # A fixture with a bad key: exit 3, the message names the file, node and key.
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            json.dump({"build": "b", "device_family": "7series", "nodes": [
                {"name": "n0", "op": "mvau", "mw": 4, "mh": 4, "pe": 1, "simd": 1, "wbits": 2, "wsigned": True,
                 "abits": 2, "asigned": False, "abipolar": False, "obits": 2, "steps": 3, "pixels": 1,
                 "ram_style": "sideways", "measured": {"lut": 1, "ff": 1, "bram18": 0, "uram": 0, "dsp": 0}}]}, f)
        p = subprocess.run([binary, bad], capture_output=True, text=True)
        if p.returncode != 3 or "n0" not in p.stderr or "ram_style" not in p.stderr or bad not in p.stderr:
            failures.append("a bad fixture gave exit %d and '%s'" % (p.returncode, p.stderr.strip()))
    for f in failures:
        print("validate_cost_model.py: " + f, file=sys.stderr)
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "validate_cost_model"))
    ap.add_argument("--fixtures", default=os.path.join(ROOT, "test", "data", "synth"))
    ap.add_argument("--nodes", action="store_true", help="list every node")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the targets of docs/cost-model.md hold (LUT median <= 20 %% over all "
                         "nodes and over the MAC units, FF median <= 25 %%, DSP exact) and a broken fixture is "
                         "refused with a message naming its key, and the built-in error bands match the fixtures")
    ap.add_argument("--bands", action="store_true",
                    help="print the error bands (10th / 90th percentile of the relative error per engine family) "
                         "as the table of src/hw/CostBands.cpp")
    args = ap.parse_args()
    rows = run_bench(args.bin, args.fixtures)
    if args.bands:
        print(bands_cpp(rows))
        return
    if args.check:
        sys.exit(check(rows, args.bin))
    print(table(rows, "Per layer, all builds (relative errors |est - meas| / meas)"))
    print(totals(rows))
    print(whole_designs(rows, args.fixtures))
    if args.nodes:
        print("| build | node | LUT meas / mpsim / FINN | FF meas / mpsim | BRAM18 meas / mpsim / FINN | URAM | DSP |")
        print("|---|---|---|---|---|---|---|")
        f = lambda v: "-" if v is None else "%g" % v
        for r in [r for r in rows if r["op"] != "shell"]:
            print("| %s | %s | %s / %s / %s | %s / %s | %s / %s / %s | %s / %s | %s / %s |" %
                  (r["build"], r["node"], f(r["meas_lut"]), f(r["mpsim_lut"]), f(r["finn_lut"]), f(r["meas_ff"]),
                   f(r["mpsim_ff"]), f(r["meas_bram18"]), f(r["mpsim_bram18"]), f(r["finn_bram18"]),
                   f(r["meas_uram"]), f(r["mpsim_uram"]), f(r["meas_dsp"]), f(r["mpsim_dsp"])))


if __name__ == "__main__":
    main()
