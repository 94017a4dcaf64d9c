#!/usr/bin/env bash
# Configures and builds mpsim. Usage: scripts/build.sh [--sanitize | --fuzz]
# Release build in build/; with --sanitize an ASan+UBSan build in build-asan/; with --fuzz the
# libFuzzer target in build-fuzz/ (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fuzz" ]; then
  # The libFuzzer target over the ONNX importer (clang, ASan + UBSan + libFuzzer) in build-fuzz/.
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMPSIM_FUZZ=ON >/dev/null
  cmake --build build-fuzz -j2 --target mpsim_fuzz_onnx
  exit 0
fi
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  # -O1: sanitizer builds compile much faster and still run the suite quickly.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMPSIM_SANITIZE=ON >/dev/null
else
  dir=build
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$dir" -j2
