#!/usr/bin/python3
"""mpsim's end-to-end fps against public board measurements (issue #17, docs/system.md "Measured").

Usage: /usr/bin/python3 bench/board_measurements.py [--mpsim build/mpsim] [--reference DIR] [--out FILE]

The measurements are the `throughput_test()` outputs that finn-examples' notebooks carry
(Xilinx/finn-examples, finn_examples/notebooks/*.ipynb at commit 2cf1643, 2024-01-04): FINN's
driver times one `execute_on_buffers()` call of a batch and prints batch / runtime. For each build
whose network and folding mpsim has, mpsim simulates the same batch with the board's host preset
(`host.batch`, docs/system.md "Host and shell") and prints the end-to-end fps beside the measured
one. The foldings are the finn-examples build configs in ../shared/reference/finn-examples
(build/ at 810a1e77, history/ for older builds); which exact bitfile a notebook ran is not
recorded, so a folding that changed between the build and the notebook run is a source of error
(see the notes column).

Prints a Markdown table (or writes it to --out); exits 1 when a case cannot be run. It does not
judge the error: the numbers are for docs/system.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "reference"))

# (build, run config text with {ref} for the reference folder, batch, measured fps, measured runtime
# ms, notes). Measured values are copied from the notebooks' printed dictionaries.
CASES = [
    ("TFC-W1A1 pynq-z1 100 MHz", """
network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: manual, finn_folding: "{ref}/finn-examples/build/bnn-pynq/folding_config/tfc-w1a1_folding_config.json"}
""", 1000, 837019.3574136898, 1.1947154998779297, "0_mnist_with_fc_networks.ipynb"),
    ("CNV-W1A1 pynq-z1 100 MHz", """
network: {model: cnv, quant: {weights: 1, activations: 1}}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: manual, finn_folding: "{ref}/finn-examples/build/bnn-pynq/folding_config/cnv-w1a1_folding_config.json"}
""", 1000, 3020.496696706212, 331.0713768005371, "1_cifar10_with_cnv_networks.ipynb"),
    ("KWS MLP W3A3 pynq-z1 100 MHz", """
network: {model: "{ref}/onnx/qonnx_model_zoo/kwsmlp_w3a3.onnx"}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: manual, finn_folding: "{ref}/finn-examples/build/kws/folding_config/kws_folding_config.json"}
""", 10102, 247502.00946294848, 40.81583023071289, "4_keyword_spotting.ipynb"),
    ("UNSW-NB15 MLP W2A2 pynq-z1 100 MHz", """
network: {model: "{ref}/onnx/qonnx_model_zoo/unsw_nb15-mlp-w2a2.onnx"}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: auto, goal: target_fps, target_fps: 1000000}
""", 1000, 926918.0110497237, 1.0788440704345703,
     "6_cybersecurity_with_mlp.ipynb; folded as the build script asks FINN to (target_fps 1,000,000 at 100 MHz: "
     "mpsim's `goal: target_fps`); the history folding f4df09da (PE 64, SIMD 600) is a later, faster build"),
]
NOT_COVERED = ["VGG10-RadioML (ZCU104, 250 MHz, batch 1024: 231,049 fps) and GTSRB: no network for them in "
               "mpsim's zoo", "MobileNet-v1 and ResNet-50 (notebook 2): the notebooks ran several boards and clocks "
               "over their history and do not say which board a printed result is from"]


def run_case(mpsim, ref, text, batch, work):
    cfg = os.path.join(work, "run.yaml")
    with open(cfg, "w") as f:
        f.write(text.replace("{ref}", ref) + "host: {batch: %d}\n" % batch)
    out = os.path.join(work, "out")
    p = subprocess.run([mpsim, "-q", "run", cfg, "--out", out], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(" ".join(l.strip() for l in p.stderr.strip().splitlines()[:2]))
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpsim", default="build/mpsim")
    ap.add_argument("--reference", default=DEFAULT_REF)
    ap.add_argument("--out")
    a = ap.parse_args()
    if not os.path.isdir(a.reference):
        sys.exit("board_measurements.py: %s: no such folder (../shared/reference)" % a.reference)
    rows, errs, ok = [], [], True
    for name, text, batch, fps, runtime, notes in CASES:
        with tempfile.TemporaryDirectory() as work:
            try:
                r = run_case(a.mpsim, a.reference, text, batch, work)
            except RuntimeError as e:
                rows.append("| %s | %d | %.1f | - | - | - | - | not run: %s |" % (name, batch, fps, e))
                ok = False
                continue
        h = r["system"]["host"]
        e2e = h["end_to_end"]["fps"]
        err = e2e / fps - 1
        errs.append(abs(err))
        rows.append("| %s | %d | %.1f | %.3f | %.1f | %.3f | %+.2f %% | %s |" %
                    (name, batch, fps, runtime, e2e, h["end_to_end"]["runtime_us"] / 1e3, 100 * err, notes))
    lines = ["| build | batch | measured fps | measured runtime ms | mpsim end-to-end fps | mpsim runtime ms | error | "
             "notes |", "|---|---|---|---|---|---|---|---|"] + rows
    if errs:
        lines += ["", "Absolute error: median %.2f %%, worst %.2f %% over %d builds." %
                  (100 * statistics.median(errs), 100 * max(errs), len(errs))]
    lines += ["", "Not covered: " + "; ".join(NOT_COVERED) + "."]
    text = "\n".join(lines) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
