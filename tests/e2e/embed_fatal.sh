#!/usr/bin/env bash
# nz-embed's openai provider at an answer that can never succeed
# (429 insufficient_quota, 401): no request starts after it on any slot,
# exit 1, everything embedded before it is written out and counted, and
# what was paid for is in the cache (a re-run sends only the rest).
# The mock answers every request after the first N with the error
# (--fatal-after N --fatal-status S) and logs each request's arrival ("a")
# and when each answer was sent ("t").
source "$(dirname "$0")/lib.sh"
KEY="sk-test-NUZANTARA-FATAL-0123456789"
export OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai

export T
export -f requests

# 400 distinct records; the reference vectors are the hash embedder's.
N=400
awk -v n=$N 'BEGIN { for (i = 0; i < n; i++) printf "{\"chunk_id\":\"c%d\",\"doc_id\":\"d\",\"text\":\"fatal answer record %d\",\"tokens\":5}\n", i, i }' >"$T/in.jsonl"
nz-embed --provider hash <"$T/in.jsonl" 2>/dev/null | jq -r '[.chunk_id, .embedding] | @tsv' >"$T/want.tsv"
prefix_of_hash() { # file count: exactly the first `count` records, in order, with the right vectors
    [ "$(wc -l <"$1")" -eq "$2" ] && cmp -s <(jq -r '[.chunk_id, .embedding] | @tsv' "$1") <(head -n "$2" "$T/want.tsv")
}
stats() { # err-file jq-filter on the stats line
    jq -e "select(.level == \"error\" and has(\"embedded\")) | $2" "$1" >/dev/null
}
export -f prefix_of_hash stats

# --concurrency 1 --batch 16, the error after 2 batches: exactly 3
# requests; the 32 inputs paid for are written, counted and cached.
# (not_embedded counts the records read when the run stopped: how many
# were read by then depends on the machine's speed.)
fatal_serial() { # name status message
    local name=$1 status=$2 msg=$3
    start_mock --fatal-after 2 --fatal-status "$status"
    nz-embed --cache "$T/cache-$name" --concurrency 1 --batch 16 <"$T/in.jsonl" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    [ $rc -eq 1 ] && t_ok "${name}_exit_1" || t_fail "${name}_exit_1" "exit $rc: $(tail -c 300 "$T/$name.err")"
    check "${name}_exactly_3_requests" bash -c "[ \$(requests) -eq 3 ] && jq -s -e '[.[].status] == [200, 200, $status]' '$T/mock.log'"
    check "${name}_says_why" grep -q "$msg" "$T/$name.err"
    check "${name}_writes_the_32_embedded" prefix_of_hash "$T/$name.out" 32
    check "${name}_stats_count_what_was_kept" stats "$T/$name.err" \
        '.embedded == 32 and .paid == 32 and .sent == 48 and .requests == 3 and .not_embedded > 0 and .embedded + .not_embedded <= '$N
    # the cache holds what was paid for: a healthy server gets only the rest
    start_mock
    nz-embed --cache "$T/cache-$name" --concurrency 1 --batch 16 <"$T/in.jsonl" >"$T/$name.re" 2>"$T/$name.re.err"
    rc=$?
    check "${name}_rerun_sends_only_the_rest" bash -c "[ $rc -eq 0 ] && [ \$(requests) -eq $(((N - 32 + 15) / 16)) ] &&
        [ \$(jq -s 'map(.inputs) | add' '$T/mock.log') -eq $((N - 32)) ] &&
        jq -e 'select(.msg == \"done\") | .cache_hits == 32 and .embedded == $N' '$T/$name.re.err' >/dev/null"
    check "${name}_rerun_complete" prefix_of_hash "$T/$name.re" $N
}
fatal_serial quota 429 'HTTP 429 insufficient_quota'
fatal_serial bad_key 401 'HTTP 401 invalid_api_key'

# A wrong key from the start: one request, nothing written, exit 1.
start_mock
OPENAI_API_KEY=sk-wrong-key nz-embed --no-cache --concurrency 1 --batch 16 <"$T/in.jsonl" >"$T/k.out" 2>"$T/k.err"
rc=$?
check first_401_one_request bash -c "[ $rc -eq 1 ] && [ \$(requests) -eq 1 ] && [ ! -s '$T/k.out' ]"
check first_401_stats stats "$T/k.err" ".embedded == 0 and .paid == 0 and .requests == 1 and .not_embedded > 0"

# --concurrency 4, 200 ms a request, the error after 4 requests: the 4
# slots restart once (requests 5-8, all answered with the error) and no
# request arrives after the first error was sent.
start_mock --latency 200 --fatal-after 4
nz-embed --cache "$T/cache-c4" --concurrency 4 --batch 16 <"$T/in.jsonl" >"$T/c4.out" 2>"$T/c4.err"
rc=$?
sleep 0.5 # a request started at the end would be logged by now (answered, or "cut")
[ $rc -eq 1 ] && t_ok concurrent_exit_1 || t_fail concurrent_exit_1 "exit $rc: $(tail -c 300 "$T/c4.err")"
check concurrent_none_starts_after_the_error jq -s -e '
    (map(select(.status != 200)) | map(.t) | min) as $first
    | length == 8 and all(.[]; .a < $first) and (map(select(.status == 200)) | length) == 4' "$T/mock.log"
check concurrent_writes_the_64_embedded prefix_of_hash "$T/c4.out" 64
check concurrent_stats_count_what_was_kept stats "$T/c4.err" \
    '.embedded == 64 and .paid == 64 and .requests == 8 and .not_embedded > 0 and .embedded + .not_embedded <= '$N
check concurrent_error_logged_once bash -c "[ \$(grep -c 'embedding request failed' '$T/c4.err') -eq 1 ]"

# Answers that overtake one another: every batch answered before the
# error is kept, in input order up to the first gap and past it.
start_mock --latency 50 --jitter 150 --seed 7 --fatal-after 6
nz-embed --cache "$T/cache-j" --concurrency 4 --batch 16 <"$T/in.jsonl" >"$T/j.out" 2>"$T/j.err"
rc=$?
check jitter_exit_1_and_kept bash -c "[ $rc -eq 1 ] &&
    [ \$(jq -s 'map(select(.status == 200)) | length' '$T/mock.log') -eq 6 ] &&
    jq -s -e 'map(.chunk_id | ltrimstr(\"c\") | tonumber) | . == sort and length == 96' '$T/j.out' >/dev/null"
check jitter_stats_equal_records_written stats "$T/j.err" ".embedded == $(wc -l <"$T/j.out") and .paid == 96"

# The key appears in no log line.
if grep -rq "$KEY" "$T"/*.err; then t_fail api_key_never_logged "found"; else t_ok api_key_never_logged; fi
expect_exit mock_rejects_unknown_fatal_status 2 nz-mockembed --fatal-status 500
