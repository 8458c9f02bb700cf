#!/usr/bin/env bash
# Installs the Debian packages flatmin needs (only the missing ones; does nothing when all are
# there), then configures (Release) and builds into build/. Idempotent.
#   scripts/bootstrap.sh [--no-build] [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake g++ make git pkg-config
          libtorch-dev python3-torch libspectra-dev libeigen3-dev libboost-dev libgtest-dev
          libcli11-dev nlohmann-json3-dev python3-matplotlib python3-numpy zlib1g-dev libgloo-dev
          dataset-fashion-mnist pybind11-dev python3-dev python3-pytest
          python3-torchvision python3-nbclient python3-nbformat python3-ipykernel jupyter-nbconvert chromium
          clang-14 libclang-rt-14-dev libomp-14-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
if ((build)); then
  jobs=$(nproc 2>/dev/null || echo 2)
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >&2
  cmake --build build -j"$jobs" >&2
fi
