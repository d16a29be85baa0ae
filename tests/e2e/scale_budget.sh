#!/usr/bin/env bash
# One rate budget for every worker (nz-embed --shared-budget, a token
# bucket row in the PostgreSQL catalog): the mock answers 429 over 12
# requests a second; four workers pacing to --rpm 600 (10 a second)
# together get no more 429s than one worker does, while four nz-embed
# processes pacing alone, each to the same --rpm, do get them.
source "$(dirname "$0")/lib.sh"
dist_start || exit 0
MOCK_ARGS=(--rpm 12 --window-ms 1000 --latency 30)
export DATABASE_URL=$PG_URL
mkdir -p "$T/src"
for i in $(seq 1 40); do
    printf '# Budget note %d\n\nQuota %d applies to sponsor %d.\n' "$i" "$((i * 11))" "$i" >"$T/src/n$i.md"
done
count() { jq -s --argjson s "$1" 'map(select(.status == $s)) | length' "$T/mock.log"; }

run_workers() { # N tag: plan everything anew, N workers, finish
    local n=$1 tag=$2 pids=() p fails=0
    start_mock "${MOCK_ARGS[@]}"
    nz-pipeline plan -o "$T/$tag/ix" --store s3://bk/$tag --full --batch-size 2 --rpm 600 "$T/src" \
        >"$T/$tag.plan" 2>"$T/$tag.plan.err"
    for w in $(seq 1 "$n"); do
        nz-pipeline work -o "$T/$tag/w$w/ix" --lease 30 >"$T/$tag.w$w.json" 2>"$T/$tag.w$w.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    nz-pipeline finish -o "$T/$tag/ix" >"$T/$tag.finish" 2>"$T/$tag.finish.err" || fails=$((fails + 1))
    return $fails
}

run_workers 1 one && t_ok one_worker_published || t_fail one_worker_published "$(tail -c 300 "$T"/one.*err)"
one429=$(count 429)
one200=$(count 200)
run_workers 4 four && t_ok four_workers_published || t_fail four_workers_published "$(tail -c 300 "$T"/four.*err)"
four429=$(count 429)
four200=$(count 200)
[ "$one200" -eq 20 ] && [ "$four200" -eq 20 ] && t_ok each_batch_sent_once ||
    t_fail each_batch_sent_once "answered: one worker $one200, four $four200 (want 20)"
[ "$four429" -le "$one429" ] && t_ok shared_budget_no_more_429s ||
    t_fail shared_budget_no_more_429s "four workers got $four429 429s, one worker $one429"
[ "$(pg_q "SELECT count(*) FROM nz_ratebudget WHERE name = 'embed'")" = 1 ] && t_ok budget_row_in_catalog ||
    t_fail budget_row_in_catalog "$(pg_q 'SELECT * FROM nz_ratebudget')"

# the control: four processes each pacing alone to the same --rpm
start_mock "${MOCK_ARGS[@]}"
nz-extract "$T/src" 2>/dev/null | nz-chunk >"$T/chunks.jsonl" 2>/dev/null
pids=()
for w in 1 2 3 4; do
    nz-embed --no-cache --batch 2 --rpm 600 "$T/chunks.jsonl" >"$T/alone$w.jsonl" 2>"$T/alone$w.err" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
alone429=$(count 429)
[ "$alone429" -gt "$four429" ] && t_ok unshared_pace_gets_429s ||
    t_fail unshared_pace_gets_429s "alone: $alone429 429s, shared: $four429"
echo "# 429s: one worker $one429, four sharing $four429, four alone $alone429"
