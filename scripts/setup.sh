#!/usr/bin/env bash
# Installs mpsim's build and test dependencies from Debian packages (idempotent).
# Fast path: when every package is already installed, apt-get is not called at all.
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libsystemc-dev libboost-program-options-dev catch2 libspdlog-dev libfmt-dev
      libyaml-cpp-dev nlohmann-json3-dev libsqlite3-dev zlib1g-dev python3 python3-numpy
      libonnx-dev libprotobuf-dev protobuf-compiler
      clang libclang-rt-14-dev libonnx-testdata
      chromium   # chromium: the headless tests of the HTML pages (sweep report, run report)
      gtkwave    # gtkwave: vcd2fst checks the VCD of `mpsim run --vcd`
      slurm-wlm munge  # a single-node Slurm for the cluster sweep test (scripts/slurm-test-cluster.sh)
      python3-optuna)  # examples/optuna: an optimiser driving mpsim (test/cli/optuna_example.py)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
