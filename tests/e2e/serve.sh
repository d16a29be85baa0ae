#!/usr/bin/env bash
# nz-serve over real HTTP on loopback: the API contract, errors, hot swap,
# refusing a corrupt snapshot, secrets, and draining on SIGTERM.
source "$(dirname "$0")/lib.sh"

# No index yet: degraded, 503, and the server still answers.
start_server "$T/ix"
r=$(http GET /health)
[ "${r##*$'\n'}" = 503 ] && t_ok health_503_without_index || t_fail health_503_without_index "$r"
check health_degraded_shape jq1 '.status == "degraded" and .services.index == "missing"' <<<"${r%$'\n'*}"
r=$(http POST /v1/query '{"query":"visa"}')
[ "${r##*$'\n'}" = 503 ] && t_ok query_503_without_index || t_fail query_503_without_index "$r"

# Publish: the server picks the snapshot up without a restart.
build_fixture_index "$T/ix"
for _ in $(seq 1 50); do
    [ "$(http GET /health | tail -n1)" = 200 ] && break
    sleep 0.1
done
r=$(http GET /health)
[ "${r##*$'\n'}" = 200 ] && t_ok health_200_after_publish || t_fail health_200_after_publish "$r"
check health_shape jq1 '.status == "ok" and (.version|type) == "string" and .services.index == "loaded" and
    .services.database == "not_configured" and (.index.snapshot|startswith("snap-")) and .index.count > 40 and
    .index.dim == 1536 and .index.model == "nz-hash-v1"' <<<"${r%$'\n'*}"

r=$(http POST /v1/query '{"query":"How many days does the Visa on Arrival allow, and can it be extended?","k":3}')
body=${r%$'\n'*}
[ "${r##*$'\n'}" = 200 ] && t_ok query_text_200 || t_fail query_text_200 "$r"
check query_result_shape jq1 '(.results|length) == 3 and (.took_ms|type) == "number" and
    all(.results[]; has("chunk_id") and has("doc_id") and has("uri") and has("title") and has("heading") and
    has("page") and has("text") and (.score|type) == "number") and
    (.results[0].uri|endswith("/en/visa-types.md")) and .results[0].score >= .results[1].score' <<<"$body"
r=$(http POST /v1/query '{"query":"Berapa lama izin tinggal dengan visa kunjungan saat kedatangan?","k":3}')
check query_indonesian jq1 '.results[0].uri|test("/id/(jenis-visa|visa-kunjungan-bisnis)")' <<<"${r%$'\n'*}"
r=$(http POST /v1/query '{"query":"visa","k":50,"filter":{"lang":"id"}}')
check filter_lang jq1 '(.results|length) > 0 and all(.results[]; .lang == "id")' <<<"${r%$'\n'*}"
docid=$(jq -r '.results[0].doc_id' <<<"${r%$'\n'*}")
r=$(http POST /v1/query "{\"query\":\"visa\",\"k\":50,\"filter\":{\"doc_id\":\"$docid\"}}")
check filter_doc_id jq1 --arg d "$docid" '(.results|length) > 0 and all(.results[]; .doc_id == $d)' <<<"${r%$'\n'*}"
r=$(http POST /v1/query '{"query":"visa","k":50,"filter":{"uri_prefix":"file:///nowhere/"}}')
check filter_uri_prefix_no_match jq1 '.results == []' <<<"${r%$'\n'*}"
vec=$(jq -c '[range(1536)] | map(if . == 7 then 1 else 0 end)' <<<null)
r=$(http POST /v1/query "{\"vector\":$vec,\"k\":2}")
check query_vector jq1 '.results|length == 2' <<<"${r%$'\n'*}"

# Errors: JSON bodies with the right status.
status_is bad_json_400 400 POST /v1/query '{"query":'
status_is empty_body_400 400 POST /v1/query ''
status_is both_query_and_vector_400 400 POST /v1/query '{"query":"a","vector":[1]}'
status_is wrong_dimension_400 400 POST /v1/query '{"vector":[1,2,3]}'
status_is k_out_of_range_400 400 POST /v1/query '{"query":"visa","k":0}'
status_is unknown_field_400 400 POST /v1/query '{"query":"visa","filtre":{}}'
status_is no_words_400 400 POST /v1/query '{"query":"?!"}'
status_is not_found_404 404 GET /v2/nothing
status_is get_query_without_q_400 400 GET /v1/query
status_is put_on_query_405 405 PUT /v1/query '{}'
status_is post_on_health_405 405 POST /health '{}'
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
r=$(curl -s -m 10 -X POST --data-binary @"$T/big.json" -w '\n%{http_code}' "http://127.0.0.1:$PORT/v1/query")
[ "${r##*$'\n'}" = 413 ] && t_ok body_too_large_413 || t_fail body_too_large_413 "${r##*$'\n'}"
check allow_header bash -c "curl -s -i -m 5 -X DELETE http://127.0.0.1:$PORT/v1/query | grep -qi '^Allow: GET, HEAD, POST, OPTIONS'"

r=$(http GET /performance)
check performance_shape jq1 '.requests > 10 and .routes.query.total > 5 and .query_latency_ms.p99 >= .query_latency_ms.p50
    and .uptime_seconds > 0 and .memory.rss_bytes > 0 and (.index.age_seconds|type) == "number" and (.qps|type) == "number"' <<<"${r%$'\n'*}"
r=$(http GET /metrics)
check metrics_prometheus bash -c "grep -q '^nz_requests_total{route=\"query\",code=\"2xx\"} [0-9]' <<<'${r%$'\n'*}' &&
    grep -q '^nz_request_duration_seconds_bucket{route=\"query\",le=\"+Inf\"}' <<<'${r%$'\n'*}'"

# Hot swap: a new build is served without restart; a corrupt one is refused.
old=$(http GET /health | head -n1 | jq -r .index.snapshot)
build_fixture_index "$T/ix"
new=$(readlink "$T/ix/current")
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do
    [ "$(http GET /health | head -n1 | jq -r .index.snapshot)" = "$new" ] && break
    sleep 0.1
done
[ "$(http GET /health | head -n1 | jq -r .index.snapshot)" = "$new" ] && t_ok hot_swap_on_new_current ||
    t_fail hot_swap_on_new_current "still $old"
# Corrupt a fresh snapshot before it goes live: build elsewhere, flip a byte, then point current at it.
bad=$(publish_corrupt "$T/ix")
kill -HUP "$SERVER_PID"
sleep 1.5
[ "$(http GET /health | head -n1 | jq -r .index.snapshot)" = "$new" ] && t_ok corrupt_snapshot_refused ||
    t_fail corrupt_snapshot_refused "now serving $(http GET /health | head -n1)"
check corrupt_snapshot_logged grep -q "refusing snapshot $bad" "$T/serve.log"
r=$(http POST /v1/query '{"query":"NPWP"}')
[ "${r##*$'\n'}" = 200 ] && t_ok still_serving_after_refusal || t_fail still_serving_after_refusal "$r"
ln -sfn "$new" "$T/ix/current.new" && mv -T "$T/ix/current.new" "$T/ix/current"

# SIGTERM with a request in flight: the request completes, the server exits 0.
exec 3<>/dev/tcp/127.0.0.1/"$PORT"
printf 'POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{"query":"NPWP",' >&3
sleep 0.3
kill -TERM "$SERVER_PID"
sleep 0.3
printf '"k":2}     ' | head -c 11 >&3
resp=$(timeout 10 cat <&3)
exec 3<&-
case "$resp" in
    "HTTP/1.1 200"*) t_ok sigterm_finishes_request_in_flight ;;
    *) t_fail sigterm_finishes_request_in_flight "got: ${resp:0:200}" ;;
esac
wait "$SERVER_PID"
rc=$?
[ $rc -eq 0 ] && t_ok sigterm_exit_0 || t_fail sigterm_exit_0 "exit $rc"
check new_connections_refused_after_stop bash -c "! curl -s -m 2 http://127.0.0.1:$PORT/health"

# Secrets never appear in responses or logs.
: >"$T/serve.log"
DATABASE_URL='postgresql://nz:hunter2-SECRET@127.0.0.1:1/nz' OPENAI_API_KEY='sk-SECRET-key' start_server "$T/ix"
r=$(http GET /health)
check database_unreachable_reported jq1 '.services.database == "unreachable"' <<<"${r%$'\n'*}"
all="$r$(http GET /performance)$(http GET /metrics)$(http POST /v1/query '{"query":"x y"}')"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
if grep -q SECRET <<<"$all" || grep -q SECRET "$T/serve.log"; then t_fail secrets_never_shown "found"; else t_ok secrets_never_shown; fi

expect_exit bad_port_is_usage_error 2 nz-serve --port 70000
expect_exit bad_flag_is_usage_error 2 nz-serve --frobnicate
