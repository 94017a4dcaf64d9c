#!/usr/bin/env bash
# Sets up the dependencies, builds mpsim and runs the built-in default example
# (ResNet-18 on a ZCU102 at 200 MHz). Output goes to out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/mpsim run --out out/demo "$@"
