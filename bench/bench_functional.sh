#!/usr/bin/env bash
# Speed and memory of the functional (bit-exact) simulation (docs/performance.md, "Functional"):
# `mpsim -v run --functional --frames 2` on ResNet-18 at W4A4, W2A2 and W1A2 (1-bit weights are
# bipolar) on the default example's device (ZCU102) and at W8A8 on an xcu250 (it does not fit the
# ZCU102), and on ResNet-152 auto-mapped on an xcu250 at W8A4, W4A4 and W2A2 (W8A8 fits no device
# of the database). For one or more mpsim binaries, run interleaved (so that a shared machine's
# load hits all alike), medians of N runs: the simulation-only time `mpsim run -v` logs
# (elaboration + run), the MAC rate during it (2 frames x macs_per_frame / that time), the whole
# command's wall time, its peak RSS (/usr/bin/time -v) and the size of the output folder.
# Usage: bench/bench_functional.sh [runs] [label=mpsim-binary ...]
#        default: 3 runs of build/mpsim; e.g. bench/bench_functional.sh 3 base=/tmp/mpsim-main new=build/mpsim
#        CASES="r18-w8a8 r152-w4a4" restricts the cases.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
shift || true
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("build=build/mpsim")
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

r18=(--set network.model=resnet18)
r152=(--set network.model=resnet152 --set hardware.device=xcu250 --set mapping.mode=auto)
declare -A args=(
  [r18-w8a8]="${r18[*]} --set hardware.device=xcu250 --set network.quant.weights=8 --set network.quant.activations=8"
  [r18-w4a4]="${r18[*]} --set network.quant.weights=4 --set network.quant.activations=4"
  [r18-w2a2]="${r18[*]} --set network.quant.weights=2 --set network.quant.activations=2"
  [r18-w1a2]="${r18[*]} --set network.quant.weights=1 --set network.quant.activations=2"
  [r152-w8a4]="${r152[*]} --set network.quant.weights=8 --set network.quant.activations=4"
  [r152-w4a4]="${r152[*]} --set network.quant.weights=4 --set network.quant.activations=4"
  [r152-w2a2]="${r152[*]} --set network.quant.weights=2 --set network.quant.activations=2"
)
read -r -a cases <<<"${CASES:-r18-w8a8 r18-w4a4 r18-w2a2 r18-w1a2 r152-w8a4 r152-w4a4 r152-w2a2}"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A sim wall rss size macs
for ((i = 0; i < N; ++i)); do
  for c in "${cases[@]}"; do
    for b in "${bins[@]}"; do
      label=${b%%=*} exe=${b#*=}
      o="$OUT/$label-$c"
      rm -rf "$o"
      s=$(date +%s.%N)
      # shellcheck disable=SC2086
      /usr/bin/time -v -o "$OUT/time" "$exe" -v run ${args[$c]} --functional --frames 2 -o "$o" >"$OUT/log" 2>&1
      e=$(date +%s.%N)
      k="$label|$c"
      wall[$k]+="$(echo "$e - $s" | bc -l) "
      sim[$k]+="$(sed -n 's/.*simulated in \([0-9.]*\) s wall time.*/\1/p' "$OUT/log") "
      rss[$k]+="$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$OUT/time") "
      size[$k]=$(du -sk "$o" | cut -f1)
      macs[$k]=$(/usr/bin/python3 -c "import json;print(json.load(open('$o/report.json'))['summary']['macs_per_frame'])")
    done
  done
done
echo "| case | binary | simulation only (s) | GMAC/s during simulation | whole command (s) | peak RSS (MB) | output folder (MB) |"
echo "|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
  for b in "${bins[@]}"; do
    label=${b%%=*}
    k="$label|$c"
    s=$(echo "${sim[$k]}" | median)
    printf '| %s | %s | %.3f | %.2f | %.2f | %.0f | %.1f |\n' "$c" "$label" "$s" \
      "$(echo "2 * ${macs[$k]} / $s / 1000000000" | bc -l)" "$(echo "${wall[$k]}" | median)" \
      "$(echo "$(echo "${rss[$k]}" | median) / 1024" | bc -l)" "$(echo "${size[$k]} / 1024" | bc -l)"
  done
done
