#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, -fsanitize=fuzzer,address,undefined, no LibTorch) in
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) from a temporary copy of its committed
# corpus tests/fuzz/corpus/<target>/ (ctest label `fuzz`). Called by scripts/test.sh unless
# FLATMIN_SKIP_ROBUSTNESS=1.
#   FUZZ_SECONDS=60 scripts/fuzz.sh [ctest -R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLATMIN_FUZZ=ON \
  -DFLATMIN_WITH_TORCH=OFF -DFLATMIN_BUILD_TESTS=OFF -DFLATMIN_BUILD_BENCH=OFF \
  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
  "${launcher[@]}" >&2
cmake --build "$dir" -j"$jobs" --target flatmin_fuzzers >&2
# One target at a time: each fuzzer uses one core, and the timing should not depend on the others.
ctest --test-dir "$dir" -L fuzz --output-on-failure -j1 ${1:+-R "$1"}
