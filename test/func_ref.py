#!/usr/bin/env python3
"""Independent NumPy reference for mpsim's bit-exact functional kernels (no code shared with C++).

Usage (every tensor is a .npy file; NCHW activations, conv weights (K, C/groups, kh, kw),
fully-connected weights (K, C*H*W); outputs are written as int64):

  func_ref.py conv X W OUT --xtype uint8 --wtype int4 [--channel-bits 2,4,...] --k K
              [--kernel KH KW] [--stride SH SW] [--pad PH PW] [--dil DH DW] [--groups G]
  func_ref.py fc X W OUT --xtype T --wtype T [--channel-bits ...] --k K
  func_ref.py threshold ACC THR OUT --out uint2        # THR: (1 or C, T) thresholds
  func_ref.py scaleshift ACC OUT --out int8 --scale 3[,..] --shift 4[,..] [--bias=-2[,..]]
  (negative values need the --opt=VALUE form)
  func_ref.py maxpool X OUT --kernel KH KW [--stride ..] [--pad ..] [--dil ..]
  func_ref.py avgpool X OUT --kernel KH KW [--stride ..] [--pad ..] [--dil ..] [--valid-only]
  func_ref.py gap X OUT
  func_ref.py add A B OUT --out int8 --scale-a SA --scale-b SB [--bias B] [--shift S]
  func_ref.py labelselect X OUT --k K   # indices of the K largest of each frame's C*H*W scores
  func_ref.py network DIR OUT [--dump D]   # a whole network: DIR/network.json, DIR/input.npy, weight
                                           # files; --dump: every layer's output values as D/<layer>.npy

network mode reads the description `mpsim run --functional` writes (DIR/network.json: the layers in
topological order with kind, inputs, geometry, types, requantiser and parameter files relative to
DIR) and computes every frame of DIR/input.npy (N, C, H, W) through the network, writing the output
layer's input tensor (N, C, H, W) as int64.

Types: intN (signed, two's complement), uintN, bipolar (stored bit 1 -> +1, 0 -> -1), N = 1..16.
Semantics (docs/functional.md): products and sums are exact (int64; the script aborts when a
value could leave int64); division by 2^s and averages round half towards +infinity;
results saturate to the output type; thresholds count t with acc >= t, plus -2^(bits-1) for
signed outputs; labelselect orders by descending score, equal scores by ascending index (ONNX TopK,
largest=1, sorted=1). Exit status 0 on success, 1 with a message on invalid input.
"""
import argparse
import sys

import numpy as np


def parse_type(s):
    if s == "bipolar":
        return ("bipolar", 1)
    if s.startswith("uint"):
        return ("unsigned", int(s[4:]))
    if s.startswith("int"):
        return ("signed", int(s[3:]))
    raise SystemExit("func_ref.py: unknown type " + s)


def stored_range(t):
    kind, bits = t
    if kind == "bipolar":
        return 0, 1
    if kind == "unsigned":
        return 0, 2 ** bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def decode(a, t, name):
    a = np.asarray(a).astype(np.int64)
    lo, hi = stored_range(t)
    if a.size and (a.min() < lo or a.max() > hi):
        raise SystemExit("func_ref.py: %s has values outside [%d, %d]" % (name, lo, hi))
    return 2 * a - 1 if t[0] == "bipolar" else a


def saturate(v, out):
    lo, hi = stored_range(out)
    return np.clip(v, lo, hi)


def round_shift(v, s):
    if s == 0:
        return v
    return np.floor_divide(v + (1 << (s - 1)), 1 << s)


def conv(x, w, k, kernel, stride, pad, dil, groups):
    n, c, h, wd = x.shape
    kh, kw = kernel
    cg, kg = c // groups, k // groups
    assert w.shape == (k, cg, kh, kw), "weights %s, expected %s" % (w.shape, (k, cg, kh, kw))
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    p = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    q = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, k, p, q), dtype=np.int64)
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        wg = w[g * kg:(g + 1) * kg]
        for r in range(kh):
            for s in range(kw):
                h0, w0 = r * dil[0], s * dil[1]
                win = xs[:, :, h0:h0 + stride[0] * (p - 1) + 1:stride[0], w0:w0 + stride[1] * (q - 1) + 1:stride[1]]
                y[:, g * kg:(g + 1) * kg] += np.einsum("nchw,kc->nkhw", win, wg[:, :, r, s])
    return y


def check_bound(xt, wt, length):
    def maxabs(t):
        lo, hi = stored_range(t)
        return 1 if t[0] == "bipolar" else max(-lo, hi)
    if maxabs(xt) * maxabs(wt) * length > 2 ** 63 - 1:
        raise SystemExit("func_ref.py: accumulator could exceed int64")


def load_weights(a):
    w = np.load(a.w)
    wt = parse_type(a.wtype)
    if a.channel_bits:
        bits = [int(b) for b in a.channel_bits.split(",")]
        rows = w.reshape(w.shape[0], -1)
        dec = np.empty(rows.shape, dtype=np.int64)
        for k, b in enumerate(bits):
            dec[k] = decode(rows[k], (wt[0], b), "weights of channel %d" % k)
        return dec.reshape(w.shape), [(wt[0], b) for b in bits]
    return decode(w, wt, "weights"), [wt]


def pool_windows(x, kernel, stride, pad, dil, fill):
    n, c, h, w = x.shape
    kh, kw = kernel
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=fill)
    valid = np.pad(np.ones((h, w), dtype=np.int64), ((pad[0], pad[0]), (pad[1], pad[1])))
    p = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    q = (w + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    wins, masks = [], []
    for r in range(kh):
        for s in range(kw):
            sl = (slice(r * dil[0], r * dil[0] + stride[0] * (p - 1) + 1, stride[0]),
                  slice(s * dil[1], s * dil[1] + stride[1] * (q - 1) + 1, stride[1]))
            wins.append(xp[(slice(None), slice(None)) + sl])
            masks.append(valid[sl])
    return np.stack(wins), np.stack(masks)


def threshold(acc, thr, out):
    thr = thr.astype(np.int64).reshape(-1, thr.shape[-1])
    c = acc.shape[1]
    rows = thr if thr.shape[0] == c else np.repeat(thr, c, axis=0)
    counts = (acc[:, :, :, :, None] >= rows[None, :, None, None, :]).sum(axis=-1)
    bias = -(2 ** (out[1] - 1)) if out[0] == "signed" else 0
    return (counts + bias).astype(np.int64)


def scaleshift(acc, scale, bias, shift, out):
    c = acc.shape[1]

    def per_channel(v):
        return np.broadcast_to(np.array(v, dtype=np.int64), (c,)).reshape(1, c, 1, 1)
    scale, bias, shift = per_channel(scale), per_channel(bias), per_channel(shift)
    v = acc.astype(object) * scale.astype(object) + bias.astype(object)  # exact Python integers
    half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0).astype(object)
    y = (v + half) // (np.left_shift(1, shift).astype(object))
    return saturate(y, out).astype(np.int64)


def pool(x, op, kernel, stride, pad, dil, valid_only=False):
    fill = np.iinfo(np.int64).min if op == "maxpool" else 0
    wins, masks = pool_windows(x.astype(np.int64), kernel, stride, pad, dil, fill)
    if op == "maxpool":
        return wins.max(axis=0)
    s = wins.sum(axis=0)
    d = masks.sum(axis=0) if valid_only else kernel[0] * kernel[1]
    return np.floor_divide(2 * s + d, 2 * d)


def gap(x):
    x = x.astype(np.int64)
    d = x.shape[2] * x.shape[3]
    s = x.sum(axis=(2, 3), keepdims=True)
    return np.floor_divide(2 * s + d, 2 * d)


def add(a, b, scale_a, scale_b, bias, shift, out):
    y = round_shift(a.astype(np.int64) * scale_a + b.astype(np.int64) * scale_b + bias, shift)
    return saturate(y, out).astype(np.int64)


def labelselect(x, k):
    """Top-k class indices per frame: a stable argsort of the negated scores keeps equal scores
    in ascending index order."""
    x = np.asarray(x, dtype=np.int64)
    flat = x.reshape(x.shape[0], -1)
    if not 1 <= k <= flat.shape[1]:
        raise SystemExit("func_ref.py: labelselect k=%d outside 1..%d" % (k, flat.shape[1]))
    idx = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    return idx.reshape(x.shape[0], k, 1, 1).astype(np.int64)


def decode_weights(w, types):
    """Decodes stored weights with one type, or one type per output channel (row)."""
    if len(types) == 1:
        return decode(w, types[0], "weights")
    rows = w.reshape(w.shape[0], -1)
    dec = np.empty(rows.shape, dtype=np.int64)
    for k, t in enumerate(types):
        dec[k] = decode(rows[k], t, "weights of channel %d" % k)
    return dec.reshape(w.shape)


def run_network(d, dump=None):
    import json
    import os
    with open(os.path.join(d, "network.json")) as f:
        net = json.load(f)
    x0 = np.load(os.path.join(d, net["input"])).astype(np.int64)
    vals = {}
    result = None
    for l in net["layers"]:
        kind = l["kind"]
        ins = [vals[i] for i in l["inputs"]]
        out = parse_type(l["out_type"])
        if kind == "input":
            decode(x0, out, "input")  # range check; tensors stay stored (bipolar: bits) until decoded
            y = x0
        elif kind in ("conv", "fc"):
            xt = parse_type(l["in_type"])
            x = decode(ins[0], xt, "input of " + l["name"])
            wts = [parse_type(t) for t in l["weight_types"]]
            w = decode_weights(np.load(os.path.join(d, l["weights"])), wts)
            k = l["out_channels"]
            if kind == "fc":
                x = x.reshape(x.shape[0], -1, 1, 1)
                w = w.reshape(k, -1, 1, 1)
                geo = ([1, 1], [1, 1], [0, 0], [1, 1], 1)
            else:
                geo = (l["kernel"], l["stride"], l["pad"], l["dil"], l["groups"])
            for wt in wts:
                check_bound(xt, wt, w[0].size)
            acc = conv(x, w, k, *geo)
            rq = l["requant"]
            if rq == "thresholds":
                y = threshold(acc, np.load(os.path.join(d, l["thresholds"])), out)
            elif rq == "scale_shift":
                y = scaleshift(acc, l["scale"], l["bias"], l["shift"], out)
            else:
                y = saturate(acc, out)
        elif kind in ("maxpool", "avgpool"):
            y = pool(ins[0], kind, l["kernel"], l["stride"], l["pad"], l["dil"])
            if kind == "avgpool":
                y = saturate(y, out)
        elif kind == "global_avgpool":
            y = saturate(gap(ins[0]), out)
        elif kind == "add":
            p = l.get("add", {})
            y = add(ins[0], ins[1], p.get("scale_a", 1), p.get("scale_b", 1), p.get("bias", 0), p.get("shift", 0), out)
        elif kind == "quantizer":
            y = threshold(ins[0].astype(np.int64), np.load(os.path.join(d, l["thresholds"])), out)
        elif kind == "concat":
            # Values pass through; bipolar inputs of a non-bipolar concat are decoded to -1 / +1.
            in_types = [parse_type(t) for t in l.get("in_types", [])]
            parts = [decode(x, in_types[i], "input %d of %s" % (i, l["name"]))
                     if out[0] != "bipolar" and i < len(in_types) and in_types[i][0] == "bipolar" else x
                     for i, x in enumerate(ins)]
            y = np.concatenate(parts, axis=1)
        elif kind == "flatten":
            y = ins[0].reshape(ins[0].shape[0], -1, 1, 1)
        elif kind == "labelselect":
            y = labelselect(ins[0], l["k"])
        elif kind in ("fork",):
            y = ins[0]
        elif kind == "output":
            y = ins[0]
            result = decode(y, out, "output")  # output.npy holds values (bipolar: -1 / +1)
        else:
            raise SystemExit("func_ref.py: unsupported layer kind " + kind)
        vals[l["name"]] = np.asarray(y, dtype=np.int64)
        if dump and kind != "output":
            np.save(os.path.join(dump, l["name"] + ".npy"), np.asarray(decode(vals[l["name"]], out, l["name"]), dtype=np.int64))
    if result is None:
        raise SystemExit("func_ref.py: the network has no output layer")
    return result


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="op", required=True)

    def geometry(sp):
        sp.add_argument("--kernel", type=int, nargs=2, default=[1, 1])
        sp.add_argument("--stride", type=int, nargs=2, default=[1, 1])
        sp.add_argument("--pad", type=int, nargs=2, default=[0, 0])
        sp.add_argument("--dil", type=int, nargs=2, default=[1, 1])

    for name in ("conv", "fc"):
        sp = sub.add_parser(name)
        sp.add_argument("x"); sp.add_argument("w"); sp.add_argument("out")
        sp.add_argument("--xtype", required=True); sp.add_argument("--wtype", required=True)
        sp.add_argument("--channel-bits", default="")
        sp.add_argument("--k", type=int, required=True)
        sp.add_argument("--groups", type=int, default=1)
        geometry(sp)
    sp = sub.add_parser("threshold")
    sp.add_argument("acc"); sp.add_argument("thr"); sp.add_argument("out_file"); sp.add_argument("--out", required=True)
    sp = sub.add_parser("scaleshift")
    sp.add_argument("acc"); sp.add_argument("out_file"); sp.add_argument("--out", required=True)
    sp.add_argument("--scale", required=True); sp.add_argument("--shift", required=True); sp.add_argument("--bias", default="0")
    for name in ("maxpool", "avgpool"):
        sp = sub.add_parser(name)
        sp.add_argument("x"); sp.add_argument("out_file"); geometry(sp)
        sp.add_argument("--valid-only", action="store_true")
    sp = sub.add_parser("gap")
    sp.add_argument("x"); sp.add_argument("out_file")
    sp = sub.add_parser("add")
    sp.add_argument("a"); sp.add_argument("b"); sp.add_argument("out_file"); sp.add_argument("--out", required=True)
    sp.add_argument("--scale-a", type=int, default=1); sp.add_argument("--scale-b", type=int, default=1)
    sp.add_argument("--bias", type=int, default=0); sp.add_argument("--shift", type=int, default=0)
    sp = sub.add_parser("labelselect")
    sp.add_argument("x"); sp.add_argument("out_file"); sp.add_argument("--k", type=int, required=True)
    sp = sub.add_parser("network")
    sp.add_argument("dir"); sp.add_argument("out_file"); sp.add_argument("--dump", default=None)
    a = ap.parse_args(argv)

    if a.op in ("conv", "fc"):
        xt = parse_type(a.xtype)
        x = decode(np.load(a.x), xt, "input")
        w, wts = load_weights(a)
        if a.op == "fc":
            x = x.reshape(x.shape[0], -1, 1, 1)
            w = w.reshape(a.k, -1, 1, 1)
            a.kernel, a.groups = [1, 1], 1
        for wt in wts:
            check_bound(xt, wt, w[0].size)
        y = conv(x, w, a.k, a.kernel, a.stride, a.pad, a.dil, a.groups)
        np.save(a.out, y.astype(np.int64))
    elif a.op == "threshold":
        acc = np.load(a.acc).astype(np.int64)
        thr = np.load(a.thr).astype(np.int64)
        thr = thr.reshape(-1, thr.shape[-1])
        out = parse_type(a.out)
        c = acc.shape[1]
        rows = thr if thr.shape[0] == c else np.repeat(thr, c, axis=0)
        counts = (acc[:, :, :, :, None] >= rows[None, :, None, None, :]).sum(axis=-1)
        bias = -(2 ** (out[1] - 1)) if out[0] == "signed" else 0
        np.save(a.out_file, (counts + bias).astype(np.int64))
    elif a.op == "scaleshift":
        acc = np.load(a.acc).astype(np.int64)
        c = acc.shape[1]

        def per_channel(s):
            v = np.array([int(t) for t in s.split(",")], dtype=np.int64)
            return np.broadcast_to(v, (c,)).reshape(1, c, 1, 1)
        scale, bias, shift = per_channel(a.scale), per_channel(a.bias), per_channel(a.shift)
        v = acc.astype(object) * scale.astype(object) + bias.astype(object)  # exact Python integers
        half = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0).astype(object)
        y = (v + half) // (np.left_shift(1, shift).astype(object))
        np.save(a.out_file, saturate(y, parse_type(a.out)).astype(np.int64))
    elif a.op in ("maxpool", "avgpool"):
        x = np.load(a.x).astype(np.int64)
        fill = np.iinfo(np.int64).min if a.op == "maxpool" else 0
        wins, masks = pool_windows(x, a.kernel, a.stride, a.pad, a.dil, fill)
        if a.op == "maxpool":
            y = wins.max(axis=0)
        else:
            s = wins.sum(axis=0)
            d = masks.sum(axis=0) if a.valid_only else a.kernel[0] * a.kernel[1]
            y = np.floor_divide(2 * s + d, 2 * d)
        np.save(a.out_file, y.astype(np.int64))
    elif a.op == "gap":
        x = np.load(a.x).astype(np.int64)
        d = x.shape[2] * x.shape[3]
        s = x.sum(axis=(2, 3), keepdims=True)
        np.save(a.out_file, np.floor_divide(2 * s + d, 2 * d).astype(np.int64))
    elif a.op == "labelselect":
        np.save(a.out_file, labelselect(np.load(a.x), a.k))
    elif a.op == "network":
        np.save(a.out_file, run_network(a.dir, a.dump).astype(np.int64))
    elif a.op == "add":
        va = np.load(a.a).astype(np.int64) * a.scale_a
        vb = np.load(a.b).astype(np.int64) * a.scale_b
        y = round_shift(va + vb + a.bias, a.shift)
        np.save(a.out_file, saturate(y, parse_type(a.out)).astype(np.int64))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
