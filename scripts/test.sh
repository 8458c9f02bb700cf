#!/usr/bin/env bash
# Builds everything (installing missing Debian packages first) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
# Robustness (issue 15): the libFuzzer targets, FUZZ_SECONDS each (default 30), and the ASan+UBSan
# build of the LibTorch-free core with its tests (about 10 minutes on 2 cores). FLATMIN_SKIP_ROBUSTNESS=1 skips both.
if [ "${FLATMIN_SKIP_ROBUSTNESS:-0}" != 1 ]; then
  scripts/fuzz.sh
  scripts/sanitize.sh
fi
