#!/usr/bin/env bash
# nz-embed's openai provider against the OpenAI-compatible mock on
# loopback: every fault alone, a 20% mix, rate limits, resume after SIGKILL,
# zero requests on a re-run, output order, and no API key anywhere.
source "$(dirname "$0")/lib.sh"
KEY="sk-test-NUZANTARA-SECRET-0123456789"
export OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai

export T
export -f requests

# Input: the fixtures' chunks, plus a duplicate text and a blank one.
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null >"$T/chunks.jsonl"
N=$(wc -l <"$T/chunks.jsonl")
# The reference: the mock's vectors are the hash embedder's.
nz-embed --provider hash <"$T/chunks.jsonl" 2>/dev/null | jq -r '[.chunk_id, .embedding] | @tsv' >"$T/want.tsv"
same_as_hash() { # file: every chunk exactly once, in order, with the right vector
    cmp -s <(jq -r '[.chunk_id, .embedding] | @tsv' "$1") "$T/want.tsv"
}
export -f same_as_hash
# done_is FILE FILTER: FILE holds one "done" line and FILTER holds for it.
# Not `jq -e 'select(.msg == "done") | FILTER'`: on an empty file jq reads
# no value and exits 0, so a stage that died silently would pass.
done_is() { jq -s -e "map(select(.msg == \"done\")) | length == 1 and (.[0] | $2)" "$1"; }
export -f done_is
check reference_has_every_chunk bash -c "[ $N -gt 0 ] && [ \$(wc -l <'$T/want.tsv') -eq $N ]"

start_mock
nz-embed --no-cache --batch 8 <"$T/chunks.jsonl" >"$T/ok.jsonl" 2>"$T/ok.err"
rc=$?
[ $rc -eq 0 ] && t_ok clean_run_exit_0 || t_fail clean_run_exit_0 "exit $rc: $(tail -c 300 "$T/ok.err")"
check clean_run_all_chunks_in_order same_as_hash "$T/ok.jsonl"
check records_carry_provider_model_dim jq -s -e 'length == '"$N"' and all(.[]; .provider == "openai" and .model == "text-embedding-3-small" and .dim == 1536)' "$T/ok.jsonl"
check batches_of_8 bash -c "[ \$(requests) -eq $(( (N + 7) / 8 )) ]"
check stats_line done_is "$T/ok.err" '.requests > 0 and .tokens > 1000 and .cost_usd > 0 and .sent == '"$N"' and .embedded == '"$N"
check usage_tokens_are_the_chunk_counts bash -c "[ \$(jq -s 'map(.tokens)|add' '$T/chunks.jsonl') -eq \$(jq 'select(.msg == \"done\") | .tokens' '$T/ok.err') ]"

# Answers that overtake the head's answer must not split batches: 3,000
# records, past the 1,024-record window, batch 10, 4 in flight, answers in
# 5-45 ms in any order: exactly 300 full requests.
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{\"chunk_id\":\"c%d\",\"doc_id\":\"d\",\"text\":\"window record %d\",\"tokens\":5}\n", i, i }' >"$T/many.jsonl"
start_mock --latency 5 --jitter 40
nz-embed --no-cache --batch 10 --concurrency 4 <"$T/many.jsonl" >"$T/many.out" 2>"$T/many.err"
check window_full_sends_full_batches bash -c "[ \$(requests) -eq 300 ] && [ \$(jq -s length '$T/many.out') -eq 3000 ] && jq -s -e '[.[].chunk_id] == [range(3000) | \"c\\(.)\"]' '$T/many.out' >/dev/null"

# Every fault, one at a time: all retried until every chunk is embedded once.
for fault in "--fail-500 0.4" "--fail-503 0.4" "--drop 0.4" "--malformed 0.4" "--wrong-dim 0.4" \
             "--hang 0.3 --hang-ms 2500"; do
    name=$(echo "$fault" | cut -d' ' -f1 | tr -d -)
    start_mock --seed 11 $fault
    nz-embed --no-cache --batch 4 --timeout 1 <"$T/chunks.jsonl" >"$T/f.jsonl" 2>"$T/f.err"
    rc=$?
    if [ $rc -eq 0 ] && same_as_hash "$T/f.jsonl"; then t_ok "fault_${name}_recovered"
    else t_fail "fault_${name}_recovered" "exit $rc: $(tail -c 300 "$T/f.err")"; fi
    check "fault_${name}_retries_counted" done_is "$T/f.err" '.retries > 0'
done
# Ollama answers float arrays.
start_mock --float
nz-embed --no-cache <"$T/chunks.jsonl" >"$T/fl.jsonl" 2>/dev/null
check float_array_replies_read same_as_hash "$T/fl.jsonl"

# A 20% mix of every fault: every chunk still embedded exactly once.
start_mock --seed 5 --fail-500 0.04 --fail-503 0.04 --drop 0.03 --malformed 0.03 --wrong-dim 0.03 \
    --hang 0.03 --hang-ms 2500
nz-embed --no-cache --batch 2 --timeout 1 --max-retries 20 <"$T/chunks.jsonl" >"$T/mix.jsonl" 2>"$T/mix.err"
rc=$?
[ $rc -eq 0 ] && t_ok fault_mix_exit_0 || t_fail fault_mix_exit_0 "exit $rc: $(tail -c 300 "$T/mix.err")"
check fault_mix_every_chunk_exactly_once same_as_hash "$T/mix.jsonl"
check fault_mix_saw_faults bash -c "[ \$(grep -vc '\"fault\":\"none\"' '$T/mock.log') -gt 3 ]"

# Rate limits: 429 with retry-after-ms is waited out; pacing stays under it.
# 200 ms answers: the 4 slots restart on the first 4 answers (6 requests a
# second allowed, x-ratelimit-remaining-requests says 2), before any answer
# could say none is left, so 2 requests meet a 429 whatever the timing.
start_mock --rpm 6 --window-ms 1000 --latency 200
nz-embed --no-cache --batch 8 --concurrency 4 <"$T/chunks.jsonl" >"$T/rl.jsonl" 2>"$T/rl.err"
rc=$?
[ $rc -eq 0 ] && same_as_hash "$T/rl.jsonl" && t_ok rate_limit_429_waited_out || t_fail rate_limit_429_waited_out "exit $rc"
check rate_limit_retries_counted done_is "$T/rl.err" '.retries_by_cause.rate_limit > 0'
start_mock --rpm 600 --window-ms 60000
nz-embed --no-cache --batch 8 --rpm 300 <"$T/chunks.jsonl" >"$T/pace.jsonl" 2>"$T/pace.err"
check pacing_avoids_429 bash -c "same_as_hash '$T/pace.jsonl' && ! grep -q '\"status\":429' '$T/mock.log'"

# Errors that never succeed: stop at once with a clear message, exit 1.
start_mock --quota 1
nz-embed --no-cache <"$T/chunks.jsonl" >"$T/q.jsonl" 2>"$T/q.err"
rc=$?
[ $rc -eq 1 ] && t_ok insufficient_quota_exit_1 || t_fail insufficient_quota_exit_1 "exit $rc"
check insufficient_quota_not_retried bash -c "[ \$(requests) -le 4 ] && grep -q 'insufficient_quota' '$T/q.err'"
start_mock
OPENAI_API_KEY=sk-wrong-key nz-embed --no-cache <"$T/chunks.jsonl" >/dev/null 2>"$T/401.err"
rc=$?
[ $rc -eq 1 ] && t_ok bad_key_401_exit_1 || t_fail bad_key_401_exit_1 "exit $rc"
check bad_key_not_retried bash -c "[ \$(requests) -le 4 ] && grep -q 'HTTP 401' '$T/401.err'"
# An input over 8,191 tokens is rejected, not sent; blank text never sent.
/usr/bin/python3 -c "
import json
print(json.dumps({'chunk_id':'big','doc_id':'d','text':'kata ' * 9000,'tokens':9001}))
print(json.dumps({'chunk_id':'big-uncounted','doc_id':'d','text':'kata ' * 9000}))
print(json.dumps({'chunk_id':'blank','doc_id':'d','text':'   '}))
print(json.dumps({'chunk_id':'fine','doc_id':'d','text':'Izin tinggal terbatas.'}))" >"$T/limits.jsonl"
nz-embed --no-cache <"$T/limits.jsonl" >"$T/limits.out" 2>"$T/limits.err"
rc=$?
[ $rc -eq 3 ] && t_ok over_limit_input_exit_3 || t_fail over_limit_input_exit_3 "exit $rc"
check over_limit_rejected_not_sent bash -c "grep -q 'over the model.s limit of 8191' '$T/limits.err' && [ \$(jq -s 'map(.inputs)|add' '$T/mock.log') -eq 1 ]"
check blank_never_sent grep -q 'empty text is never embedded' "$T/limits.err"
check records_without_tokens_are_counted bash -c "[ \$(grep -c 'over the model.s limit of 8191' '$T/limits.err') -eq 2 ] && jq -s -e 'any(.[]; .chunk_id == \"fine\")' '$T/limits.out' >/dev/null"

# The cache: a re-run makes zero requests; a killed run resumes.
start_mock --latency 300
nz-embed --cache "$T/cache" --batch 4 <"$T/chunks.jsonl" >"$T/c1.jsonl" 2>/dev/null
first=$(requests)
: >"$T/mock.log"
nz-embed --cache "$T/cache" --batch 4 <"$T/chunks.jsonl" >"$T/c2.jsonl" 2>"$T/c2.err"
check rerun_zero_requests bash -c "[ \$(requests) -eq 0 ] && done_is '$T/c2.err' '.cache_hits == $N and .requests == 0' >/dev/null"
check rerun_same_output cmp "$T/c1.jsonl" "$T/c2.jsonl"
# Kill -9 in the middle, then run again: only what was in flight is re-sent.
: >"$T/mock.log"
nz-embed --cache "$T/cache2" --batch 2 --concurrency 2 <"$T/chunks.jsonl" >"$T/k1.jsonl" 2>/dev/null &
pid=$!
sleep 2
kill -9 "$pid"; wait "$pid" 2>/dev/null
before=$(requests)
: >"$T/mock.log"
nz-embed --cache "$T/cache2" --batch 2 --concurrency 2 <"$T/chunks.jsonl" >"$T/k2.jsonl" 2>"$T/k2.err"
rc=$?
after=$(requests)
[ $rc -eq 0 ] && same_as_hash "$T/k2.jsonl" && t_ok resume_after_sigkill_complete || t_fail resume_after_sigkill_complete "exit $rc"
total=$(( (N + 1) / 2 ))
check resume_resends_only_in_flight bash -c "[ $before -gt 0 ] && [ $after -lt $total ] && [ $((before + after)) -le $((total + 2)) ]"
# A torn record at the end of the cache is dropped, never trusted.
printf 'NZC1garbage' >>"$T/cache/vectors.log"
nz-embed --cache "$T/cache" <"$T/chunks.jsonl" >"$T/t.jsonl" 2>"$T/t.err"
check torn_cache_tail_dropped bash -c "grep -q 'torn record' '$T/t.err' && cmp -s '$T/t.jsonl' '$T/c1.jsonl'"

# The API key appears in no log line, error or stats output.
if grep -rq "$KEY" "$T"/*.err; then t_fail api_key_never_logged "found in $(grep -rl "$KEY" "$T"/*.err)"; else t_ok api_key_never_logged; fi

expect_exit no_api_key_is_usage_error 2 env -u OPENAI_API_KEY nz-embed --provider openai </dev/null
expect_exit batch_over_2048_is_usage_error 2 nz-embed --batch 4096 </dev/null

# The server embeds query text with the snapshot's own provider and model,
# through the mock, and answers a repeated query from its LRU cache.
# (EMBEDDING_PROVIDER=openai, exported above, matches the snapshot: another
# value would make nz-serve refuse it, tests/e2e/serve_embedder.sh.)
start_mock
nz-index build -o "$T/ix" <"$T/ok.jsonl" >/dev/null 2>&1
check openai_snapshot_manifest bash -c "nz-index info '$T/ix' | jq -s -e '.[0].manifest.embedding | .provider == \"openai\" and .model == \"text-embedding-3-small\"' >/dev/null"
: >"$T/mock.log"
start_server "$T/ix"
r=$(http POST /v1/query '{"query":"How many days does the Visa on Arrival allow, and can it be extended?","k":1}')
http_json_is server_query_via_provider '.results[0].uri | endswith("/en/visa-types.md")' "$r"
http POST /v1/query '{"query":"How many days does the Visa on Arrival allow, and can it be extended?","k":1}' >/dev/null
check server_query_embedding_cached bash -c "[ \$(requests) -eq 1 ]"
kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null; MOCK_PID=
r=$(http POST /v1/query '{"query":"a question the cache has not seen","k":1}')
[ "${r##*$'\n'}" = 503 ] && t_ok server_provider_down_503 || t_fail server_provider_down_503 "$r"
if grep -q "$KEY" "$T/serve.log" <<<"$r"; then t_fail server_never_shows_key "found"; else t_ok server_never_shows_key; fi
