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

Types: intN (signed, two's complement), uintN, bipolar (stored bit 1 -> +1, 0 -> -1), N = 1..16.
Semantics (docs/functional.md): products and sums are exact (int64; the script aborts when a
value could leave int64); division by 2^s and averages round half towards +infinity;
results saturate to the output type; thresholds count t with acc >= t, plus -2^(bits-1) for
signed outputs. Exit status 0 on success, 1 with a message on invalid input.
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
    elif a.op == "add":
        va = np.load(a.a).astype(np.int64) * a.scale_a
        vb = np.load(a.b).astype(np.int64) * a.scale_b
        y = round_shift(va + vb + a.bias, a.shift)
        np.save(a.out_file, saturate(y, parse_type(a.out)).astype(np.int64))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
