#!/usr/bin/env bash
# Throughput and memory of `mpsim sweep` (docs/performance.md, "Sweeps").
# Usage: bench/bench_sweep.sh [--build DIR] [--baseline MPSIM] [--runs N] [--only CASES] [--memory]
#   --build DIR      the build to measure (default build)
#   --baseline BIN   another mpsim binary (e.g. main's) measured in the same run, interleaved
#   --runs N         runs per case and binary (default 3); the table shows medians
#   --only CASES     comma-separated case names (default: the throughput cases below)
#   --memory         also the peak RSS (/usr/bin/time -v) of a TFC map sweep of 2k, 20k and 100k points
# Prints one table row per case and binary: points, median wall seconds of the whole command
# (expanding and loading every point, the database, mapping, simulations), points per second, the
# median peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build BASELINE="" RUNS=3 ONLY="" MEMORY=0
while [ $# -gt 0 ]; do
  case $1 in
  --build) BUILD=$2; shift 2 ;;
  --baseline) BASELINE=$2; shift 2 ;;
  --runs) RUNS=$2; shift 2 ;;
  --only) ONLY=$2; shift 2 ;;
  --memory) MEMORY=1; shift ;;
  *) BUILD=$1; shift ;; # the old form: bench/bench_sweep.sh [build dir]
  esac
done
MPSIM="$PWD/$BUILD/mpsim"
[ -x "$MPSIM" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EX="$PWD/configs/examples"

# ResNet-18 on a ZCU102, auto mapping (the scheduler runs for every point): 8 clocks x 5 x 5 bit-widths.
cat >"$OUT/r18.yaml" <<EOF
base: $EX/resnet18_zcu102.yaml
sweep:
  - grid:
      hardware.clock_mhz: [100, 125, 150, 175, 200, 225, 250, 275]
      network.quant.weights: [2, 3, 4, 5, 6]
      network.quant.activations: [2, 3, 4, 5, 6]
EOF
# The same, the clock alone: 200 clocks drawn from 100..300 MHz (the points share all the
# scheduler work that does not depend on the clock).
cat >"$OUT/r18clk.yaml" <<EOF
base: $EX/resnet18_zcu102.yaml
sweep:
  - sample:
      n: 200
      seed: 3
      space:
        hardware.clock_mhz: {range: [100.0, 300.0]}
EOF
# CNV on a Pynq-Z1, manual folding (no scheduler): 7 x 7 foldings x 20 clocks.
cat >"$OUT/cnv.yaml" <<EOF
base: $EX/cnv_w1a1_pynq.yaml
sweep:
  - grid:
      mapping.layers.conv0.pe: [1, 2, 4, 8, 16, 32, 64]
      mapping.layers.conv1.pe: [1, 2, 4, 8, 16, 32, 64]
      hardware.clock_mhz: [50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115, 120, 125, 130, 135, 140, 145]
EOF
# ResNet-50 on an Alveo U250, auto mapping, screen: 10 clocks x 3 x 3 bit-widths, Pareto set simulated.
cat >"$OUT/r50.yaml" <<EOF
base: $EX/resnet18_zcu102.yaml
sweep:
  - set: {network.model: resnet50, hardware.device: xcu250}
    grid:
      hardware.clock_mhz: [150, 160, 170, 180, 190, 200, 210, 220, 230, 240]
      network.quant.weights: [2, 4, 8]
      network.quant.activations: [2, 4, 8]
objectives: [max:fps, min:lut]
EOF
# The issue's screen target: 1000 ResNet-50 points (10 clocks x 10 weight x 10 activation bit-widths
# on an Alveo U250, auto mapping), the Pareto set simulated.
cat >"$OUT/r50k.yaml" <<EOF
base: $EX/resnet18_zcu102.yaml
sweep:
  - set: {network.model: resnet50, hardware.device: xcu250}
    grid:
      hardware.clock_mhz: [150, 160, 170, 180, 190, 200, 210, 220, 230, 240]
      network.quant.weights: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
      network.quant.activations: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
objectives: [max:fps, min:lut]
EOF
# TFC (built-in), manual mapping, n sampled points (clock, bit-widths): the memory cases.
for n in 2000 20000 100000; do
  cat >"$OUT/tfc$n.yaml" <<EOF
base:
  network: {model: tfc}
  hardware: {device: pynq-z1, clock_mhz: 100}
  mapping: {mode: manual}
sweep:
  - sample:
      n: $n
      seed: 1
      space:
        hardware.clock_mhz: {range: [50.0, 250.0]}
        network.quant.weights: {choice: [1, 2, 3, 4]}
        network.quant.activations: {choice: [1, 2, 3, 4]}
EOF
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# case name, sweep file, options...
CASES=(
  "resnet18-auto-map|r18.yaml|--fidelity map -j 1"
  "resnet18-auto-map-clock|r18clk.yaml|--fidelity map -j 1"
  "resnet18-auto-map-j2|r18.yaml|--fidelity map -j 2"
  "cnv-manual-map|cnv.yaml|--fidelity map -j 1"
  "resnet50-auto-screen|r50.yaml|--fidelity screen -j 2 --simulate-top 1"
  "resnet50-screen-1000|r50k.yaml|--fidelity screen -j 2 --simulate-top 1"
)
if [ "$MEMORY" = 1 ]; then
  CASES+=("tfc-map-2k|tfc2000.yaml|--fidelity map -j 1" "tfc-map-20k|tfc20000.yaml|--fidelity map -j 1"
          "tfc-map-100k|tfc100000.yaml|--fidelity map -j 1")
fi
BINS=("$MPSIM")
[ -n "$BASELINE" ] && BINS+=("$BASELINE")

echo "| sweep | binary | options | points | wall time (s), median of $RUNS | points/s | peak RSS (MB), median |"
echo "|---|---|---|---|---|---|---|"
for c in "${CASES[@]}"; do
  IFS='|' read -r name file opts <<<"$c"
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$name,"* ]]; then continue; fi
  runs=$RUNS
  case $name in tfc-map-20k|tfc-map-100k) runs=1 ;; esac # minutes each; RSS does not vary much
  declare -A T=() M=()
  for ((r = 0; r < runs; r++)); do
    for b in "${BINS[@]}"; do # interleaved: the machine's load hits both alike
      rm -f "$OUT/x.db" "$OUT/x.db-wal" "$OUT/x.db-shm" "$OUT/x.db.lock"
      # shellcheck disable=SC2086
      /usr/bin/time -v -o "$OUT/time.txt" "$b" -q sweep "$OUT/$file" --db "$OUT/x.db" $opts >/dev/null
      T[$b]+="$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$OUT/time.txt") "
      M[$b]+="$(awk -F': ' '/Maximum resident set size/ { print $2 / 1024 }' "$OUT/time.txt") "
      n=$(sqlite3 "$OUT/x.db" "SELECT count(*) FROM points")
    done
  done
  for b in "${BINS[@]}"; do
    t=$(echo "${T[$b]}" | tr ' ' '\n' | grep . | median)
    m=$(echo "${M[$b]}" | tr ' ' '\n' | grep . | median)
    label=$([ "$b" = "$MPSIM" ] && echo "this build" || echo "baseline")
    printf '| %s | %s | %s | %s | %.2f | %.1f | %.1f |\n' "$name" "$label" "$opts" "$n" "$t" "$(echo "$n / $t" | bc -l)" "$m"
  done
  unset T M
done
