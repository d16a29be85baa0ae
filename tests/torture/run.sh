#!/usr/bin/env bash
# Crash trials (make torture): SIGKILL writers at random moments and check
# that nothing a reader trusts is ever damaged.
#
#   NZ_BUILD=build [TRIALS=100] [SEED=1] [SCENARIOS="build pipeline import pull"] \
#       bash tests/torture/run.sh
#
# One index root, one nz-serve running on it throughout. Each scenario kills
# its writer (SIGKILL to its whole process group, as a crash of the machine
# would) after a random delay between 0 and the length of the last unhurried
# run (the first, then each trial's next run), so kills land from the first
# read to the last rename of the publish. A trial counts when its kill
# landed while the writer was still running; a writer that had already
# exited is checked all the same, and the scenario goes on until TRIALS
# kills have landed (at most 5 x TRIALS attempts). After every kill:
#   - `current` verifies (nz-index verify: every byte and what it means);
#   - the server answers from it: /health names `current`, a query gets hits;
#   - the next run of the same writer completes (exit 0);
#   - and leaves no temp behind: no .tmp- folder, no .current.tmp. link, no
#     .NAME.tmp. file anywhere under the root.
# Scenarios: build (nz-index build and its publish), pipeline (nz-pipeline
# run --full, hash provider, offline), import (nz-index import of a
# tarball), pull (nz-index pull from s3rver). An import or pull that found
# its snapshot already here would write nothing, so before each trial the
# one of two snapshots that is not current is removed and fetched again.
# Prints one line per scenario: trials (kills that landed during a run),
# where they landed (judged from what the kill left: current already moved
# to the new snapshot; else the new snapshot's folder in place, current not
# yet moved; else temp files or folders of the writer's, or any other new
# file such as the pipeline catalog's journal; else nothing yet, the writer
# was reading or starting), attempts and failures. Exits 1 when an attempt
# failed or a scenario fell short of TRIALS landed kills.
set -u
set -m # each writer in its own process group, killed whole
NZ_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NZ_BIN=$NZ_ROOT/${NZ_BUILD:-build}
source "$NZ_ROOT/tests/e2e/lib.sh"
SUITE=torture
TRIALS=${TRIALS:-100}
RANDOM=${SEED:-1}
SCENARIOS=${SCENARIOS:-build pipeline import pull}
R=$T/root
LOG=$T/failures.log
export EMBEDDING_PROVIDER=hash

now_ms() { date +%s%3N; }

# the inputs: embedded records for build, two snapshots (A, B) as tarballs
# and in object storage for import and pull
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null >"$T/one.jsonl"
for _ in 1 2 3; do cat "$T/one.jsonl"; done >"$T/emb.jsonl"
for s in A B; do
    nz-index build -o "$T/src$s" "$T/one.jsonl" >/dev/null 2>&1 || { echo "torture: cannot build $s" >&2; exit 1; }
    nz-index export "$T/src$s" -o "$T/$s.tar.gz" >/dev/null 2>&1 || exit 1
    declare "NAME_$s=$(readlink "$T/src$s/current")"
done
have_s3=0
if [[ " $SCENARIOS " == *" pull "* ]]; then
    if start_s3 bk; then
        nz-index push -o "$T/srcA" s3://bk/A >/dev/null 2>&1 && nz-index push -o "$T/srcB" s3://bk/B >/dev/null 2>&1 && have_s3=1
    fi
    [ $have_s3 = 1 ] || echo "torture: no s3rver (npm): the pull scenario fails" >&2
fi

nz-index build -o "$R" "$T/one.jsonl" >/dev/null 2>&1 || { echo "torture: first build failed" >&2; exit 1; }
start_server "$R"
[ "$PORT" != 0 ] || { echo "torture: nz-serve did not start" >&2; exit 1; }

# The writer of a scenario, as a command line; `pick` first chooses (and
# clears) the snapshot an import or pull will fetch.
pick() {
    local cur
    cur=$(readlink "$R/current")
    if [ "$cur" = "$NAME_A" ]; then WHICH=B; else WHICH=A; fi
    local name_var=NAME_$WHICH
    rm -rf "${R:?}/${!name_var}"
}
writer() { # scenario
    case $1 in
        build) echo nz-index build -o "$R" "$T/emb.jsonl" ;;
        pipeline) echo nz-pipeline run --full -o "$R" "$NZ_ROOT/fixtures/docs" ;;
        import) echo nz-index import "$T/$WHICH.tar.gz" -o "$R" ;;
        pull) echo nz-index pull -o "$R" "s3://bk/$WHICH" ;;
    esac
}

# After a kill: current verifies, and the server answers from it.
served() {
    local cur snap r
    cur=$(readlink "$R/current")
    nz-index verify "$R" >/dev/null 2>"$T/verify.err" || { echo "current $cur does not verify: $(tail -c 200 "$T/verify.err")"; return 1; }
    for _ in $(seq 1 100); do # the server looks at current once a second
        snap=$(curl -s -m 5 "http://127.0.0.1:$PORT/health" | jq -r .index.snapshot 2>/dev/null)
        [ "$snap" = "$cur" ] && break
        sleep 0.1
    done
    [ "$snap" = "$cur" ] || { echo "the server serves $snap, current is $cur"; return 1; }
    r=$(http POST /v1/query '{"query":"PT PMA capital","k":3}')
    [ "${r##*$'\n'}" = 200 ] && echo "${r%$'\n'*}" | jq -e '.results | length > 0' >/dev/null ||
        { echo "query: $(echo "$r" | tail -c 200)"; return 1; }
}

# 0 when one of these new entries of the root is a snapshot folder in place
# (a MANIFEST.json in it), not a temp or the catalog's journal.
published() { # entries, one a line
    local e
    while read -r e; do [ -f "$R/$e/MANIFEST.json" ] && return 0; done <<<"$1"
    return 1
}

leftovers() {
    find "$R" \( -name '.tmp-*' -o -name '.current.tmp.*' -o -name '.*.tmp.*' \) -print 2>/dev/null | head -3
}

trial() { # scenario: writes why it failed, if it did, to $T/why
    : >"$T/why"
    trial_run "$@" >"$T/why"
}
trial_run() {
    local sc=$1 pid alive cmd why t0 cur0 ls0 new
    [ "$sc" = import ] || [ "$sc" = pull ] && pick
    read -r -a cmd <<<"$(writer "$sc")"
    local delay=$(((RANDOM * 32768 + RANDOM) % (DUR[$sc] + 1)))
    cur0=$(readlink "$R/current")
    ls0=$(ls "$R")
    "${cmd[@]}" >/dev/null 2>>"$T/$sc.err" &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    alive=0
    kill -0 "$pid" 2>/dev/null && alive=1
    kill -9 -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ $alive = 1 ]; then # where the kill landed, from what it left
        if [ "$(readlink "$R/current")" != "$cur0" ]; then
            echo switched >>"$T/landed.$sc"
        elif new=$(comm -13 <(echo "$ls0") <(ls "$R")) && [ -n "$new" ] && published "$new"; then
            echo renamed >>"$T/landed.$sc"
        elif [ -n "$new" ] || [ -n "$(leftovers)" ]; then # temps, the catalog's journal
            echo writing >>"$T/landed.$sc"
        else
            echo before >>"$T/landed.$sc"
        fi
    fi
    why=$(served) || { echo "after a kill at ${delay} ms: $why"; return; }
    [ "$sc" = import ] || [ "$sc" = pull ] && pick
    read -r -a cmd <<<"$(writer "$sc")"
    t0=$(now_ms)
    "${cmd[@]}" >/dev/null 2>"$T/next.err" || { echo "the next run failed: $(tail -c 200 "$T/next.err")"; return; }
    DUR[$sc]=$(($(now_ms) - t0)) # the next kill's window follows the machine's pace
    why=$(leftovers)
    [ -z "$why" ] || { echo "left behind: $why"; return; }
    why=$(served) || { echo "after the next run: $why"; return; }
}

declare -A DUR
total_fail=0
for sc in $SCENARIOS; do
    if [ "$sc" = pull ] && [ $have_s3 = 0 ]; then
        echo "$sc: trials 0, failures 1 (no s3rver)"
        total_fail=$((total_fail + 1))
        continue
    fi
    [ "$sc" = import ] || [ "$sc" = pull ] && pick
    read -r -a cmd <<<"$(writer "$sc")"
    t0=$(now_ms)
    "${cmd[@]}" >/dev/null 2>"$T/first.err" || { echo "$sc: an unhurried run failed: $(tail -c 300 "$T/first.err")" >&2; exit 1; }
    DUR[$sc]=$(($(now_ms) - t0))
    : >"$T/landed.$sc"
    fails=0 n=0 landed=0
    while [ "$landed" -lt "$TRIALS" ] && [ "$n" -lt $((TRIALS * 5)) ]; do
        n=$((n + 1))
        trial "$sc"
        why=$(cat "$T/why")
        if [ -n "$why" ]; then
            fails=$((fails + 1))
            echo "$sc attempt $n: $why" | tee -a "$LOG" >&2
        fi
        landed=$(grep -c . "$T/landed.$sc")
    done
    echo "$sc: trials $landed ($(grep -c '^before' "$T/landed.$sc") before any file, $(grep -c '^writing' "$T/landed.$sc") while writing, $(grep -c '^renamed' "$T/landed.$sc") with the folder in place, $(grep -c '^switched' "$T/landed.$sc") after current moved), attempts $n, failures $fails (an unhurried run: ${DUR[$sc]} ms)"
    [ "$landed" -ge "$TRIALS" ] || {
        echo "$sc: only $landed of $TRIALS kills landed during a run in $n attempts" >&2
        fails=$((fails + 1))
    }
    total_fail=$((total_fail + fails))
done
[ "$total_fail" = 0 ]
