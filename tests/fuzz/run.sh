#!/usr/bin/env bash
# run.sh -- the libFuzzer targets (make fuzz-build builds them into
# build-fuzz/), one parser of untrusted bytes each:
#
#   html pdf gzip text   nz-extract's readers (fuzz_html.c ...)
#   docs                 docs.jsonl as nz-chunk reads it (chunk_run)
#   chunks               chunks.jsonl as nz-embed reads it (embed_run, hash)
#   embedded             embedded.jsonl as nz-index build reads it (build_run)
#   fvecs                the .fvecs reader (fvecs_load, build_run --fvecs)
#   manifest             MANIFEST.json (manifest_read)
#   snapshot             the snapshot opener and readers on patched files
#   query                POST /v1/query (when tests/fuzz/fuzz_query.c is built)
#
# Each target starts from its seed corpus in the repository,
# tests/fuzz/corpus/TARGET/ (the extract targets also from fixtures/), with
# tests/fuzz/TARGET.dict when there is one. What a run adds goes to
# build-fuzz/corpus-TARGET/, never to the repository.
#
#   run.sh [SECONDS]           `make fuzz`: each target SECONDS (60) on one
#                              core
#   run.sh --long [SECONDS]    `make fuzz-long`: each target SECONDS with
#                              -fork=2 (both cores)
#   FUZZ_ONLY="docs fvecs"     run only these targets, in this order
#   FUZZ_RUNS=N                stop a target when its executions reach N
#                              (-runs; with -fork the parent stops after the
#                              job that reaches N), SECONDS still the cap
#   FUZZ_DEADLINE=TIME         finish by TIME (date -d: "00:10 UTC"): each
#                              target gets the time left shared by the
#                              targets left, SECONDS still the cap, so a
#                              target that reaches FUZZ_RUNS early leaves
#                              its time to the next ones
#   FUZZ_TIMEOUT=S             an input slower than S seconds (wall clock)
#                              is a finding (20; a long run at nice 19 on
#                              a loaded machine needs more)
#   FUZZ_LOGS=DIR              where fuzz-NAME.log goes (build-fuzz/)
#   FUZZ_RESULTS=FILE          where each summary line is appended, with the
#                              UTC time and the load average
#                              (build-fuzz/fuzz-results.txt)
#
# Each target prints one summary line: "fuzz-NAME: N executions in Ss,
# E exec/s, cov: C, ft: F, clean" or "fuzz-NAME: FAILED ..." (.ci/run
# counts those lines). Executions and seconds are the whole run's (with
# -fork the parent's last "#N: cov: ... time: Ts" line), cov: and ft: the
# final coverage. With -fork, libFuzzer goes on after a timeout or an
# out-of-memory input (and saves it in build-fuzz/crashes/): the line then
# ends with their counts, "oom/timeout/crash: O/T/C", not "clean".
#
# A crash, a leak, a timeout or a sanitizer report fails the target and
# leaves the input in build-fuzz/crashes/TARGET-*; fix it and add the input
# to tests/fuzz/corpus/TARGET/ as a regression case.
set -u
cd "$(dirname "$0")/../.." || exit 2
long=0
if [ "${1:-}" = "--long" ]; then
    long=1
    shift
fi
SECONDS_EACH=${1:-60}
B=build-fuzz
LOGS=${FUZZ_LOGS:-$B}
RESULTS=${FUZZ_RESULTS:-$B/fuzz-results.txt}
RUNS=${FUZZ_RUNS:-}
TIMEOUT=${FUZZ_TIMEOUT:-20}
DEADLINE=""
if [ -n "${FUZZ_DEADLINE:-}" ]; then
    DEADLINE=$(date -d "$FUZZ_DEADLINE" +%s) || exit 2
fi
mkdir -p "$B/crashes" "$LOGS" "$(dirname "$RESULTS")"
# ASan records a stack per malloc and free (its default depth): with
# malloc_context_size=0 fuzz-fvecs ran 1.6x faster, but LeakSanitizer then
# reports no leak at all (an empty allocation stack counts as reachable), and
# a leak in a server is a finding (issue 13's 256 KiB a bad request).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export OMP_NUM_THREADS=1 NZ_LOG_FORMAT=json
unset EMBEDDING_PROVIDER EMBEDDING_MODEL EMBEDDING_DIMENSIONS OPENAI_API_KEY
targets="html pdf gzip text docs chunks embedded fvecs manifest snapshot query"
targets=${FUZZ_ONLY:-$targets}

seed() { # target: fixture files that exercise it
    case "$1" in
        html) find fixtures -name '*.html' ;;
        pdf) find fixtures -name '*.pdf' ;;
        gzip) find fixtures -name '*.gz' ;;
        text) find fixtures -type f \( -name '*.md' -o -name '*.txt' -o -name '*.xml' -o -name '*.html' -o -name '*.gz' \) ;;
    esac
    [ -d "tests/fuzz/corpus/$1" ] && find "tests/fuzz/corpus/$1" -type f
}

# Options a target needs: the largest input worth trying, and quiet stages.
opts() {
    case "$1" in
        docs | chunks | embedded | fvecs) echo "-max_len=65536 -close_fd_mask=3" ;;
        manifest) echo "-max_len=16384" ;;
        snapshot) echo "-max_len=4096" ;;
        pdf) echo "-max_len=65536" ;; # poppler's time grows with the file
        *) echo "-max_len=262144" ;;
    esac
    [ -f "tests/fuzz/$1.dict" ] && echo "-dict=tests/fuzz/$1.dict"
}

# The summary of a finished run from its log: "N S E C F K" (executions,
# seconds, exec/s, cov, ft, oom/timeout/crash), "?" for what the log lacks.
summary() { # log long seconds
    local line runs secs cov ft bad="0/0/0"
    if [ "$2" -eq 1 ]; then # the -fork parent's last status line
        line=$(grep -E '^#[0-9]+: cov: [0-9]+ ' "$1" | tail -n 1)
        runs=$(echo "$line" | sed -nE 's/^#([0-9]+):.*/\1/p')
        secs=$(echo "$line" | sed -nE 's/.* time: ([0-9]+)s.*/\1/p')
        bad=$(echo "$line" | sed -nE 's|.* oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+) .*|\1|p')
    else # the last status line (DONE) and the final stats
        line=$(grep -E '^#[0-9]+[[:space:]].* cov: [0-9]+ ' "$1" | tail -n 1)
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$1" | tail -n 1 | grep -o '[0-9]*$')
        secs=$3
    fi
    cov=$(echo "$line" | sed -nE 's/.* cov: ([0-9]+) .*/\1/p')
    ft=$(echo "$line" | sed -nE 's/.* ft: ([0-9]+) .*/\1/p')
    local eps="?"
    [ -n "$runs" ] && [ "${secs:-0}" -gt 0 ] && eps=$((runs / secs))
    echo "${runs:-?} ${secs:-?} $eps ${cov:-?} ${ft:-?} ${bad:-?}"
}

failed=0
left=$(echo "$targets" | wc -w)
for t in $targets; do
    secs_t=$SECONDS_EACH
    if [ -n "$DEADLINE" ]; then # the time left, shared by the targets left
        share=$(((DEADLINE - $(date +%s)) / left))
        [ "$share" -lt "$secs_t" ] && secs_t=$share
        [ "$secs_t" -lt 1 ] && secs_t=1
    fi
    left=$((left - 1))
    corpus="$B/corpus-$t"
    mkdir -p "$corpus"
    seed "$t" | while read -r f; do cp "$f" "$corpus/seed-$(basename "$f")"; done
    log="$LOGS/fuzz-$t.log"
    extra=""
    [ $long -eq 1 ] && extra="-fork=2 -ignore_crashes=0"
    [ -n "$RUNS" ] && extra="$extra -runs=$RUNS"
    began=$(date +%s)
    # shellcheck disable=SC2046,SC2086
    "$B/fuzz-$t" -max_total_time="$secs_t" -timeout="$TIMEOUT" -rss_limit_mb=2560 $(opts "$t") $extra \
        -print_final_stats=1 -artifact_prefix="$B/crashes/$t-" "$corpus" >"$log" 2>&1
    rc=$?
    read -r runs secs eps cov ft bad <<<"$(summary "$log" $long $(($(date +%s) - began)))"
    if [ $rc -eq 0 ]; then
        line="fuzz-$t: $runs executions in ${secs}s, $eps exec/s, cov: $cov, ft: $ft"
        if [ "$bad" = "0/0/0" ]; then
            line="$line, clean"
        else # -fork went on past findings: still a failure
            failed=1
            line="$line, oom/timeout/crash: $bad; see $B/crashes/$t-*"
        fi
    else
        failed=1
        line="fuzz-$t: FAILED after $runs executions (exit $rc); see $log"
    fi
    echo "$line"
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $line (load $(cut -d' ' -f1-3 /proc/loadavg))" >>"$RESULTS"
    [ $rc -eq 0 ] || grep -E 'ERROR|SUMMARY|==[0-9]+==|fuzz-[a-z]+: ' "$log" | head -5
done
exit $failed
