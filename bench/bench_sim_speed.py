#!/usr/bin/python3
"""Simulation speed against the hardware (the simulation-speed issue): 100-frame timing runs of the
auto-mapped designs with fast-forward on (the default) and off, in the same run, interleaved;
the simulation's own wall time (as `mpsim -v run` logs it) and the whole command's; the hardware's
time for the same frames (frames / the simulated fps); peak memory of 10- and 1000-frame runs.

And the cost per token against a plain C++ max-plus engine of the same design (build/maxplus_reference,
bench/maxplus_reference.cpp), ResNet-50 and ResNet-152 on xcu250, 10 frames.

Usage: bench/bench_sim_speed.py [--mpsim build/mpsim] [--runs 5] [--out FILE]
Prints a Markdown section (and writes it to FILE when given)."""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

CASES = [
    ("resnet18", "xczu9eg"),
    ("resnet50", "xcu250"),
    ("resnet152", "xcu250"),
]


def run(mpsim, net, dev, frames, ff, out):
    args = [mpsim, "-v", "run", "--set", "network.model=" + net, "--set", "hardware.device=" + dev,
            "--set", "mapping.mode=auto", "--frames", str(frames), "--set",
            "simulation.fast_forward=" + ("true" if ff else "false"), "--out", out]
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M"] + args, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("mpsim failed: %s\n%s" % (" ".join(args), p.stderr[-2000:]))
    sim = float(re.search(r"simulated in ([0-9.]+) s wall time", p.stderr).group(1))
    rss = int(re.search(r"maxrss_kb=(\d+)", p.stderr).group(1))
    with open(os.path.join(out, "report.json")) as f:
        rep = json.load(f)
    return wall, sim, rss, rep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpsim", default="build/mpsim")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    mpsim = os.path.abspath(a.mpsim)
    tmp = tempfile.mkdtemp(prefix="bench_sim_")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = []
    lines.append("Measured by `bench/bench_sim_speed.py --runs %d` on %s, %d cores, %s, at %s (load average "
                 "%.1f at the start). Medians of %d interleaved runs." %
                 (a.runs, platform.processor() or platform.machine(), os.cpu_count(), time.strftime("%Y-%m-%d"),
                  rev, os.getloadavg()[0], a.runs))
    lines.append("")
    lines.append("| network | device | fps (simulated) | hardware time of 100 frames (ms) | fast-forward | frames "
                 "simulated | simulation (ms) | whole command (ms) | vs hardware |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for net, dev in CASES:
        res = {True: [], False: []}
        for _ in range(a.runs):
            for ff in (True, False):
                res[ff].append(run(mpsim, net, dev, 100, ff, os.path.join(tmp, "%s_%s" % (net, ff))))
        for ff in (True, False):
            rep = res[ff][0][3]
            fps = rep["summary"]["fps"]
            hw_ms = 100 / fps * 1e3
            sim_ms = statistics.median(r[1] for r in res[ff]) * 1e3
            wall_ms = statistics.median(r[0] for r in res[ff]) * 1e3
            sf = rep.get("fast_forward", {}).get("simulated_frames", 100)
            lines.append("| %s | %s | %.1f | %.1f | %s | %d | %.0f | %.0f | %.1fx |" %
                         (net, dev, fps, hw_ms, "on" if ff else "off", sf, sim_ms, wall_ms, sim_ms / hw_ms))
        same = all(json.dumps({k: v for k, v in r[3].items() if k != "fast_forward"}, sort_keys=True) ==
                   json.dumps(res[False][0][3], sort_keys=True) for r in res[True])
        lines.append("| | | | | report.json identical: %s | | | | |" % ("yes" if same else "**NO**"))
    lines.append("")
    lines.append("Peak memory (maximum resident set, medians), ResNet-18 on xczu9eg:")
    lines.append("")
    lines.append("| frames | fast-forward | peak RSS (MB) |")
    lines.append("|---|---|---|")
    for ff in (True, False):
        for frames in (10, 1000) if ff else (10, 100):
            rss = statistics.median(run(mpsim, "resnet18", "xczu9eg", frames, ff, os.path.join(tmp, "mem"))[2]
                                    for _ in range(3))
            lines.append("| %d | %s | %.1f |" % (frames, "on" if ff else "off", rss / 1024))
    lines.append("")
    lines.append("Cost per token (output tokens of every engine), fast-forward off, 10 frames, against the plain "
                 "max-plus engine of the same design (`build/maxplus_reference`: no SystemC, no back-pressure, no "
                 "DRAM; a lower bound); mpsim's time includes elaboration:")
    lines.append("")
    lines.append("| network | device | engines | tokens per frame | max-plus (ns/token) | mpsim (ns/token) | ratio |")
    lines.append("|---|---|---|---|---|---|---|")
    ref = os.path.join(os.path.dirname(mpsim), "maxplus_reference")
    for net, dev in CASES[1:]:
        js = []
        for _ in range(a.runs):
            p = subprocess.run([ref, "--frames", "10", "--set", "network.model=" + net, "--set", "hardware.device=" + dev,
                                "--set", "mapping.mode=auto"], capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit("maxplus_reference failed: " + p.stderr[-1000:])
            js.append(json.loads(p.stdout))
        mp = statistics.median(j["maxplus_ns_per_token"] for j in js)
        ms = statistics.median(j["mpsim_ns_per_token"] for j in js)
        lines.append("| %s | %s | %d | %d | %.1f | %.0f | %.0fx |" %
                     (net, dev, js[0]["engines"], js[0]["tokens_per_frame"], mp, ms, ms / mp))
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
