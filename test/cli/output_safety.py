#!/usr/bin/python3
"""Outputs that never lie (docs/run-config.md, "Output directory"): checks, with the real binary,
that a run's --out directory holds either the previous complete result or the new complete one.

  output_safety.py MPSIM SRC WORKDIR [part ...]   parts: stale failed lock signal kill diskfull

- stale:    a timing-only run after a functional one leaves no output.npy behind
- failed:   a run that fails (bad config, too large design) leaves the previous result byte for byte
- lock:     a second run into a directory being written is refused (exit 5) and changes nothing
- signal:   SIGINT / SIGTERM during a run: exit 128+signal, previous result intact, no temporary left
- kill:     SIGKILL at 10 moments spread over a run: the result is the old one or a complete new one
- diskfull: a run into a full file system (a 1 MiB tmpfs; needs root) fails and leaves the old result
Exit 0 when every part passed, 77 when only diskfull could not be set up (CTest: skipped).
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

MPSIM, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
PARTS = sys.argv[4:] or ["stale", "failed", "lock", "signal", "kill", "diskfull"]
# A functional run that takes a few seconds: frames of the CNV network (W1A1) from the examples
# (150, or MPSIM_SAFETY_FRAMES: fewer for the sanitizer build, which runs about ten times slower).
SLOW_FRAMES = os.environ.get("MPSIM_SAFETY_FRAMES", "150")
SLOW = ["run", os.path.join(SRC, "configs/examples/cnv_w1a1_pynq.yaml"), "--functional", "--frames", SLOW_FRAMES]
FAST = ["run", "--set", "network.model=tfc", "--set", "hardware.device=pynq-z1", "--frames", "2"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def mpsim(args, out, **kw):
    return subprocess.run([MPSIM, "-q"] + args + ["--out", out], capture_output=True, text=True, **kw)


def snapshot(d):
    """Every file under d with its content hash (report.json without its wall time)."""
    if not os.path.isdir(d):
        return None
    snap = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            data = open(p, "rb").read()
            snap[os.path.relpath(p, d)] = hashlib.sha256(data).hexdigest()
    return snap


def complete(d):
    """A complete result: the marker, config, report (valid JSON, schema) and CSV are all there."""
    try:
        r = json.load(open(os.path.join(d, "report.json")))
        return (r.get("schema", "").startswith("mpsim.report/") and
                all(os.path.isfile(os.path.join(d, f)) for f in (".mpsim-output", "layers.csv", "effective-config.yaml")))
    except Exception:
        return False


def leftovers(parent, name):
    return [f for f in os.listdir(parent) if f.startswith("." + name + ".tmp-")]


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    return d


def wait_for_tmp(p, name, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and p.poll() is None:
        if leftovers(WORK, name):
            return True
        time.sleep(0.01)
    return False


def part_stale():
    out = fresh("stale")
    r = mpsim(FAST + ["--functional"], out)
    check(r.returncode == 0 and os.path.isfile(os.path.join(out, "output.npy")), "stale: functional run wrote output.npy")
    r = mpsim(FAST, out)
    check(r.returncode == 0, "stale: timing run succeeded")
    check(not os.path.exists(os.path.join(out, "output.npy")), "stale: output.npy of the earlier run is gone")
    check(not os.path.exists(os.path.join(out, "weights")), "stale: weights/ of the earlier run is gone")
    check(complete(out), "stale: the new result is complete")


def part_failed():
    out = fresh("failed")
    check(mpsim(FAST + ["--functional"], out).returncode == 0, "failed: first run")
    before = snapshot(out)
    for bad, code in [(["--set", "hardware.clock_mhz=0"], 3), (["--set", "network.model=nope.yaml"], 3),
                      (["--set", "mapping.layers.fc0.pe=0"], 3), (["--frames", "0"], 2),
                      (["--functional", "--input", "/dev/zero"], 3)]:
        r = mpsim(FAST + bad, out)
        check(r.returncode == code, f"failed: {bad} exits {code} (got {r.returncode}: {r.stderr.strip()[-200:]})")
        check(snapshot(out) == before, f"failed: {bad} left the previous result unchanged")
    check(leftovers(WORK, "failed") == [], "failed: no temporary directory left")


def part_lock():
    out = fresh("lock")
    check(mpsim(FAST, out).returncode == 0, "lock: first run")
    before = snapshot(out)
    p = subprocess.Popen([MPSIM, "-q"] + SLOW + ["--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if check(wait_for_tmp(p, "lock"), "lock: the slow run started writing"):
        r = mpsim(FAST, out)
        check(r.returncode == 5 and "another mpsim run is writing" in r.stderr,
              f"lock: second run refused with exit 5 (got {r.returncode}: {r.stderr.strip()[-200:]})")
        check(snapshot(out) == before, "lock: the refused run changed nothing")
    rc = p.wait()
    check(rc == 0 and complete(out), f"lock: the first run finished with a complete result (exit {rc})")
    check(mpsim(FAST, out).returncode == 0, "lock: a later run succeeds (the lock is released)")


def part_signal():
    for sig in (signal.SIGINT, signal.SIGTERM):
        out = fresh("sig")
        check(mpsim(FAST, out).returncode == 0, "signal: first run")
        before = snapshot(out)
        p = subprocess.Popen([MPSIM, "-q"] + SLOW + ["--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if check(wait_for_tmp(p, "sig"), f"signal {sig.name}: the run started writing"):
            time.sleep(0.3)
            p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        check(p.returncode in (128 + sig, 0), f"signal {sig.name}: exit {128 + sig} (got {p.returncode}: {err.decode()[-200:]})")
        if p.returncode == 128 + sig:
            check(snapshot(out) == before, f"signal {sig.name}: previous result unchanged")
        else:  # the signal came after the swap: the new result is complete
            check(complete(out), f"signal {sig.name}: complete result")
        check(leftovers(WORK, "sig") == [], f"signal {sig.name}: no temporary directory left")


def part_kill():
    out = fresh("kill")
    check(mpsim(FAST, out).returncode == 0, "kill: first run")
    old = snapshot(out)
    t0 = time.monotonic()
    check(mpsim(SLOW, os.path.join(WORK, "timing")).returncode == 0, "kill: timing run")
    span = time.monotonic() - t0
    new_seen = 0
    for k in range(10):
        p = subprocess.Popen([MPSIM, "-q"] + SLOW + ["--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(span * (k + 0.5) / 10)
        p.kill()
        p.wait()
        now = snapshot(out)
        if now == old:
            continue
        if check(complete(out), f"kill #{k}: the result is the old one or a complete new one"):
            new_seen += 1
            old = now
    # The next run removes temporaries that killed runs left behind.
    check(mpsim(FAST, out).returncode == 0 and complete(out), "kill: a run after the kills succeeds")
    check(leftovers(WORK, "kill") == [], "kill: stale temporaries removed by the next run")
    print(f"kill: {new_seen} of 10 kills came after a completed swap")


def part_diskfull():
    mnt = os.path.join(WORK, "small")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(mnt)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                                           capture_output=True).returncode != 0:
        print("diskfull: cannot mount a small tmpfs here (needs root); not checked")
        return "skipped"
    try:
        out = os.path.join(mnt, "out")
        check(mpsim(FAST, out).returncode == 0, "diskfull: a small run fits")
        before = snapshot(out)
        # Fill the file system, then run a functional CNV whose weights do not fit.
        with open(os.path.join(mnt, "filler"), "wb") as f:
            try:
                f.write(b"\0" * (1 << 20))
            except OSError:
                pass
        r = mpsim(SLOW, out)
        check(r.returncode != 0, f"diskfull: the run fails (exit {r.returncode})")
        check(snapshot(out) == before, "diskfull: the previous result is unchanged")
        check(leftovers(mnt, "out") == [], "diskfull: no temporary directory left")
    finally:
        subprocess.run(["umount", mnt])
    return None


skipped = False
for part in PARTS:
    print("==", part)
    if globals()["part_" + part]() == "skipped":
        skipped = True
shutil.rmtree(WORK, ignore_errors=True)
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
sys.exit(77 if skipped and PARTS == ["diskfull"] else 0)
