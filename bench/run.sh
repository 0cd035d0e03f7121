#!/usr/bin/env bash
# Runs every benchmark and prints one JSON object per benchmark, one per line.
# Figures go to docs/benchmarks.md with the command that produced them.
set -euo pipefail
build=${1:-build}
for b in "$build"/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "# $(basename "$b")" >&2
  "$b"
done
