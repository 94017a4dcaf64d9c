#!/usr/bin/env bash
# Installs an already-built mpsim and builds and runs examples/embed against the installed package
# (find_package(mpsim)). Nothing of mpsim is rebuilt: `cmake --install` copies the built library,
# headers and CMake package; only the example's one source file is compiled.
# Usage: scripts/test_install.sh [BUILD_DIR] [WORK_DIR]   (defaults: build, a fresh temporary dir)
# CTest runs it as install_embed_example (label install) with the current build directory.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
if [ -n "${2:-}" ]; then
  work=$2
  rm -rf "$work"
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix
# The example is built like the library (same build type: one set of imported configurations).
type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/lib/cmake/mpsim/mpsimConfig.cmake" -o -f "$prefix/lib64/cmake/mpsim/mpsimConfig.cmake"
test -f "$prefix/include/mpsim/sim/Accelerator.hpp"
# Only the installed prefix: the example must not see mpsim's source or build tree.
cmake -S "$src/examples/embed" -B "$work/embed" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE="${type:-Release}" \
  >"$work/configure.log"
cmake --build "$work/embed" -j2 >"$work/build.log"
# A zoo network (tfc, on-chip weights) and one with a weight streamer (cnv, fc7's weights in DRAM).
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
out=$("$work/embed/embed_vp" tfc 3)
echo "$out"
grep -q "3 of 3 frames done, internal DRAM model: no" <<<"$out"
grep -q " fps " <<<"$out"
out=$("$work/embed/embed_vp" cnv 2 mapping.layers.fc7.weights=dram)
echo "$out"
grep -q "2 of 2 frames done" <<<"$out"
grep -Eq "fc7.weights +acc.fc7_weights +[1-9][0-9]* bytes" <<<"$out"
echo "install test passed"
