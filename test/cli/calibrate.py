#!/usr/bin/python3
"""End-to-end tests of `mpsim calibrate` (docs/cost-model.md, "Calibration").

Usage (CTest): calibrate.py MPSIM SRC WORKDIR PART with PART one of
  roundtrip  calibrate the FACILE W4A4 design on its report, use the YAML in `mpsim map` (as a path
             and with include:), the estimates and the interval change; the effective config keeps them
  formats    the Vivado XML, the Vivado text and the FINN JSON form give the same model; several reports
  errors     another design's report, a foreign / truncated file, zero matched instances, a missing or
             broken cost-model file: exit 3, a message naming the file, nothing written
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, check, fresh, mpsim, run_part  # noqa: E402

DATA = os.path.join(SRC, "test", "data", "calibrate")
CFG = os.path.join(DATA, "facile_w4a4.yaml")
XML = os.path.join(DATA, "facile_w4a4_post_synth_resources.xml")
TXT = os.path.join(DATA, "facile_w4a4_utilization_hier.rpt")
JSN = os.path.join(DATA, "facile_w4a4_post_synth_resources.json")


def calibrate(*args):
    return mpsim("calibrate", *args)


def map_json(*args):
    p = mpsim("map", CFG, "--json", *args)
    check(p.returncode == 0, "map %s: exit %d: %s" % (args, p.returncode, p.stderr))
    return json.loads(p.stdout) if p.returncode == 0 else None


def roundtrip():
    w = fresh("roundtrip")
    cal = os.path.join(w, "cal.yaml")
    p = calibrate(CFG, XML, "--out", cal)
    check(p.returncode == 0, "calibrate exit %d: %s" % (p.returncode, p.stderr))
    check(os.path.isfile(cal), "cal.yaml written")
    check("mvau | lut | 4 |" in p.stdout, "the fit table has the 4 MAC units' LUT fit: " + p.stdout[:600])
    check("StreamingFIFO_0" in p.stdout and "not calibrated" in p.stdout, "unmatched FIFOs are listed")
    text = open(cal).read() if os.path.isfile(cal) else ""
    check("thr_lut_base:" in text and "thr_ff_per_bit:" in text, "the YAML has the fitted coefficients")
    check("mvau lut: keep" in text, "the MAC units keep the defaults, whose leave-one-out error is the lowest")
    check("intervals:" in text and "mvau:" in text, "the YAML has the leave-one-out bands")
    j = json.loads(calibrate(CFG, XML, "--json").stdout)
    fit = {(f["family"], f["resource"]): f for f in j["fits"]}
    check(fit[("mvau", "lut")]["median_error_fitted"] <= fit[("mvau", "lut")]["median_error_before"],
          "the fit does not make the MAC units' LUT error worse: %s" % fit[("mvau", "lut")])
    check(len(j["nodes"]) == 5, "5 nodes matched (4 MVAU, 1 thresholding): %d" % len(j["nodes"]))
    check({n["engine"] for n in j["nodes"]} == {"fc0", "fc1", "fc2", "fc3", "out_quant"},
          "matched by FINN index: %s" % [n["engine"] for n in j["nodes"]])
    check(all(n["measured"]["lut"] > 0 for n in j["nodes"]), "measured counts read")
    check(any(u["node"] == "StreamingFIFO_2" for u in j["unmatched"]), "StreamingFIFO_2 listed as unmatched")

    before = map_json()
    after = map_json("--set", "hardware.cost_model=" + cal)
    if before and after:
        b, a = before["resources"], after["resources"]
        check(a["total"]["lut"] != b["total"]["lut"], "the calibrated model changes the LUT estimate (%s -> %s)" %
              (b["total"]["lut"], a["total"]["lut"]))
        wb = b["total_high"]["lut"] - b["total_low"]["lut"]
        wa = a["total_high"]["lut"] - a["total_low"]["lut"]
        check(abs(wa - wb) > 1e-6, "the calibrated bands change the LUT interval (%g -> %g)" % (wb, wa))
    # The include form, with an override on top.
    inc = os.path.join(w, "inc.yaml")
    with open(CFG) as f:
        base = f.read()
    with open(inc, "w") as f:
        f.write(base.replace("hardware: {device: ultra96, clock_mhz: 100}",
                             "hardware:\n  device: ultra96\n  clock_mhz: 100\n  cost_model: {include: cal.yaml, "
                             "mvu_lut_scale: 2}\n").replace("facile_mlp_w4a4.yaml", os.path.join(DATA, "facile_mlp_w4a4.yaml")))
    p = mpsim("map", inc, "--json")
    check(p.returncode == 0, "map with include: exit %d: %s" % (p.returncode, p.stderr))
    if p.returncode == 0 and after:
        lut = json.loads(p.stdout)["resources"]["total"]["lut"]
        check(lut > after["resources"]["total"]["lut"], "include + mvu_lut_scale: 2 raises the estimate")
    # The effective config keeps the calibrated coefficients and bands: loading it gives the same.
    out = os.path.join(w, "mapout")
    p = mpsim("map", CFG, "--set", "hardware.cost_model=" + cal, "--out", out)
    check(p.returncode == 0, "map --out: %s" % p.stderr)
    eff = os.path.join(out, "effective-config.yaml")
    check(os.path.isfile(eff) and "intervals:" in open(eff).read(), "effective config has the intervals")
    p = mpsim("map", eff, "--json", "--set", "network.model=" + os.path.join(DATA, "facile_mlp_w4a4.yaml"))
    check(p.returncode == 0 and after is not None and
          json.loads(p.stdout)["resources"] == after["resources"], "the effective config reproduces the resources")


def formats():
    w = fresh("formats")
    outs = {}
    for name, rep in (("xml", XML), ("txt", TXT), ("json", JSN)):
        out = os.path.join(w, name + ".yaml")
        p = calibrate(CFG, rep, "--out", out)
        check(p.returncode == 0, "%s: exit %d: %s" % (name, p.returncode, p.stderr))
        if os.path.isfile(out):
            # Everything but the header comments (they name the report) is the same.
            outs[name] = [l for l in open(out).read().splitlines() if not l.startswith("#")]
    check(len(outs) == 3 and outs["xml"] == outs["txt"] == outs["json"],
          "the three forms of the same counts give the same model")
    # Several reports at once: the nodes of both are used.
    p = calibrate(CFG, XML, JSN, "--json")
    check(p.returncode == 0, "two reports: %s" % p.stderr)
    if p.returncode == 0:
        j = json.loads(p.stdout)
        check(len(j["nodes"]) == 10, "two reports: 10 nodes (%d)" % len(j["nodes"]))


def errors():
    w = fresh("errors")
    out = os.path.join(w, "cal.yaml")
    with open(out, "w") as f:
        f.write("# an earlier file\n")

    def refused(args, words, what):
        p = calibrate(*args, "--out", out)
        check(p.returncode == 3, "%s: exit 3 (got %d; %s)" % (what, p.returncode, p.stderr.strip()))
        for word in words:
            check(word in p.stderr, "%s: the message names %r: %s" % (what, word, p.stderr.strip()))
        check(open(out).read() == "# an earlier file\n", "%s: nothing written" % what)

    refused([CFG, os.path.join(DATA, "eeg_deep4_post_synth_resources.xml")],
            ["eeg_deep4_post_synth_resources.xml", "ConvolutionInputGenerator1D_0", "another design"], "another design")
    foreign = os.path.join(w, "foreign.txt")
    with open(foreign, "w") as f:
        f.write("Just some notes about my FPGA build.\n")
    refused([CFG, foreign], ["foreign.txt", "not a utilisation report", "report_utilization -hierarchical"], "foreign file")
    trunc = os.path.join(w, "truncated.xml")
    with open(XML) as f:
        t = f.read()
    with open(trunc, "w") as f:
        f.write(t[: len(t) // 2])
    refused([CFG, trunc], ["truncated.xml", "truncated"], "truncated XML")
    trunc_txt = os.path.join(w, "truncated.rpt")
    with open(TXT) as f:
        t = f.read()
    with open(trunc_txt, "w") as f:
        f.write(t[: len(t) * 2 // 3])
    refused([CFG, trunc_txt], ["truncated.rpt", "truncated"], "truncated text")
    none = os.path.join(w, "fifos_only.json")
    with open(none, "w") as f:
        json.dump({"(top)": {"LUT": 100, "FF": 100}, "StreamingFIFO_0": {"LUT": 31, "FF": 14}}, f)
    refused([CFG, none], ["fifos_only.json", "no instance matched"], "zero matched instances")
    refused([CFG, os.path.join(w, "missing.xml")], ["missing.xml"], "a missing report")
    # A cost-model file with an unknown key, or a missing one, used in map: exit 3, named.
    bad = os.path.join(w, "bad.yaml")
    with open(bad, "w") as f:
        f.write("mvu_lut_base: 40\nmvu_lut_bsae: 3\n")
    p = mpsim("map", CFG, "--set", "hardware.cost_model=" + bad)
    check(p.returncode == 3 and "bad.yaml" in p.stderr and "mvu_lut_bsae" in p.stderr,
          "unknown key in a cost-model file: %d %s" % (p.returncode, p.stderr.strip()))
    with open(bad, "w") as f:
        f.write("intervals:\n  mvau:\n    lut: {p10: 0.2, p90: 0.1}\n")
    p = mpsim("map", CFG, "--set", "hardware.cost_model=" + bad)
    check(p.returncode == 3 and "p10" in p.stderr, "p10 > p90 refused: %s" % p.stderr.strip())
    p = mpsim("map", CFG, "--set", "hardware.cost_model=" + os.path.join(w, "nope.yaml"))
    check(p.returncode == 3 and "nope.yaml" in p.stderr and "not found" in p.stderr,
          "missing cost-model file: %d %s" % (p.returncode, p.stderr.strip()))
    # mapping.layers.<layer>.swu_simd: the sliding window's own SIMD; an error on a layer without one.
    eeg = os.path.join(SRC, "bench", "calibrate", "eeg_deep4.yaml")
    p = mpsim("map", eeg, "--json")
    q = mpsim("map", eeg, "--json", "--set", "mapping.layers.conv0.swu_simd=1")
    check(p.returncode == 0 and q.returncode == 0, "map eeg_deep4: %s %s" % (p.stderr, q.stderr))
    if p.returncode == 0 and q.returncode == 0:
        swu = lambda out: [l for l in json.loads(out)["layers"] if l["name"] == "conv0.swu"][0]
        a, b = swu(p.stdout), swu(q.stdout)
        check(a["simd"] == 25 and b["simd"] == 1, "swu_simd sets the window's SIMD (%s, %s)" % (a["simd"], b["simd"]))
        check(a["resources"]["lut"] != b["resources"]["lut"], "and its estimate")
    p = mpsim("map", CFG, "--set", "mapping.layers.fc0.swu_simd=2")
    check(p.returncode == 3 and "swu_simd" in p.stderr and "no sliding-window unit" in p.stderr,
          "swu_simd on an fc layer: %d %s" % (p.returncode, p.stderr.strip()))
    p = mpsim("map", CFG, "--set", "mapping.layers.out_quant.swu_simd=2")
    check(p.returncode == 3 and "no sliding-window unit" in p.stderr,
          "swu_simd on a quantizer: %d %s" % (p.returncode, p.stderr.strip()))
    # Usage errors: no report.
    p = calibrate(CFG)
    check(p.returncode == 2, "calibrate without a report: exit 2 (%d)" % p.returncode)


run_part({"roundtrip": roundtrip, "formats": formats, "errors": errors})
