#!/usr/bin/env bash
# run.sh -- `make fuzz`: run each libFuzzer target for SECONDS, seeded
# from fixtures/, and report how many executions ran clean. A crash, a
# leak or a sanitizer report fails the run and leaves the input in
# build-fuzz/crashes/.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-60}
B=build-fuzz
mkdir -p "$B/crashes"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
seed() { # target: fixture files that exercise it
    case "$1" in
        html) find fixtures -name '*.html' ;;
        pdf) find fixtures -name '*.pdf' ;;
        gzip) find fixtures -name '*.gz' ;;
        text) find fixtures -type f \( -name '*.md' -o -name '*.txt' -o -name '*.xml' -o -name '*.html' -o -name '*.gz' \) ;;
        query) find tests/fuzz/corpus/query -type f ;;
    esac
}
failed=0
for t in html pdf gzip text query; do
    corpus="$B/corpus-$t"
    mkdir -p "$corpus"
    seed "$t" | while read -r f; do cp "$f" "$corpus/seed-$(basename "$f")"; done
    log="$B/fuzz-$t.log"
    "$B/fuzz-$t" -max_total_time="$SECONDS_EACH" -timeout=20 -rss_limit_mb=2560 -max_len=262144 \
        -print_final_stats=1 -artifact_prefix="$B/crashes/$t-" "$corpus" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    if [ $rc -eq 0 ]; then
        echo "fuzz-$t: ${runs:-?} executions in ${SECONDS_EACH}s, clean"
    else
        failed=1
        echo "fuzz-$t: FAILED after ${runs:-?} executions (exit $rc); see $log"
        grep -E 'ERROR|SUMMARY|==[0-9]+==' "$log" | head -5
    fi
done
exit $failed
