#!/usr/bin/env bash
# What timelines and the HTML report cost (docs/timelines.md): wall time of `mpsim -q run` on the
# built-in default example (ResNet-18 on a ZCU102, scheduled) without and with --trace, --vcd and
# --html, run interleaved (baseline, variants, baseline, ...) so that a shared machine's load hits
# all alike; medians of N runs (default 7). Also the simulation-only time that `mpsim run -v` logs,
# with the recorder off and on, and the sizes of the files.
# Usage: bench/bench_timelines.sh [build dir] [runs]     prints a markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-7}
MPSIM="$BUILD/mpsim"
[ -x "$MPSIM" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EXTRA=(--frames 4)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
variants=("" "--trace" "--trace --html" "--trace --vcd --html")
names=("baseline (report.json, layers.csv)" "--trace" "--trace --html" "--trace --vcd --html")
declare -A wall sim
for ((i = 0; i < N; ++i)); do
  for v in "${!variants[@]}"; do
    # shellcheck disable=SC2086
    s=$(date +%s.%N)
    log=$("$MPSIM" -v run "${EXTRA[@]}" ${variants[$v]} --out "$OUT/o$v" 2>&1 >/dev/null)
    e=$(date +%s.%N)
    wall[$v]+="$(echo "$e - $s" | bc -l) "
    sim[$v]+="$(echo "$log" | sed -n 's/.*simulated in \([0-9.]*\) s wall time.*/\1/p') "
  done
done
med() { tr ' ' '\n' | grep -v '^$' | median; }
b=$(echo "${wall[0]}" | med)
bs=$(echo "${sim[0]}" | med)
echo "| \`mpsim -q run --frames 4\` + | wall time (s), median of $N | vs baseline | simulation only (s) | files |"
echo "|---|---|---|---|---|"
for v in "${!variants[@]}"; do
  w=$(echo "${wall[$v]}" | med)
  s=$(echo "${sim[$v]}" | med)
  files=""
  for f in trace.json trace.vcd report.html; do
    [ -f "$OUT/o$v/$f" ] && files+="$f $(du -k "$OUT/o$v/$f" | cut -f1) KB; "
  done
  printf '| %s | %.3f | %+.1f %% | %.3f | %s |\n' "${names[$v]}" "$w" "$(echo "($w - $b) / $b * 100" | bc -l)" "$s" \
    "${files:-report.json, layers.csv}"
done
