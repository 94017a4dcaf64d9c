#!/usr/bin/python3
"""Driving mpsim from an optimiser: Optuna (Debian's python3-optuna) searches the bit-widths and
the clock of a network for the fastest design that fits, with mpsim's scheduler choosing the
folding and mpsim's closed forms and cost model scoring each trial. The study lives in a SQLite
file (Optuna's RDB storage), so a search can be stopped and resumed, and inspected with the
sqlite3 shell or optuna's own tools.

Usage: /usr/bin/python3 examples/optuna/search_bits.py [--mpsim build/mpsim] [--config run.yaml]
           [--trials 30] [--seed 1] [--storage study.db] [--study NAME] [--simulate]

Each trial sets network.quant.weights / activations (2..8 bits) and hardware.clock_mhz (100..300,
steps of 25) on the run config (default: mpsim's built-in ResNet-18 / ZCU102 example), runs
`mpsim -q map --json` (or `mpsim -q run --json` with --simulate), and returns the fps; a design
that does not fit returns 0 and records why (trial user attribute "why"). Prints the best trial
as the `--set` arguments that reproduce it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import optuna

HERE = os.path.dirname(os.path.abspath(__file__))


def evaluate(mpsim, config, sets, simulate):
    """mpsim's report (map.json, or report.json with simulate) of one design, or (None, why)."""
    args = [mpsim, "-q", "run" if simulate else "map"] + ([config] if config else []) + ["--json"]
    for s in sets:
        args += ["--set", s]
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run(args + (["--out", os.path.join(d, "out")] if simulate else []),
                           capture_output=True, text=True)
    if p.returncode != 0:
        lines = [l.replace("[error]", "").strip() for l in p.stderr.strip().splitlines()]
        return None, " ".join(lines[:2]) or "exit code %d" % p.returncode
    return json.loads(p.stdout), ""


def trial_sets(trial):
    return ["network.quant.weights=%d" % trial.suggest_int("weights", 2, 8),
            "network.quant.activations=%d" % trial.suggest_int("activations", 2, 8),
            "hardware.clock_mhz=%d" % trial.suggest_int("clock_mhz", 100, 300, step=25),
            "mapping.mode=auto"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpsim", default=os.path.join(HERE, "..", "..", "build", "mpsim"))
    ap.add_argument("--config", default="", help="run config (default: the built-in example)")
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--storage", default="study.db", help="SQLite file of the study")
    ap.add_argument("--study", default="mpsim-bits")
    ap.add_argument("--simulate", action="store_true", help="score by simulation instead of the closed form")
    a = ap.parse_args()
    if not os.access(a.mpsim, os.X_OK):
        sys.exit("search_bits.py: %s: no mpsim binary (build it first, or give --mpsim)" % a.mpsim)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=a.study, storage="sqlite:///" + os.path.abspath(a.storage),
                                direction="maximize", sampler=optuna.samplers.TPESampler(seed=a.seed),
                                load_if_exists=True)

    def objective(trial):
        sets = trial_sets(trial)
        report, why = evaluate(a.mpsim, a.config, sets, a.simulate)
        if report is None:
            trial.set_user_attr("why", why)
            return 0.0
        trial.set_user_attr("lut", report["resources"]["total"]["lut"])
        trial.set_user_attr("bottleneck", str(report["summary"]["bottleneck"]))
        if not report["resources"]["fits"]:
            trial.set_user_attr("why", "; ".join(report["resources"]["shortfalls"]))
            return 0.0
        return float(report["summary"]["fps"])

    study.optimize(objective, n_trials=a.trials)
    best = study.best_trial
    print("best of %d trials: %.2f fps with --set %s" % (len(study.trials), best.value, " --set ".join(
        "network.quant.%s=%d" % (k, v) if k != "clock_mhz" else "hardware.clock_mhz=%d" % v
        for k, v in sorted(best.params.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
