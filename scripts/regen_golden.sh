#!/usr/bin/env bash
# Regenerates test/golden/<case>/expected.json from the current build (expected_output.npy files
# come from outside mpsim and are never regenerated). Run only when a change of
# the model is intended, and say why in the commit message.
set -euo pipefail
cd "$(dirname "$0")/.."
MPSIM=${MPSIM:-build/mpsim}
for dir in test/golden/*/; do
  case=$(basename "$dir")
  out=$(mktemp -d)
  args=()
  [[ -f "$dir/input.npy" ]] && args=(--input "$dir/input.npy")
  "$MPSIM" -q run "$dir/config.yaml" --out "$out" "${args[@]}" >/dev/null || true
  cp "$out/report.json" "$dir/expected.json"
  rm -rf "$out"
  echo "regenerated $dir/expected.json"
done
