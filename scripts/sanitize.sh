#!/usr/bin/env bash
# ASan+UBSan build of the LibTorch-free core (common, theory, flatmin-theory) and its GoogleTest
# suites in build-sanitize/ (FLATMIN_WITH_TORCH=OFF), run by ctest; any sanitizer report fails the
# run (halt_on_error). Called by scripts/test.sh unless FLATMIN_SKIP_ROBUSTNESS=1.
#   scripts/sanitize.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-sanitize}
jobs=$(nproc 2>/dev/null || echo 2)
# -O1 -g1 (line tables: enough for the sanitizers' stack traces) compiles much faster than RelWithDebInfo's -O2 -g.
flags="-O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Sanitize -DFLATMIN_WITH_TORCH=OFF -DFLATMIN_BUILD_BENCH=OFF \
      "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" "${launcher[@]}" >&2
cmake --build "$dir" -j"$jobs" >&2
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir "$dir" --output-on-failure -j"$jobs" 2>&1 | tee "$dir/sanitize.log"
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$dir/sanitize.log"; then
  echo "sanitize: a sanitizer report appeared (see $dir/sanitize.log)" >&2
  exit 1
fi
echo "sanitize: no sanitizer report" >&2
