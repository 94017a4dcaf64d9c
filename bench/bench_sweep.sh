#!/usr/bin/env bash
# Throughput of `mpsim sweep` (docs/performance.md, "Sweeps"). Usage: bench/bench_sweep.sh [build dir]
# Prints one line per case: points, wall seconds of the whole command, points per second.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MPSIM="$PWD/$BUILD/mpsim"
[ -x "$MPSIM" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EX="$PWD/configs/examples"

bench() { # name, sweep file, extra args
  local name=$1 file=$2
  shift 2
  local s e n
  s=$(date +%s.%N)
  "$MPSIM" -q sweep "$file" --db "$OUT/$name.db" "$@" >/dev/null
  e=$(date +%s.%N)
  n=$(sqlite3 "$OUT/$name.db" "SELECT count(*) FROM points")
  printf '| %s | %s | %s | %.2f | %.1f |\n' "$name" "$*" "$n" "$(echo "$e - $s" | bc -l)" "$(echo "$n / ($e - $s)" | bc -l)"
}

# ResNet-18 on a ZCU102, auto mapping (the scheduler runs for every point): 8 clocks x 5 x 5 bit-widths.
cat >"$OUT/r18.yaml" <<EOF
base: $EX/resnet18_zcu102.yaml
sweep:
  - grid:
      hardware.clock_mhz: [100, 125, 150, 175, 200, 225, 250, 275]
      network.quant.weights: [2, 3, 4, 5, 6]
      network.quant.activations: [2, 3, 4, 5, 6]
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
echo "| sweep | options | points | wall time (s) | points/s |"
echo "|---|---|---|---|---|"
bench resnet18-auto-map "$OUT/r18.yaml" --fidelity map -j 1
bench resnet18-auto-map-j2 "$OUT/r18.yaml" --fidelity map -j 2
bench cnv-manual-map "$OUT/cnv.yaml" --fidelity map -j 1
bench resnet50-auto-screen "$OUT/r50.yaml" --fidelity screen -j 2 --simulate-top 1
