#!/usr/bin/env bash
# Builds the libFuzzer target over the ONNX importer with clang (ASan + UBSan + libFuzzer) and runs
# it for a bounded time on the ONNX fixtures as the seed corpus. Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bash scripts/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMPSIM_FUZZ=ON >/dev/null
cmake --build build-fuzz -j2 --target mpsim_fuzz_onnx
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
cp test/data/onnx/*.onnx "$corpus"/
./build-fuzz/mpsim_fuzz_onnx "$corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
