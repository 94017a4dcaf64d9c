"""What the end-to-end CLI tests in test/cli share: the arguments CTest passes (MPSIM SRC WORKDIR
part), checks that record a failure and go on, running mpsim, a fresh work folder, and probing an
HTML page in headless Chromium. Imported by sweep.py and timelines.py (same folder)."""
import os
import re
import shutil
import subprocess
import sys

MPSIM, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
PART = sys.argv[4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def mpsim(*args, **kw):
    return subprocess.run([MPSIM, *args], capture_output=True, text=True, **kw)


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run_part(parts, ok="ok"):
    """Runs the part CTest named; exits 1 when any check failed."""
    parts[PART]()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print(ok)


def chromium_probe(w, html, js_expr, js_setup="", window="1000,2400", shot_name=None):
    """Loads `html` in headless Chromium with a script that, once the page's own script ran, runs
    `js_setup` (statements) and puts the string `js_expr` and the page's script error count into the
    title; returns that string ("... errors=N") or None. Checks: Chromium installed (scripts/setup.sh
    installs it: missing is a failure), the page rendered, no console messages, and a screenshot."""
    chromium = shutil.which("chromium")
    if not check(chromium is not None, "chromium installed (scripts/setup.sh)"):
        return None
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--user-data-dir=" + os.path.join(w, "profile"), "--enable-logging=stderr", "--v=0"]
    probe = os.path.join(w, "probe.html")
    catcher = ("<script>window.__errors=[];window.addEventListener('error',function(e){"
               "window.__errors.push(e.message);});</script>")
    test_js = ("<script>window.addEventListener('load', function () { var e = (window.__errors||[]).length; " +
               js_setup + " document.title = 'probe ' + " + js_expr + " + ' errors=' + e; });</script>")
    with open(html) as f:
        page = f.read()
    with open(probe, "w") as f:
        f.write(page.replace("<head>", "<head>" + catcher, 1).replace("</body>", test_js + "</body>", 1))
    res = subprocess.run(base + ["--dump-dom", "file://" + probe], capture_output=True, text=True, timeout=120)
    console = [l for l in res.stderr.splitlines() if "CONSOLE" in l and "probe.html" in l]
    check(not console, "no console messages: %s" % console[:3])
    m = re.search(r"<title>probe (.*?)</title>", res.stdout)
    check(m is not None, "the page rendered and its script ran: %s %s" % (res.stdout[:300], res.stderr[-1000:]))
    shot = os.path.join(w, shot_name or os.path.basename(os.path.dirname(html)) + ".png")
    subprocess.run(base + ["--screenshot=" + shot, "--window-size=" + window, "file://" + html],
                   capture_output=True, timeout=120)
    check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "a screenshot of the page")
    return m.group(1) if m else None
