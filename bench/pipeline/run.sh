#!/usr/bin/env bash
# bench/pipeline: `nz-pipeline run`, incremental, over the PostgreSQL manual
# (1,169 XHTML pages of postgresql-doc-15, copied to a scratch folder), the
# openai provider against the mock at 100 ms a request. Three runs in one
# go, each against the first, measured in the same rep:
#   1. first run: empty index root, empty embedding cache (the anchor);
#   2. nothing changed: target <= 5% of the first run, and 0 requests;
#   3. a paragraph appended to 10 pages (a new mtime): target <= 15% of the
#      first run, and the inputs sent are exactly the chunk ids that are new
#      (`nz-pipeline sources` before and after, as pipeline_incremental.sh).
# Each rep starts fresh (new folder, index root and cache); medians over
# NZ_BENCH_REPS (3). Needs what `make test` needs (tools/deps.sh test: jq,
# postgresql-doc-15).
#
# The mock runs without --fast: --fast estimates tokens as bytes / 4 + 1,
# 15% over the real count on this corpus, and nz-embed's full batches
# (300,000 real tokens) then get a 400 the real API would not send.
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/build}
W=$PWD/build/bench-pipeline
DOCS=/usr/share/doc/postgresql-doc-15/html
LAT=100 NCHANGED=10
REPS=${NZ_BENCH_REPS:-3}
mkdir -p "$W"
unset DATABASE_URL INDEX_PATH EMBEDDING_PROVIDER EMBEDDING_MODEL EMBEDDING_DIMENSIONS
export OPENAI_API_KEY=sk-bench-pipeline

mock_pid=
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null' EXIT
rm -f "$W/port" "$W/mock.log"
"$BIN/nz-mockembed" --port 0 --port-file "$W/port" --log "$W/mock.log" --latency "$LAT" 2>/dev/null &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { echo "bench/pipeline: the mock did not start" >&2; exit 1; }
export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$W/port")"

now() { date +%s.%N; }
TCK=$(getconf CLK_TCK)
mock_cpu() { awk -v t="$TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$mock_pid/stat"; }
# requests and inputs (of answered requests) in the mock's log after line $1
mock_since() { tail -n +"$(($1 + 1))" "$W/mock.log" | jq -s -r '"\(length) \(map(select(.status == 200) | .inputs) | add // 0)"'; }
new_ids() { # before.json after.json: chunk ids in after, not in before
    comm -13 <(jq -r '.chunk_ids[]' "$1" | sort) <(jq -r '.chunk_ids[]' "$2" | sort) | grep -c . || true
}
stage() { jq -r --arg n "$2" '(.stages[]? | select(.name == $n) | .seconds * 1000 | round / 1000) // "-"' "$1"; }

# one run -> R/runN.json; R/mN: wall requests inputs extract chunk embed index status mock-cpu
measure() { # rep-dir n
    local R=$1 n=$2 s e l0 c0
    l0=$(wc -l <"$W/mock.log")
    c0=$(mock_cpu)
    s=$(now)
    "$BIN/nz-pipeline" run -o "$R/ix" --provider openai "$R/src" >"$R/run$n.json" 2>"$R/run$n.err" || true
    e=$(now)
    printf '%s %s %s %s %s %s %s %s\n' "$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')" \
        "$(mock_since "$l0")" "$(stage "$R/run$n.json" extract)" "$(stage "$R/run$n.json" chunk)" \
        "$(stage "$R/run$n.json" embed)" "$(stage "$R/run$n.json" index)" \
        "$(jq -r '"\(.status)/\(.sources.changed)"' "$R/run$n.json")" \
        "$(awk -v a="$c0" -v b="$(mock_cpu)" 'BEGIN { printf "%.2f", b - a }')" >"$R/m$n"
}

# append a paragraph of new text to NCHANGED pages, spread over the manual
edit_pages() { # src
    local i=0 f
    for f in $(ls "$1"/*.html | awk 'NR % 117 == 1' | head -n "$NCHANGED"); do
        i=$((i + 1))
        sed -i "s#</body>#<p>Benchmark edit $i: a paragraph appended to $(basename "$f") so that the nightly job re-embeds only the new text of a changed page and carries every other row over.</p></body>#" "$f"
    done
    [ "$i" = "$NCHANGED" ]
}

for rep in $(seq 1 "$REPS"); do
    R=$W/rep$rep
    rm -rf "$R"
    mkdir -p "$R/src"
    cp "$DOCS"/*.html "$R/src/"
    measure "$R" 1
    measure "$R" 2
    "$BIN/nz-pipeline" sources -o "$R/ix" --format json >"$R/sources.before"
    edit_pages "$R/src"
    measure "$R" 3
    "$BIN/nz-pipeline" sources -o "$R/ix" --format json >"$R/sources.after"
    new_ids "$R/sources.before" "$R/sources.after" >"$R/new"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { # run column: the median over reps (or the values, if not numbers)
    local v=() r
    for r in $(seq 1 "$REPS"); do v+=("$(cut -d' ' -f"$2" "$W/rep$r/m$1")"); done
    case "${v[0]}" in
        [0-9]*) median "${v[@]}" ;;
        *) printf '%s\n' "${v[@]}" | sort -u | paste -sd, ;;
    esac
}
newids=$(median $(cat "$W"/rep*/new))
t1=$(col 1 1)
npages=$(ls "$DOCS"/*.html | wc -l)
echo "$npages pages; openai against the mock at $LAT ms a request; median of $REPS fresh reps"
printf '  %-22s %8s %7s %7s %8s %7s %8s %8s %8s %8s  %s\n' run wall_s ratio target requests inputs \
    extract chunk embed index result
row() { # n label target-or-empty verdict
    local t r
    t=$(col "$1" 1)
    r=$(awk -v a="$t" -v b="$t1" 'BEGIN { printf "%.3f", a / b }')
    printf '  %-22s %8s %7s %7s %8s %7s %8s %8s %8s %8s  %s\n' "$2" "$t" "$r" "${3:--}" "$(col "$1" 2)" \
        "$(col "$1" 3)" "$(col "$1" 4)" "$(col "$1" 5)" "$(col "$1" 6)" "$(col "$1" 7)" "$4"
}
verdict() { # n max-ratio requests-check
    local t
    t=$(col "$1" 1)
    if awk -v a="$t" -v b="$t1" -v m="$2" 'BEGIN { exit !(a / b <= m) }' && eval "$3"; then
        echo PASS
    else
        echo MISS
    fi
}
row 1 "1 first run" "" "$(col 1 8) (anchor)"
row 2 "2 unchanged re-run" "<=0.05" "$(verdict 2 0.05 '[ "$(col 2 2)" = 0 ] && [ "$(col 2 8)" = unchanged/0 ]')"
row 3 "3 $NCHANGED pages changed" "<=0.15" \
    "$(verdict 3 0.15 '[ "$(col 3 3)" = "$newids" ] && [ "$(col 3 8)" = published/$NCHANGED ]')"
echo "  run 3: $newids chunk ids are new; inputs sent must equal them (status/changed in the last column)"
echo "  stage seconds are each stage's own span: they stream into one another, so they overlap"
for n in 1 2 3; do echo "  run $n wall per rep: $(cut -d' ' -f1 "$W"/rep*/m$n | paste -sd' ') s"; done
echo "  the mock's own CPU (it shares the cores), median: run 1 $(col 1 9) s, run 3 $(col 3 9) s"
