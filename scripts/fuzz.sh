#!/usr/bin/env bash
# Deterministic fuzz check of the ONNX importer for CI: builds the libFuzzer target with clang
# (ASan + UBSan + libFuzzer), replays every input of the committed corpus test/fuzz/corpus/onnx
# (regressions of crashes and hangs found earlier) and the ONNX fixtures of test/data/onnx, then runs a
# bounded number of mutations from a fixed seed. The same binary and arguments give the same runs.
# Usage: scripts/fuzz.sh [runs] [seed]      (defaults: 4000 runs, seed 1)
# For open-ended random fuzzing on a developer machine see scripts/fuzz_long.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-4000}
seed=${2:-1}
bash scripts/setup.sh
bash scripts/build.sh --fuzz
fuzzer=./build-fuzz/mpsim_fuzz_onnx
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048)
inputs=(test/data/onnx/*.onnx test/fuzz/corpus/onnx/*)
echo "fuzz: replaying ${#inputs[@]} committed inputs"
# Given files (not a directory), libFuzzer runs each once and fails on the first crash, leak,
# timeout or out-of-memory.
"$fuzzer" "${limits[@]}" "${inputs[@]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "${inputs[@]}" "$work"/
echo "fuzz: $runs mutations from seed $seed"
"$fuzzer" "$work" "${limits[@]}" -seed="$seed" -runs="$runs" -artifact_prefix="$work/" -print_final_stats=1 || {
  echo "fuzz: a failing input was found; add it to test/fuzz/corpus/onnx once fixed:" >&2
  ls "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* 2>/dev/null >&2 || true
  mkdir -p build-fuzz/artifacts && cp "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* build-fuzz/artifacts/ 2>/dev/null || true
  exit 1
}
