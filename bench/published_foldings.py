#!/usr/bin/python3
"""The scheduler against published foldings (docs/scheduler-quality.md, issue #12 item 7).

Usage: /usr/bin/python3 bench/published_foldings.py [--mpsim build/mpsim] [--reference DIR] [--out FILE]

For each finn-examples build whose network mpsim has (../shared/reference/finn-examples/build/*/
folding_config/*.json): the published folding is evaluated by mpsim's cost model and closed forms
(`mapping.finn_folding`, manual mode) on its device and clock: its fps F and its cost (the sum over
LUT, FF, DSP, BRAM18 and URAM of the share of the device, the scheduler's own measure). Then
`goal: target_fps` at F: mpsim's design must reach F and cost no more. Prints a Markdown table
(or writes it to --out) and exits 1 when a design costs more or misses F.
"""
import argparse
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "reference", "finn-examples", "build"))

# (name, folding config under build/, network overrides, device, clock MHz). Quantisation as the
# finn-examples builds name it; the clocks are those of the builds' configs (BNN-PYNQ at 100 MHz,
# the others at 200 MHz).
CASES = [
    ("CNV-W1A1 pynq-z1", "bnn-pynq/folding_config/cnv-w1a1_folding_config.json",
     ["network.model=cnv", "network.quant.weights=1", "network.quant.activations=1"], "pynq-z1", 100),
    ("CNV-W1A2 pynq-z1", "bnn-pynq/folding_config/cnv-w1a2_folding_config.json",
     ["network.model=cnv", "network.quant.weights=1", "network.quant.activations=2"], "pynq-z1", 100),
    ("CNV-W2A2 pynq-z1", "bnn-pynq/folding_config/cnv-w2a2_folding_config.json",
     ["network.model=cnv", "network.quant.weights=2", "network.quant.activations=2"], "pynq-z1", 100),
    ("TFC-W1A1 pynq-z1", "bnn-pynq/folding_config/tfc-w1a1_folding_config.json",
     ["network.model=tfc", "network.quant.weights=1", "network.quant.activations=1"], "pynq-z1", 100),
    ("TFC-W1A2 pynq-z1", "bnn-pynq/folding_config/tfc-w1a2_folding_config.json",
     ["network.model=tfc", "network.quant.weights=1", "network.quant.activations=2"], "pynq-z1", 100),
    ("TFC-W2A2 pynq-z1", "bnn-pynq/folding_config/tfc-w2a2_folding_config.json",
     ["network.model=tfc", "network.quant.weights=2", "network.quant.activations=2"], "pynq-z1", 100),
    ("KWS MLP W3A3 pynq-z1", "kws/folding_config/kws_folding_config.json",
     ["network.model={ref}/../../onnx/qonnx_model_zoo/kwsmlp_w3a3.onnx"], "pynq-z1", 100),
    ("MobileNet-v1 W4A4 zcu102", "mobilenet-v1/folding_config/ZCU102_folding_config.json",
     ["network.model=mobilenet_v1", "network.quant.weights=4", "network.quant.activations=4",
      "network.quant.first_layer.weights=8"], "zcu102", 200),
    ("MobileNet-v1 W4A4 zcu104", "mobilenet-v1/folding_config/ZCU104_folding_config.json",
     ["network.model=mobilenet_v1", "network.quant.weights=4", "network.quant.activations=4",
      "network.quant.first_layer.weights=8"], "zcu104", 200),
    ("MobileNet-v1 W4A4 u250", "mobilenet-v1/folding_config/U250_folding_config.json",
     ["network.model=mobilenet_v1", "network.quant.weights=4", "network.quant.activations=4",
      "network.quant.first_layer.weights=8"], "u250", 200),
]
NOT_COVERED = ["VGG10-RadioML (ZCU104) and GTSRB (no network for them in mpsim's zoo)",
               "ResNet-50 W1A2 on U250: its FINN graph orders the MVAUs of a bottleneck block differently from "
               "the zoo's layers (the shortcut's conv among them), so `mapping.finn_folding`, which applies MVAU "
               "nodes in order, would fold the wrong layers; it needs the build's FINN-ONNX model"]
KINDS = ["lut", "ff", "dsp", "bram18", "uram"]


def mpsim_map(mpsim, sets):
    args = [mpsim, "-q", "map", "--json"]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(" ".join(l.replace("[error]", "").strip() for l in p.stderr.strip().splitlines()[:2]))
    return json.loads(p.stdout)


def cost(m):
    r = m["resources"]
    return sum(r["total"][k] / r["device"][k] for k in KINDS if r["device"][k] > 0)


def table(mpsim, reference):
    """The Markdown lines of the comparison and whether every design costs no more."""
    if not os.path.isdir(reference):
        raise SystemExit("published_foldings.py: %s: no such folder (the finn-examples folding configs)" % reference)
    rows, ok = [], True
    for name, rel, net, dev, mhz in CASES:
        base = [k.replace("{ref}", reference) for k in net] + ["hardware.device=" + dev, "hardware.clock_mhz=%g" % mhz]
        folding = os.path.join(reference, rel)
        try:
            pub = mpsim_map(mpsim, base + ["mapping.mode=manual", "mapping.finn_folding=" + folding])
        except RuntimeError as e:
            rows.append("| %s | - | - | - | - | - | published folding not evaluated: %s |" % (name, e))
            ok = False
            continue
        fps = pub["summary"]["fps"]
        try:
            own = mpsim_map(mpsim, base + ["mapping.mode=auto", "mapping.goal=target_fps",
                                             "mapping.target_fps=%.6f" % fps])
        except RuntimeError as e:
            rows.append("| %s | %.1f | %.3f | - | - | - | scheduler failed: %s |" % (name, fps, cost(pub), e))
            ok = False
            continue
        c_pub, c_own = cost(pub), cost(own)
        reach = own["summary"]["fps"] >= fps * (1 - 1e-9)
        good = reach and c_own <= c_pub * (1 + 1e-9)
        ok = ok and good
        per = ", ".join("%s %.0f/%.0f" % (k, own["resources"]["total"][k], pub["resources"]["total"][k])
                        for k in KINDS if pub["resources"]["total"][k] or own["resources"]["total"][k])
        rows.append("| %s | %.1f | %.3f | %.1f | %.3f | %+.1f %% | %s%s |" %
                    (name, fps, c_pub, own["summary"]["fps"], c_own, 100 * (c_own / c_pub - 1), per,
                     "" if good else (" **costs more**" if reach else " **misses the target**")))
    head = ["## Against published foldings (finn-examples)", "",
            "Cost: the sum over LUT, FF, DSP, BRAM18, URAM of the share of the device, both designs by mpsim's "
            "cost model; the target is the published folding's own fps by mpsim's closed forms "
            "(`mapping.finn_folding`, manual mode); mpsim's design: `goal: target_fps` at that fps.", "",
            "| build | published fps | published cost | mpsim fps | mpsim cost | difference | resources mpsim/published |",
            "|---|---|---|---|---|---|---|"]
    tail = ["", "Not covered: " + "; ".join(NOT_COVERED) + ".",
            "", "mpsim's design costs no more than every published folding it was compared with: **%s**" %
            ("yes" if ok else "NO")]
    return head + rows + tail, ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpsim", default="build/mpsim")
    ap.add_argument("--reference", default=DEFAULT_REF)
    ap.add_argument("--out")
    a = ap.parse_args()
    lines, ok = table(a.mpsim, a.reference)
    text = "\n".join(["Measured by `/usr/bin/python3 bench/published_foldings.py` (%s, %d cores)." %
                      (platform.node() or "this machine", os.cpu_count() or 0), ""] + lines) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
