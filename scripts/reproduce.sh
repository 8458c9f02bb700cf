#!/usr/bin/env bash
# The main job: build, regenerate every paper check and figure, write the report.
#   scripts/reproduce.sh [--profile smoke|quick|full] [--device cpu|cuda] [--out DIR] [--force]
# Targets whose inputs did not change since the last run into DIR are reused; --force redoes them.
# Default: the CPU "quick" profile into results/.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=quick; device=cpu; out=results; force=()
while (($#)); do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --force) force=(--force); shift ;;
    *) echo "reproduce.sh: unknown argument '$1' (use --profile, --device, --out, --force)" >&2; exit 2 ;;
  esac
done
scripts/bootstrap.sh
build/bin/flatmin reproduce --profile "$profile" --device "$device" --out "$out" "${force[@]}"
/usr/bin/python3 paper_figures/make_figures.py "$out"
/usr/bin/python3 paper_figures/make_report.py "$out" >/dev/null
echo "report: $out/report.html (also $out/report.md, $out/report.json); figures: $out/figures/"
