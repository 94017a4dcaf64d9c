#!/usr/bin/python3
"""Restates the per-layer synthesis results of ../shared/reference/synth as mpsim test fixtures.

Usage: bench/make_synth_fixtures.py [REFERENCE_SYNTH_DIR] [OUT_DIR]
       (defaults: ../shared/reference/synth and test/data/synth, relative to the repository)

For every build it writes OUT_DIR/<build>.json: the build's nodes with the parameters mpsim's cost
model needs (folding, widths, memory mode, ram style, depths), the measured LUT / FF / BRAM18 /
URAM / DSP of each node and, where the build has one, FINN's own analytical estimate. Each file
names its origin (the reference folder and files); nodes that cannot be matched to a configuration
are listed under "excluded" with the reason. Deterministic: the same input gives the same bytes.
"""
import csv
import json
import math
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BUILDS = {
    # folder: (short name, device family, has URAM)
    "umav1511_finn__cybsec-mlp-w2a2_pynqz1": ("cybsec_w2a2_pynqz1", "7series", False),
    "pgreksic_FINN_Export_AXI_Lite_Missing__cnv-w4a4_pynqz1-part": ("cnv_w4a4_pynqz1", "7series", False),
    "zhangks98_eeg-adapt__eeg-deep4-1d-cnn_zcu104_1a4d06e": ("eeg_deep4_zcu104", "ultrascale+", True),
    "zhangks98_eeg-adapt__eeg-deep4-1d-cnn-6bit_zcu104_53295f4": ("eeg_deep4_6bit_zcu104", "ultrascale+", True),
    "kf7lsu_pytorchFACILE__facile-mlp-w6a6_ultra96_63cbd6c": ("facile_w6a6_ultra96", "ultrascale+", False),
    "kf7lsu_pytorchFACILE__facile-mlp-w4a4_ultra96_0301a9d": ("facile_w4a4_ultra96", "ultrascale+", False),
}

LICENCE = {
    "umav1511_finn__cybsec-mlp-w2a2_pynqz1": "source repository umav1511/finn: BSD-3-Clause",
}


def dtype(s):
    """FINN datatype name -> (bits, signed, bipolar)."""
    if s is None:
        return None
    s = s.strip()
    if s.startswith("BIPOLAR"):
        return (1, True, True)
    if s == "BINARY":
        return (1, False, False)
    m = re.match(r"(U?)INT(\d+)", s)
    if not m:
        raise ValueError("unknown datatype " + s)
    return (int(m.group(2)), m.group(1) == "", False)


def apint(s):
    """'ap_int<4>' / 'ap_uint<8>' -> (bits, signed)."""
    m = re.match(r"ap_(u?)int<(\d+)>", s.strip())
    return (int(m.group(2)), m.group(1) == "")


def measured_rows(folder):
    rows = {}
    with open(os.path.join(folder, "per_layer_measured.csv")) as f:
        for r in csv.DictReader(f):
            rows[r["node"]] = {
                "lut": int(r["LUT"]),
                "lutram": int(r["LUTRAM"]),
                "srl": int(r["SRL"]),
                "ff": int(r["FF"]),
                "bram18": int(r["BRAM18_equiv"]),
                "ramb36": int(r["RAMB36"]),
                "ramb18": int(r["RAMB18"]),
                "uram": int(r["URAM"]),
                "dsp": int(r["DSP"]),
            }
    return rows


def finn_estimates(folder):
    est = {}
    path = os.path.join(folder, "finn_estimate_vs_measured.csv")
    if not os.path.exists(path):
        return est
    with open(path) as f:
        for r in csv.DictReader(f):
            est[r["node"]] = {
                "lut": float(r["est_LUT"]),
                "bram18": float(r["est_BRAM_18K"]),
                "dsp": float(r["est_DSP"]),
                "uram": float(r["est_URAM"]),
            }
    return est


def mvau(name, mw, mh, pe, simd, w, a, out, acc, steps, pixels, mem_mode, ram_style, res_type):
    return {
        "name": name, "op": "mvau", "mw": mw, "mh": mh, "pe": pe, "simd": simd,
        "wbits": w[0], "wsigned": w[1], "abits": a[0], "asigned": a[1], "abipolar": a[2],
        "obits": out, "acc": acc, "steps": steps, "pixels": pixels,
        "mem_mode": mem_mode, "ram_style": ram_style, "res_type": res_type,
    }


def onnx_nodes(cfg):
    """Nodes of a layers_config decoded from an ONNX model (FACILE, EEG)."""
    nodes, excluded = [], []
    for n in cfg["nodes"]:
        a, op, name = n["attrs"], n["op_type"], n["name"]
        if op == "StreamingFCLayer_Batch":
            w, x, o = dtype(a["weightDataType"]), dtype(a["inputDataType"]), dtype(a["outputDataType"])
            acc = dtype(a["accDataType"])[0]
            steps = 0 if a.get("noActivation", 0) else (2 ** o[0] - 1)
            nodes.append(mvau(name, a["MW"], a["MH"], a["PE"], a["SIMD"], w, x, o[0], acc, steps,
                              math.prod(a["numInputVectors"]), a.get("mem_mode", "const"),
                              a.get("ram_style", "auto"), a.get("resType", "lut")))
        elif op.startswith("ConvolutionInputGenerator"):
            x = dtype(a["inputDataType"])
            k, ifm, ofm = a["ConvKernelDim"], a["IFMDim"], a["OFMDim"]
            nodes.append({"name": name, "op": "swu", "kh": k[0], "kw": k[1], "ifm_h": ifm[0], "ifm_w": ifm[1],
                          "ofm_h": ofm[0], "ofm_w": ofm[1], "c": a["IFMChannels"], "simd": a["SIMD"],
                          "abits": x[0], "stride": a["Stride"][0], "ram_style": a.get("ram_style", "distributed"),
                          "one_d": op.endswith("1D")})
        elif op == "StreamingMaxPool_Batch":
            x = dtype(a["dataType"])
            img, pool = a["ImgDim"], a["PoolDim"]
            # finn-hlslib's StreamingMaxPool_Batch takes all channels of a pixel per cycle (PE = C).
            nodes.append({"name": name, "op": "pool", "ifm_h": img[0], "ifm_w": img[1], "kh": pool[0],
                          "kw": pool[1], "c": a["NumChannels"], "pe": a["NumChannels"], "abits": x[0]})
        elif op == "Thresholding_Batch":
            x, o = dtype(a["inputDataType"]), dtype(a["outputDataType"])
            nodes.append({"name": name, "op": "thresholding", "c": a["NumChannels"], "pe": a["PE"],
                          "inbits": x[0], "obits": o[0], "steps": a["numSteps"],
                          "pixels": math.prod(a["numInputVectors"]), "mem_mode": a.get("mem_mode", "const")})
        elif op == "StreamingDataWidthConverter_Batch":
            nodes.append({"name": name, "op": "dwc", "inw": a["inWidth"], "outw": a["outWidth"]})
        elif op == "StreamingFIFO":
            bits = dtype(a["dataType"])[0]
            nodes.append({"name": name, "op": "fifo", "depth": a["depth"], "width": a["folded_shape"][-1] * bits,
                          "impl_style": a.get("impl_style", "rtl"), "ram_style": a.get("ram_style", "auto")})
        else:
            excluded.append({"name": name, "reason": "op type %s has no cost form" % op})
    # The measured FIFOs are renumbered StreamingFIFO_0..n in the order of the graph: match by order.
    fifos = [n for n in nodes if n["op"] == "fifo"]
    for i, f in enumerate(fifos):
        f["config_name"] = f["name"]
        f["name"] = "StreamingFIFO_%d" % i
    return nodes, excluded


def cnv_nodes(cfg):
    nodes, excluded = [], []
    defs = cfg["nodes"]
    for name, n in defs.items():
        d = n.get("hls_defines", {})
        call = n.get("hls_call", "")
        if name.startswith("StreamingFCLayer_Batch"):
            types = re.findall(r"Slice<(ap_u?int<\d+>)>", call)
            tsrc, tdst = apint(types[0]), apint(types[1])
            w = re.search(r"Identity, (ap_u?int<\d+>)", call)
            wt = apint(w.group(1))
            tmem = int(d["TMEM1"])
            steps = 2 ** tdst[0] - 1 if tmem > 0 else 0
            nodes.append(mvau(name, int(d["MW1"]), int(d["MH1"]), int(d["PE1"]), int(d["SIMD1"]),
                              (wt[0], wt[1]), (tsrc[0], tsrc[1], False), tdst[0], None, steps,
                              int(d["numReps"]), n["mem_mode"], n["ram_style"], n["resType"]))
        elif name.startswith("ConvolutionInputGenerator"):
            k, ifm, ofm = int(d["ConvKernelDim1"]), int(d["IFMDim1"]), int(d["OFMDim1"])
            nodes.append({"name": name, "op": "swu", "kh": k, "kw": k, "ifm_h": ifm, "ifm_w": ifm, "ofm_h": ofm,
                          "ofm_w": ofm, "c": int(d["IFMChannels1"]), "simd": int(d["SIMD1"]),
                          "abits": int(d["Input_precision1"]), "stride": int(d["Stride1"]),
                          "ram_style": n["ram_style"], "one_d": False})
        elif name.startswith("StreamingDataWidthConverter"):
            nodes.append({"name": name, "op": "dwc", "inw": int(d["InWidth"]), "outw": int(d["OutWidth"])})
        elif name.startswith("Thresholding_Batch"):
            types = re.findall(r"Slice<(ap_u?int<\d+>)>", call)
            x, o = apint(types[0]), apint(types[1])
            nodes.append({"name": name, "op": "thresholding", "c": int(d["NumChannels1"]), "pe": int(d["PE1"]),
                          "inbits": x[0], "obits": o[0], "steps": 2 ** o[0] - 1, "pixels": int(d["numReps"]),
                          "mem_mode": n["mem_mode"]})
        elif name.startswith("LabelSelect_Batch"):
            m = re.search(r"LabelSelect_Batch<(\d+), (\d+), (\d+), (ap_u?int<\d+>)", call)
            nodes.append({"name": name, "op": "labelselect", "classes": int(m.group(1)), "pe": int(m.group(2)),
                          "k": int(m.group(3)), "abits": apint(m.group(4))[0]})
        elif name.startswith("StreamingFIFO"):
            excluded.append({"name": name, "reason": "the stitched partition renumbered its FIFOs (SOURCES.md): "
                             "measured FIFO rows cannot be matched to configured depths"})
    return nodes, excluded


def cnv_pools(folder):
    """The CNV build's max pools are only in the extracted HLS defines."""
    ext = json.load(open(os.path.join(folder, "hls_top_defines_extracted.json")))
    out = []
    for name in sorted(ext):
        if not name.startswith("StreamingMaxPool"):
            continue
        d, call = ext[name][0]["defines"], ext[name][0]["hls_call"]
        bits = apint(re.search(r"(ap_u?int<\d+>)", call).group(1))[0]
        img, pool, c = int(d["ImgDim"]), int(d["PoolDim"]), int(d["NumChannels"])
        out.append({"name": name, "op": "pool", "ifm_h": img, "ifm_w": img, "kh": pool, "kw": pool, "c": c, "pe": c,
                    "abits": bits})
    return out


def cybsec_nodes(cfg):
    nodes, excluded = [], []
    d = cfg["nodes"]
    fcs = []
    for name, n in d.items():
        if name.startswith("StreamingFCLayer_Batch"):
            pc = n["param_counts"]
            acc = int(re.search(r"param_threshold_(\d+)b", " ".join(pc)).group(1))
            w = dtype(n["weightDataType"])
            x = dtype(n["inputDataType"].split("(")[0] if n["inputDataType"].startswith("BIPOLAR") else
                      n["inputDataType"])
            out = n["outputDataType"]
            obits, steps = (1, 1) if out.startswith("1-threshold") else (dtype(out)[0], 2 ** dtype(out)[0] - 1)
            fcs.append(mvau(name, n["MW"], n["MH"], n["PE"], n["SIMD"], w, x, obits, acc, steps, 1, n["mem_mode"],
                            n["ram_style"], n["resType"]))
    nodes += fcs
    # Width converters between the FC layers: producer PE x out bits -> consumer SIMD x in bits.
    for i in range(len(fcs) - 1):
        p, q = fcs[i], fcs[i + 1]
        nodes.append({"name": "StreamingDataWidthConverter_Batch_%d" % i, "op": "dwc", "inw": p["pe"] * p["obits"],
                      "outw": q["simd"] * q["abits"], "derived": "widths from the neighbouring layers' PE and SIMD"})
    f = d["StreamingFIFO_0"]
    nodes.append({"name": "StreamingFIFO_0", "op": "fifo", "depth": f["depth"], "width": fcs[0]["simd"] * fcs[0]["abits"],
                  "impl_style": f["impl_style"], "ram_style": f["ram_style"],
                  "derived": "width from the first layer's SIMD x input bits"})
    excluded.append({"name": "StreamingFIFO_1", "reason": "not in final_hw_config.json (no depth)"})
    return nodes, excluded


def main():
    ref = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "reference", "synth")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "test", "data", "synth")
    os.makedirs(out, exist_ok=True)
    for folder, (short, family, uram) in BUILDS.items():
        path = os.path.join(ref, folder)
        cfg = json.load(open(os.path.join(path, "layers_config.json")))
        if short.startswith("cnv"):
            nodes, excluded = cnv_nodes(cfg)
            nodes += cnv_pools(path)
        elif short.startswith("cybsec"):
            nodes, excluded = cybsec_nodes(cfg)
        else:
            nodes, excluded = onnx_nodes(cfg)
        meas, est = measured_rows(path), finn_estimates(path)
        kept = []
        for n in nodes:
            if n["name"] not in meas:
                excluded.append({"name": n["name"], "reason": "no measured row"})
                continue
            n["measured"] = meas[n["name"]]
            if n["name"] in est:
                n["finn_estimate"] = est[n["name"]]
            kept.append(n)
        names = {n["name"] for n in kept} | {e["name"] for e in excluded}
        for m in sorted(meas):
            if m not in names:
                excluded.append({"name": m, "reason": "measured, but no configuration matches it"})
        doc = {
            "origin": "restated from ../shared/reference/synth/%s/ (per_layer_measured.csv, layers_config.json%s; "
                      "see its SOURCES.md) by bench/make_synth_fixtures.py" %
                      (folder, ", finn_estimate_vs_measured.csv" if est else ""),
            "licence": LICENCE.get(folder, "source repository states no licence: measured counts restated as facts"),
            "build": short,
            "device_family": family,
            "has_uram": uram,
            "nodes": kept,
            "excluded": sorted(excluded, key=lambda e: e["name"]),
        }
        with open(os.path.join(out, short + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=False)
            f.write("\n")
        print("%s: %d nodes, %d excluded" % (short, len(kept), len(excluded)))


if __name__ == "__main__":
    main()
