#!/usr/bin/env bash
# Sets up the dependencies, builds mpsim and runs the whole test suite with CTest.
# Usage: scripts/test.sh [--sanitize]   (--sanitize: the same suite under ASan + UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh "$@"
dir=build
extra=()
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  extra=(-LE slow) # the functional ResNet-18 check runs in the plain build only
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  # LeakSanitizer's stop-the-world tracer takes a SystemC coroutine's stack for the main thread's
  # (the coroutine switches are not annotated in Debian's libsystemc) and faults on its freed pages
  # at exit ("Tracer caught signal 11", about half of the runs of some designs, at any commit).
  # Stacks are not leak roots then; globals, TLS and the heap still are, so leaks are still found.
  export LSAN_OPTIONS=use_stacks=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
ctest --test-dir "$dir" -j2 --output-on-failure "${extra[@]}"
