"""examples/optuna/search_bits.py end to end (issue #14 item 9): Optuna drives mpsim through its
JSON output, the study is kept in SQLite and resumes, and the best trial's fps is what mpsim gives
for those settings. Needs Debian's python3-optuna (scripts/setup.sh installs it).
Usage: optuna_example.py MPSIM SRC WORKDIR search"""
import json
import os
import sqlite3
import subprocess
import sys

from harness import MPSIM, SRC, check, fresh, mpsim, run_part

EXAMPLE = os.path.join(SRC, "examples", "optuna", "search_bits.py")


def example(*args):
    return subprocess.run([sys.executable, EXAMPLE, "--mpsim", MPSIM, *args], capture_output=True, text=True)


def search():
    w = fresh("optuna")
    db = os.path.join(w, "study.db")
    r = example("--trials", "8", "--seed", "3", "--storage", db)
    if not check(r.returncode == 0, "8 trials: " + r.stderr[-2000:]):
        return
    con = sqlite3.connect(db)
    states = [s for (s,) in con.execute("SELECT state FROM trials ORDER BY number")]
    check(len(states) == 8 and all(s == "COMPLETE" for s in states), "8 complete trials in the study: %s" % states)
    values = [v for (v,) in con.execute("SELECT value FROM trial_values")]
    params = {}
    for num, name, value in con.execute("SELECT t.number, p.param_name, p.param_value FROM trial_params p "
                                        "JOIN trials t ON t.trial_id = p.trial_id"):
        params.setdefault(num, {})[name] = int(value)
    best_num, best_val = max(con.execute("SELECT t.number, v.value FROM trial_values v "
                                         "JOIN trials t ON t.trial_id = v.trial_id"), key=lambda x: x[1])
    con.close()
    check(best_val == max(values) and best_val > 0, "a positive best value, the maximum of the trials")
    # The best trial's value is mpsim's fps for its settings (the closed form of `mpsim map`).
    p = params[best_num]
    m = mpsim("-q", "map", "--json", "--set", "network.quant.weights=%d" % p["weights"],
              "--set", "network.quant.activations=%d" % p["activations"],
              "--set", "hardware.clock_mhz=%d" % p["clock_mhz"], "--set", "mapping.mode=auto")
    if check(m.returncode == 0, "mpsim map of the best settings: " + m.stderr[-500:]):
        j = json.loads(m.stdout)
        check(j["resources"]["fits"], "the best design fits")
        check(abs(j["summary"]["fps"] - best_val) <= 1e-6 * best_val,
              "best value %.3f = mpsim's %.3f fps" % (best_val, j["summary"]["fps"]))
    check("best of 8 trials: %.2f fps" % best_val in r.stdout, "printed the best trial: " + r.stdout)
    # Resume: the same study grows.
    r = example("--trials", "2", "--seed", "3", "--storage", db)
    check(r.returncode == 0 and "best of 10 trials" in r.stdout, "resumed to 10 trials: " + r.stdout + r.stderr[-500:])
    # No mpsim: a clear message, not a traceback.
    r = subprocess.run([sys.executable, EXAMPLE, "--mpsim", os.path.join(w, "nope"), "--storage", db],
                       capture_output=True, text=True)
    check(r.returncode != 0 and "no mpsim binary" in r.stderr and "Traceback" not in r.stderr,
          "missing binary: %r" % r.stderr[-300:])


if __name__ == "__main__":
    run_part({"search": search})
