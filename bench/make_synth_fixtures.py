#!/usr/bin/python3
"""Restates the per-layer synthesis results of ../shared/reference/synth as mpsim test fixtures.

Usage: bench/make_synth_fixtures.py [REFERENCE_SYNTH_DIR] [OUT_DIR]
       (defaults: ../shared/reference/synth and test/data/synth, relative to the repository)

For every build it writes OUT_DIR/<build>.json: the build's nodes with the parameters mpsim's cost
model needs (folding, widths, memory mode, ram style, depths), the measured LUT / FF / BRAM18 /
URAM / DSP of each node and, where the build has one, FINN's own analytical estimate. Builds with a
hierarchical post-route report (output_final/report/post_synth_resources.xml) also get their IODMAs
(idma0 / odma0: op "dma", with the stream width and transfer size FINN's InsertIODMA built them
for), the measured shell (every top-level instance that is neither a dataflow partition nor a DMA)
and the measured top-level totals of the whole design ("top"). Each file
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


HIER_REPORT = os.path.join("output_final", "report", "post_synth_resources.xml")
# FINN's ZynqBuild of these builds' generation inserts the IODMAs with InsertIODMA(64): the AXI-MM
# interface is gcd(transfer bits, 64) (src/finn/transformation/fpgadataflow/make_zynq_proj.py and
# insert_iodma.py of FINN, e.g. umav1511/finn, the cybsec build's fork).
IODMA_PORT_BITS = 64


def hier_rows(path):
    """(level, instance, {column: count}) of a Vivado report_utilization -hierarchical XML (RptDoc)."""
    text = open(path).read()
    out, header = [], None
    for row in re.findall(r"<tablerow[^>]*>(.*?)</tablerow>", text, re.S):
        cells = re.findall(r'contents="([^"]*)"', row)
        if not cells:
            continue
        if "<tableheader" in row:
            header = cells
            continue
        inst = cells[0]
        level = (len(inst) - len(inst.lstrip(" "))) // 2
        vals = {h: int(v) for h, v in zip(header[2:], cells[2:])}
        out.append((level, inst.strip(), vals))
    return out


def counts(v):
    """The fixture's measured record from one row of the hierarchical report."""
    r36, r18 = v.get("RAMB36", 0), v.get("RAMB18", 0)
    return {"lut": v["Total LUTs"], "lutram": v.get("LUTRAMs", 0), "srl": v.get("SRLs", 0), "ff": v["FFs"],
            "bram18": 2 * r36 + r18, "ramb36": r36, "ramb18": r18, "uram": v.get("URAM", 0),
            "dsp": v.get("DSP48 Blocks", v.get("DSP Blocks", 0))}


def io_streams(short, cfg, nodes):
    """(stream bits padded to bytes, words per frame) of the graph input and output: the first node's
    input stream and the last node's output stream, as FINN's InsertIODMA sizes its IODMAs."""
    pad = lambda b: 8 * math.ceil(b / 8)
    if short.startswith("cybsec"):
        fcs = [n for n in nodes if n["op"] == "mvau"]
        first, last = fcs[0], fcs[-1]
        return ((pad(first["simd"] * first["abits"]), first["mw"] // first["simd"]),
                (pad(last["pe"] * last["obits"]), last["mh"] // last["pe"]))
    ns = cfg["nodes"]
    first, last = ns[0], ns[-1]
    if first["op_type"] != "StreamingFIFO":
        raise ValueError("%s: first node %s is not the input FIFO" % (short, first["name"]))
    a = first["attrs"]
    fin = (pad(a["folded_shape"][-1] * dtype(a["dataType"])[0]), math.prod(a["folded_shape"][:-1]))
    a = last["attrs"]
    obits = dtype(a["outputDataType"])[0]
    if last["op_type"] == "StreamingFCLayer_Batch":
        words = math.prod(a["numInputVectors"]) * a["MH"] // a["PE"]
    elif last["op_type"] == "Thresholding_Batch":
        words = math.prod(a["numInputVectors"]) * a["NumChannels"] // a["PE"]
    else:
        raise ValueError("%s: no output stream rule for %s" % (short, last["op_type"]))
    return fin, (pad(a["PE"] * obits), words)


def design_level(short, path, cfg, nodes):
    """The IODMA nodes, the measured shell and the top-level totals of a build's hierarchical report."""
    rep = os.path.join(path, HIER_REPORT)
    if not os.path.exists(rep):
        return [], None, None
    rows = hier_rows(rep)
    part = re.search(r'partname="([^"]*)"', open(rep).read()).group(1)
    top = rows[0]
    assert top[0] == 0, "first row of %s is not the top" % rep
    (win, in_words), (wout, out_words) = io_streams(short, cfg, nodes)
    dmas, shell, shell_names = [], None, []
    for level, inst, v in rows:
        if level != 2:
            continue
        if inst in ("idma0", "odma0"):
            w, words = (win, in_words) if inst == "idma0" else (wout, out_words)
            dmas.append({"name": inst, "op": "dma", "direction": "in" if inst == "idma0" else "out",
                         "stream_bits": w, "beats": words, "port_bits": IODMA_PORT_BITS,
                         "derived": "stream width (padded to bytes) and words per frame of the %s node's %s stream; "
                                    "port: FINN's InsertIODMA(%d)" % ("first" if inst == "idma0" else "last",
                                                                     "input" if inst == "idma0" else "output",
                                                                     IODMA_PORT_BITS),
                         "measured": counts(v)})
        elif not inst.startswith("StreamingDataflowPartition") and not inst.startswith("("):
            shell_names.append(inst)
            c = counts(v)
            shell = c if shell is None else {k: shell[k] + c[k] for k in c}
    if len(dmas) != 2:
        raise ValueError("%s: expected idma0 and odma0 in %s" % (short, rep))
    device = "xc" + re.search(r"(7z\d{3}|zu\d+(?:eg|ev|cg))", part).group(1)  # '7z020clg400-1' -> xc7z020
    return (dmas,
            {"part": device, "instances": sorted(shell_names), "measured": shell},
            {"instance": top[1], "report": HIER_REPORT, "designstate": re.search(r'designstate="([^"]*)"',
                                                                              open(rep).read()).group(1),
             "measured": counts(top[2])})


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
        dmas, shell, top = design_level(short, path, cfg, nodes)
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
        for e in excluded:  # what the whole-design table misses (its notes)
            if e["name"] in meas:
                e["measured"] = meas[e["name"]]
        kept += dmas
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
        if top is not None:
            doc["origin"] += "; IODMAs, shell and top from %s" % HIER_REPORT
            doc["shell"] = shell
            doc["top"] = top
        with open(os.path.join(out, short + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=False)
            f.write("\n")
        print("%s: %d nodes (%d DMAs), %d excluded" % (short, len(kept), len(dmas), len(excluded)))


if __name__ == "__main__":
    main()
