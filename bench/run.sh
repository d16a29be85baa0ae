#!/usr/bin/env bash
# run.sh -- `make bench`: run every benchmark under bench/*/run.sh.
# Each benchmark prints its figures next to its anchor, measured in the
# same run, as a ratio. Benchmarks measure time; tests never do.
# bench/corpus/build.sh is not a benchmark: it builds the 100k-chunk corpus
# (cached under build/bench/corpus/) that bench/serve and others share.
set -u
cd "$(dirname "$0")/.."
export NZ_BIN=$PWD/${NZ_BUILD:-build}
found=0
for b in bench/*/run.sh; do
    [ -e "$b" ] || continue
    found=1
    echo "== $(dirname "$b")"
    bash "$b" || echo "benchmark $(dirname "$b") failed (exit $?)"
done
[ $found = 1 ] || echo "no benchmarks yet: they arrive with the issues that set performance targets"
