#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, -fsanitize=fuzzer,address,undefined, no LibTorch) in
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) from a temporary copy of its committed
# corpus tests/fuzz/corpus/<target>/ (ctest label `fuzz`), two targets at a time. Called by scripts/test.sh
# unless FLATMIN_SKIP_ROBUSTNESS=1.
#   FUZZ_SECONDS=60 FUZZ_JOBS=2 scripts/fuzz.sh [ctest -R regex]
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
# Two targets at a time (FUZZ_JOBS, default 2): each fuzzer uses one core and the CI machine has two, so
# the six targets take 3 x FUZZ_SECONDS of wall time (what three took one at a time) instead of 6 x.
# FUZZ_JOBS=1 runs them one at a time (for execution counts that do not depend on the others).
ctest --test-dir "$dir" -L fuzz --output-on-failure -j"${FUZZ_JOBS:-2}" ${1:+-R "$1"}
