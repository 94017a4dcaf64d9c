#!/usr/bin/python3
"""Runs the hostile-input corpus (test/hostile/cases/*.txt) against the mpsim binary.

Each case names a command line, the files it needs, the exit code it must end with and a fragment
that its messages must contain. A case fails when the exit code or the message differs, when the
process is killed by a signal, runs past its time limit, reports a sanitizer error, or its peak
resident memory passes the limit. Usage:

    run_hostile.py MPSIM SRC_DIR CASE_FILE... [--jobs N] [--rss-mb M] [--verbose]

Case file format (one or more cases per file; '#' lines outside a file body are comments):

    === name
    cmd: map cfg.yaml --set hardware.clock_mhz=0      # argv after the binary, shell-like quoting
    file cfg.yaml <<EOF                               # a text file in the case's directory
    network: {model: tfc}
    EOF
    sparse big.onnx 3000000000                         # a sparse file of that many bytes
    copy m.onnx test/data/onnx/TFC_2W2A.onnx           # a file of the source tree
    replace m.onnx \\x1a\\x09MatMul_20 \\x1a\\x09output_20  # bytes replaced (Python escapes), same length
    bytes x.npy \\x93NUMPY\\x01\\x00                     # a file with exactly these bytes
    mkdir somedir                                      # an empty directory
    stdout: /dev/full                                  # where the command's stdout goes
    exit: 3
    msg: hardware.clock_mhz                           # must appear in stdout + stderr (repeatable)
    absent: out                                        # must not exist afterwards (repeatable)
    timeout: 60                                        # seconds (default 60)

In cmd, {SRC} is the source tree and {DATA} its test/data; the command runs in the case's own
temporary directory.
"""
import codecs
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

VERBOSE = False
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:")


def unescape(s):
    return codecs.escape_decode(s.encode())[0]


def parse(path):
    cases, cur = [], None
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("=== "):
            cur = {"name": line[4:].strip(), "file": path, "setup": [], "msg": [], "absent": [],
                   "timeout": 60, "stdout": None, "exit": None, "cmd": None}
            cases.append(cur)
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if cur is None:
            raise SystemExit(f"{path}:{i}: text before the first '=== name'")
        key, _, rest = s.partition(" ")
        if s.startswith("file ") and s.endswith("<<EOF"):
            name = s[5:-5].strip()
            body = []
            while i < len(lines) and lines[i] != "EOF":
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise SystemExit(f"{path}: case {cur['name']}: file {name} has no closing EOF")
            i += 1
            cur["setup"].append(("file", name, "\n".join(body) + "\n"))
        elif key in ("sparse", "copy", "replace", "bytes", "mkdir"):
            parts = rest.split(" ", 2 if key == "replace" else 1)
            if key == "bytes" and len(parts) == 1:
                parts.append("")  # an empty file
            cur["setup"].append((key,) + tuple(parts))
        elif s.startswith("cmd:"):
            cur["cmd"] = s[4:].strip()
        elif s.startswith("exit:"):
            cur["exit"] = int(s[5:])
        elif s.startswith("msg:"):
            cur["msg"].append(s[4:].strip())
        elif s.startswith("absent:"):
            cur["absent"].append(s[7:].strip())
        elif s.startswith("timeout:"):
            cur["timeout"] = float(s[8:])
        elif s.startswith("stdout:"):
            cur["stdout"] = s[7:].strip()
        else:
            raise SystemExit(f"{path}:{i}: cannot read '{s}'")
    for c in cases:
        if c["cmd"] is None or c["exit"] is None or not c["msg"]:
            raise SystemExit(f"{path}: case {c['name']} needs cmd, exit and at least one msg")
    return cases


def setup(case, d, src):
    for step in case["setup"]:
        kind, name = step[0], step[1]
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if kind == "file":
            open(p, "w", encoding="utf-8").write(step[2])
        elif kind == "sparse":
            with open(p, "wb") as f:
                f.truncate(int(step[2]))
        elif kind == "copy":
            shutil.copyfile(os.path.join(src, step[2]), p)
        elif kind == "bytes":
            open(p, "wb").write(unescape(step[2]))
        elif kind == "mkdir":
            os.makedirs(p, exist_ok=True)
        elif kind == "replace":
            a, b = unescape(step[2]), unescape(step[3])
            data = open(p, "rb").read()
            if a not in data:
                raise RuntimeError(f"replace: {step[2]!r} not in {name}")
            open(p, "wb").write(data.replace(a, b, 1))


def run_case(case, mpsim, src, rss_limit_mb):
    d = tempfile.mkdtemp(prefix="mpsim_hostile_")
    try:
        setup(case, d, src)
        cmd = case["cmd"].replace("{SRC}", src).replace("{DATA}", os.path.join(src, "test", "data"))
        argv = [mpsim] + shlex.split(cmd)
        out = open(case["stdout"], "wb") if case["stdout"] else subprocess.PIPE
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=d, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        res = {}

        def reap():
            _, status, usage = os.wait4(p.pid, 0)
            res["status"], res["rss_kb"] = status, usage.ru_maxrss
        # Read the pipes while waiting; wait4 gives the child's own peak RSS.
        outs = []

        def drain(stream):
            outs.append(stream.read())
        readers = [threading.Thread(target=drain, args=(s,)) for s in (p.stdout, p.stderr) if s]
        for r in readers:
            r.start()
        waiter = threading.Thread(target=reap)
        waiter.start()
        waiter.join(case["timeout"])
        if waiter.is_alive():
            p.kill()
            waiter.join()
            for r in readers:
                r.join()
            return f"timed out after {case['timeout']} s"
        for r in readers:
            r.join()
        p.returncode = 0  # reaped by wait4
        text = b"\n".join(outs).decode("utf-8", "replace")
        status = res["status"]
        problems = []
        if os.WIFSIGNALED(status):
            problems.append(f"killed by signal {os.WTERMSIG(status)}")
            code = None
        else:
            code = os.WEXITSTATUS(status)
            if code != case["exit"]:
                problems.append(f"exit {code}, expected {case['exit']}")
        for m in case["msg"]:
            if m not in text:
                problems.append(f"message lacks '{m}'")
        for mark in SANITIZER_MARKS:
            if mark in text:
                problems.append(f"sanitizer: {mark}")
        for a in case["absent"]:
            if os.path.lexists(os.path.join(d, a)):
                problems.append(f"'{a}' exists afterwards")
        if res["rss_kb"] > rss_limit_mb * 1024:
            problems.append(f"peak RSS {res['rss_kb'] // 1024} MB over {rss_limit_mb} MB")
        if problems:
            tail = "\n      ".join(text.strip().splitlines()[-6:])
            return "; ".join(problems) + f" ({time.monotonic() - t0:.1f} s)\n      {tail}"
        if VERBOSE:
            last = [l for l in text.strip().splitlines() if l.strip()][-1:] or [""]
            print(f"ok {case['name']}: exit {code}: {last[0][:230]}")
        return None
    except Exception as e:  # a broken case is a failure, not a pass
        return f"could not run: {e}"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    global VERBOSE
    args = sys.argv[1:]
    jobs, rss = 2, 2048
    if "--verbose" in args:
        VERBOSE = True
        args.remove("--verbose")
    if "--jobs" in args:
        k = args.index("--jobs")
        jobs = int(args[k + 1])
        del args[k:k + 2]
    if "--rss-mb" in args:
        k = args.index("--rss-mb")
        rss = int(args[k + 1])
        del args[k:k + 2]
    if len(args) < 3:
        raise SystemExit(__doc__)
    mpsim, src, files = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    cases = [c for f in files for c in parse(f)]
    if not cases:
        raise SystemExit("no cases found")
    names = set()
    for c in cases:
        if c["name"] in names:
            raise SystemExit(f"duplicate case name {c['name']}")
        names.add(c["name"])
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        results = list(ex.map(lambda c: (c, run_case(c, mpsim, src, rss)), cases))
    failed = [(c, r) for c, r in results if r]
    for c, r in failed:
        print(f"FAIL {os.path.basename(c['file'])}: {c['name']}: {r}")
    print(f"{len(cases) - len(failed)} of {len(cases)} hostile cases passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
