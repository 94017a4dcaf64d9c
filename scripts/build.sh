#!/usr/bin/env bash
# Configures and builds mpsim. Usage: scripts/build.sh [--sanitize]
# Release build in build/; with --sanitize an ASan+UBSan build in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  # -O1: sanitizer builds compile much faster and still run the suite quickly.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMPSIM_SANITIZE=ON >/dev/null
else
  dir=build
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$dir" -j2
