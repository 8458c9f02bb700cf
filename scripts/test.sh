#!/usr/bin/env bash
# Builds everything (installing missing Debian packages first) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
ctest --test-dir build --output-on-failure -j"$(nproc 2>/dev/null || echo 2)"
