#!/usr/bin/env bash
# Open-ended random fuzzing of the ONNX importer for developers (not run by CI): a random seed,
# a time budget, and every crash, hang, leak or out-of-memory input written straight into the
# committed corpus test/fuzz/corpus/onnx, so that scripts/fuzz.sh (CI) replays it from then on.
# Fix the defect, add a unit test for it if it teaches something, and commit the new corpus file.
# Usage: scripts/fuzz_long.sh [seconds] [jobs]     (defaults: 1800 s, 1 job)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-1800}
jobs=${2:-1}
bash scripts/setup.sh
bash scripts/build.sh --fuzz
# Grown coverage corpus: kept between runs under build-fuzz/ (not committed; it is large).
mkdir -p build-fuzz/corpus-long
cp -n test/data/onnx/*.onnx test/fuzz/corpus/onnx/* build-fuzz/corpus-long/ 2>/dev/null || true
seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
echo "fuzz_long: seed $seed, $secs s, $jobs job(s); failures go to test/fuzz/corpus/onnx/"
./build-fuzz/mpsim_fuzz_onnx build-fuzz/corpus-long -seed="$seed" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -malloc_limit_mb=2048 -jobs="$jobs" -workers="$jobs" \
  -artifact_prefix=test/fuzz/corpus/onnx/ -print_final_stats=1
