#!/usr/bin/env bash
# Runs one libFuzzer binary for FUZZ_SECONDS (default 30) from a temporary copy of its committed corpus
# (new inputs go to the copy, so the committed corpus is never modified). A crash leaves its input as
# crash-* in FUZZ_ARTIFACTS (default: the temp dir, printed) and fails.
# Seed files named after the corpus (files the repository already tracks elsewhere, e.g. test data) join
# the temporary copy.
#   run_fuzzer.sh <fuzzer binary> <corpus dir> [seed file ...]
set -euo pipefail
bin=$1; corpus=$2; shift 2
secs=${FUZZ_SECONDS:-30}
work=$(mktemp -d "${TMPDIR:-/tmp}/flatmin-fuzz.XXXXXX")
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || { mkdir -p "$work/corpus"; cp -r "$corpus"/. "$work/corpus/"; }
[ "$#" -eq 0 ] || cp "$@" "$work/corpus/"
art=${FUZZ_ARTIFACTS:-$work}
mkdir -p "$art"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
set +e
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$art/" "$work/corpus" 2>&1 | tail -n 25
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "run_fuzzer: $(basename "$bin") failed (exit $rc); inputs in $art" >&2; fi
exit "$rc"
