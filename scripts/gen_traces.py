#!/usr/bin/env python3
"""Writes the example traces of traces/ (traces/README.md), deterministically: the same script gives
the same bytes (random.Random with fixed seeds, Python's Mersenne Twister; only random() is used).

    /usr/bin/python3 scripts/gen_traces.py [OUT_DIR]     (default: traces/ next to scripts/)
"""
import os
import random
import sys


def camera(path, fps, frames, jitter_ms, seed):
    rng = random.Random(seed)
    period_ms = 1000.0 / fps
    lines = [
        "# camera at %g fps, %d frames, each arrival moved by a uniform offset in [-%g, +%g] ms" % (fps, frames, jitter_ms, jitter_ms),
        "# made by scripts/gen_traces.py (random.Random(%d)); format: traces/README.md" % seed,
        "frame,time_ms",
    ]
    for n in range(frames):
        t = max(0.0, n * period_ms + (2 * rng.random() - 1) * jitter_ms)
        lines.append("%d,%.6f" % (n, t))
    write(path, lines)


def bursty_host(path, bursts, per_burst, burst_gap_ms, spacing_us):
    lines = [
        "# bursty host: %d bursts of %d frames, %g us apart within a burst, a burst every %g ms" % (bursts, per_burst, spacing_us, burst_gap_ms),
        "# made by scripts/gen_traces.py (no randomness); format: traces/README.md",
        "frame,time_us",
    ]
    n = 0
    for b in range(bursts):
        for k in range(per_burst):
            lines.append("%d,%.3f" % (n, b * burst_gap_ms * 1000.0 + k * spacing_us))
            n += 1
    write(path, lines)


def cpu_stl(path, requests, clock_mhz, seed):
    # DRAMSys trace (.stl): "<cycle>: (<bytes>) read|write 0x<address>", cycles of the player's clock.
    rng = random.Random(seed)
    lines = [
        "# CPU memory traffic in DRAMSys's trace format: %d cache-line requests (64 bytes), 70 %% reads," % requests,
        "# a streaming pass over 1 MiB with random accesses mixed in, one request every 1..8 cycles at %g MHz" % clock_mhz,
        "# made by scripts/gen_traces.py (random.Random(%d)); format: traces/README.md" % seed,
    ]
    t = 0
    seq = 0
    for _ in range(requests):
        t += 1 + int(rng.random() * 8)
        if rng.random() < 0.8:
            addr = 0x10000000 + (seq % (1 << 20))
            seq += 64
        else:
            addr = 0x10000000 + int(rng.random() * (1 << 24)) // 64 * 64
        cmd = "read" if rng.random() < 0.7 else "write"
        lines.append("%d: (64) %s 0x%x" % (t, cmd, addr))
    write(path, lines)


def write(path, lines):
    with open(path, "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "traces")
    os.makedirs(out, exist_ok=True)
    camera(os.path.join(out, "camera_30fps_jitter.csv"), 30, 120, 2.0, 30)
    camera(os.path.join(out, "camera_60fps_jitter.csv"), 60, 240, 1.0, 60)
    bursty_host(os.path.join(out, "host_bursty.csv"), 8, 6, 40.0, 50.0)
    cpu_stl(os.path.join(out, "cpu_memory.stl"), 2000, 200, 7)


if __name__ == "__main__":
    main()
