#!/usr/bin/env bash
# nz-serve's HTTP surface over real HTTP on loopback: the security headers
# on every status, CORS on and off (preflight included), GET /v1/query,
# each request bound as an option, the access log, a refused snapshot on
# /health, and a second server on a busy port.
source "$(dirname "$0")/lib.sh"

# headers_on NAME WANT-STATUS CURL-ARGS...: the status, and every security
# header and Cache-Control on it.
headers_on() {
    local name=$1 want=$2; shift 2
    local h; h=$(curl -s -i -m 10 -o /dev/null -D - "$@" | tr -d '\r')
    local code; code=$(head -n1 <<<"$h" | cut -d' ' -f2)
    local miss=""
    for need in 'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' 'Referrer-Policy: no-referrer' \
        "Content-Security-Policy: default-src 'none'" 'Cache-Control: no-store'; do
        grep -qix "$need" <<<"$h" || miss="$miss [$need]"
    done
    if [ "$code" = "$want" ] && [ -z "$miss" ]; then t_ok "$name"; else t_fail "$name" "status $code, missing$miss"; fi
}
U() { echo "http://127.0.0.1:$PORT$1"; }

# No index: 503, still with every header; CORS is off, so no CORS header at all.
start_server "$T/none"
headers_on headers_on_503_health 503 "$(U /health)"
headers_on headers_on_503_query 503 -X POST -d '{"query":"visa"}' "$(U /v1/query)"
h=$(curl -s -i -m 5 -H 'Origin: https://app.example' "$(U /health)")
if grep -qi '^Access-Control-\|^Vary:' <<<"$h"; then t_fail cors_off_by_default "$h"; else t_ok cors_off_by_default; fi
h=$(curl -s -i -m 5 -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' "$(U /v1/query)")
if grep -q '^HTTP/1.1 204' <<<"$h" && grep -qi '^Allow: GET, HEAD, POST, OPTIONS' <<<"$h" &&
    ! grep -qi '^Access-Control-' <<<"$h"; then t_ok preflight_with_cors_off_is_204_allow_only
else t_fail preflight_with_cors_off_is_204_allow_only "$h"; fi
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

build_fixture_index "$T/ix"
start_server "$T/ix" --cors-origin https://app.example --cors-origin http://localhost:3000 \
    --max-body 4096 --max-k 20 --max-ef 200 --max-depth 4 --exact-max-rows 10 --log-queries
FIRST_PID=$SERVER_PID

headers_on headers_on_200 200 "$(U /health)"
headers_on headers_on_200_query 200 -X POST -d '{"query":"visa"}' "$(U /v1/query)"
headers_on headers_on_200_metrics 200 "$(U /metrics)"
headers_on headers_on_204 204 -X OPTIONS "$(U /health)"
headers_on headers_on_400 400 -X POST -d '{"query":' "$(U /v1/query)"
headers_on headers_on_404 404 "$(U /nothing)"
headers_on headers_on_405 405 -X POST -d '{}' "$(U /health)"
headers_on headers_on_413 413 -X POST --data-binary @<(head -c 5000 /dev/zero | tr '\0' ' ') "$(U /v1/query)"

# CORS: a named origin gets itself back and Vary; an unknown one nothing.
h=$(curl -s -i -m 5 -H 'Origin: https://app.example' "$(U /health)" | tr -d '\r')
check cors_allowed_origin bash -c "grep -qx 'Access-Control-Allow-Origin: https://app.example' <<<\"\$0\" &&
    grep -qx 'Vary: Origin' <<<\"\$0\"" "$h"
h=$(curl -s -i -m 5 -X POST -H 'Origin: http://localhost:3000' -d '{"query":"visa"}' "$(U /v1/query)" | tr -d '\r')
check cors_second_origin_on_query grep -qx 'Access-Control-Allow-Origin: http://localhost:3000' <<<"$h"
h=$(curl -s -i -m 5 -H 'Origin: https://evil.example' "$(U /v1/query?q=visa)")
if grep -qi '^Access-Control-\|^Vary:' <<<"$h"; then t_fail cors_unknown_origin_gets_nothing "$h"
else t_ok cors_unknown_origin_gets_nothing; fi
h=$(curl -s -i -m 5 -H 'Origin: https://app.example' "$(U /nothing)")
check cors_error_answers_carry_headers_too grep -q '^HTTP/1.1 404' <<<"$h"
h=$(curl -s -i -m 5 -X OPTIONS -H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type' "$(U /v1/query)" | tr -d '\r')
check cors_preflight_allowed bash -c "grep -q '^HTTP/1.1 204' <<<\"\$0\" &&
    grep -qx 'Access-Control-Allow-Origin: https://app.example' <<<\"\$0\" &&
    grep -qx 'Access-Control-Allow-Methods: GET, POST, OPTIONS' <<<\"\$0\" &&
    grep -qx 'Access-Control-Allow-Headers: Content-Type' <<<\"\$0\" &&
    grep -qx 'Access-Control-Max-Age: 600' <<<\"\$0\" && grep -qx 'Allow: GET, HEAD, POST, OPTIONS' <<<\"\$0\"" "$h"
h=$(curl -s -i -m 5 -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST' "$(U /v1/query)")
if grep -q '^HTTP/1.1 204' <<<"$h" && ! grep -qi '^Access-Control-' <<<"$h"; then t_ok cors_preflight_unknown_origin
else t_fail cors_preflight_unknown_origin "$h"; fi
expect_exit cors_origin_with_path_is_usage 2 nz-serve --cors-origin https://app.example/path
expect_exit cors_origin_without_scheme_is_usage 2 nz-serve --cors-origin app.example

# GET /v1/query: the POST request from URL parameters, decoded by libmicrohttpd.
r=$(http GET '/v1/query?q=Visa%20on%20Arrival&k=3')
# visa-types.md in the top 2: BM25 (which hybrid's default weight follows) ranks the
# Indonesian jenis-visa.md, which names "Visa on Arrival" too, first
check get_query_200 jq -e '(.results|length) == 3 and any(.results[:2][]; .uri|endswith("/en/visa-types.md"))' <<<"${r%$'\n'*}"
r=$(http GET '/v1/query?q=Berapa+lama+izin+tinggal+dengan+visa+kunjungan%3F&k=2&ef=50')
check get_query_plus_and_utf8 jq -e '(.results|length) == 2' <<<"${r%$'\n'*}"
status_is get_query_no_q_400 400 GET '/v1/query?k=3'
status_is get_query_empty_q_400 400 GET '/v1/query?q=&k=3'
status_is get_query_k_not_integer_400 400 GET '/v1/query?q=visa&k=3x'
status_is get_query_k_over_bound_400 400 GET '/v1/query?q=visa&k=21'
status_is get_query_ef_over_bound_400 400 GET '/v1/query?q=visa&ef=201'
status_is get_query_unknown_param_400 400 GET '/v1/query?q=visa&limit=3'
status_is get_query_repeated_param_400 400 GET '/v1/query?q=visa&q=pajak'
status_is get_query_bad_mode_400 400 GET '/v1/query?q=visa&mode=bogus'
status_is get_query_bad_utf8_400 400 GET '/v1/query?q=%ff%fe'
status_is get_query_too_many_params_400 400 GET "/v1/query?q=visa$(printf '&a%d=1' $(seq 1 20))"

# Every bound of a POST, each a JSON error.
status_is post_k_over_max_k_400 400 POST /v1/query '{"query":"visa","k":21}'
status_is post_ef_over_max_ef_400 400 POST /v1/query '{"query":"visa","ef":201}'
status_is post_depth_over_max_400 400 POST /v1/query '{"query":"visa","filter":{"lang":[[[["x"]]]]}}'
status_is post_exact_over_rows_400 400 POST /v1/query '{"query":"visa","exact":true}'
status_is post_wrong_dim_400 400 POST /v1/query '{"vector":[1,2,3]}'
status_is post_duplicate_key_400 400 POST /v1/query '{"query":"visa","query":"pajak"}'
status_is post_empty_400 400 POST /v1/query ''
status_is post_not_object_400 400 POST /v1/query '[1]'
r=$(curl -s -m 10 -X POST --data-binary @<(head -c 5000 /dev/zero | tr '\0' ' ') -w '\n%{http_code}' "$(U /v1/query)")
check post_over_max_body_413 bash -c "[ '${r##*$'\n'}' = 413 ] && jq -e '.error|test(\"4096\")' <<<'${r%$'\n'*}'"
r=$(head -c 5000 /dev/zero | tr '\0' ' ' | curl -s -m 10 -X POST -H 'Transfer-Encoding: chunked' --data-binary @- \
    -w '\n%{http_code}' "$(U /v1/query)")
check post_chunked_over_max_body_413 test "${r##*$'\n'}" = 413
r=$(http POST /v1/query '{"query":"visa","k":20}')
check post_k_at_max_k_200 jq -e '.results|length > 0' <<<"${r%$'\n'*}"

# The access log: one JSON line per request, no header value ever; the
# query text because of --log-queries.
curl -s -m 5 -o /dev/null -H 'Authorization: Bearer tok-SECRET-1' -H 'X-Api-Key: SECRET-2' \
    -H 'Cookie: s=SECRET-3' "$(U '/v1/query?q=pajak+penghasilan&k=2')"
# log_wait PATTERN [N]: until N lines (default 1) of the access log match
# (up to 5 s: its lines go out in batches, at the latest on a 250 ms tick)
log_wait() {
    for _ in $(seq 1 50); do
        [ "$(grep '"msg":"request"' "$T/serve.log" | grep -c -- "$1")" -ge "${2:-1}" ] && return
        sleep 0.1
    done
}
log_wait '"query":"pajak penghasilan"'
line=$(grep '"msg":"request"' "$T/serve.log" | grep '"query":"pajak penghasilan"' | tail -n1)
check access_log_query_line jq -e '.method == "GET" and .route == "query" and .status == 200 and
    (.latency_ms|type) == "number" and .results == 2 and (.snapshot|startswith("snap-"))' <<<"$line"
reqs() { grep '"msg":"request"' "$T/serve.log" | jq -s -e "$1" >/dev/null; }
check access_log_error_line reqs 'any(.[]; .status == 413 and .route == "query" and .method == "POST")'
check access_log_health_line reqs 'any(.[]; .route == "health" and .status == 200 and .method == "GET")'
check access_log_one_line_per_request reqs 'length > 40 and all(.[]; has("method") and has("route") and has("status") and has("latency_ms"))' 
n0=$(grep -c '"msg":"request"' "$T/serve.log")
for _ in 1 2 3 4 5; do http GET /nothing >/dev/null; done
log_wait . $((n0 + 5))
sleep 0.3 # and none more
check access_log_exactly_one_line_each test "$(grep -c '"msg":"request"' "$T/serve.log")" = $((n0 + 5))
if grep -q SECRET "$T/serve.log"; then t_fail access_log_no_header_values "a header value was logged"
else t_ok access_log_no_header_values; fi

# /health names a refused snapshot while the old one keeps serving.
good=$(readlink "$T/ix/current")
bad=$(publish_corrupt "$T/ix")
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do
    http GET /health | head -n1 | jq -e .refused >/dev/null 2>&1 && break
    sleep 0.1
done
r=$(http GET /health)
check health_reports_refused jq -e --arg b "$bad" --arg g "$good" '.status == "ok" and .index.snapshot == $g and
    .refused.snapshot == $b and (.refused.reason|type) == "string" and (.refused.reason|length) > 0' <<<"${r%$'\n'*}"
check health_still_200_when_refused test "${r##*$'\n'}" = 200
ln -sfn "$good" "$T/ix/current.new" && mv -T "$T/ix/current.new" "$T/ix/current"

# A second server on the busy port: exit 1, naming the port.
nz-serve --index-path "$T/ix" --port "$PORT" >"$T/second.out" 2>"$T/second.err"
rc=$?
check busy_port_exit_1 test "$rc" = 1
check busy_port_message grep -q "port $PORT is already in use" "$T/second.err"
r=$(http GET /health)
check first_server_still_serving test "${r##*$'\n'}" = 200

# Without --log-queries the text stays out; --allow-exact lifts the row bound.
kill -TERM "$FIRST_PID"; wait "$FIRST_PID"
: >"$T/serve.log"
start_server "$T/ix" --exact-max-rows 10 --allow-exact
r=$(http POST /v1/query '{"query":"izin tinggal terbatas","exact":true,"k":2}')
check allow_exact_200 jq -e '.results|length == 2' <<<"${r%$'\n'*}"
log_wait '"route":"query"'
check access_log_without_log_queries bash -c "grep -q '\"route\":\"query\"' '$T/serve.log' && ! grep -q 'izin tinggal' '$T/serve.log'"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
: >"$T/serve.log"
: >"$T/serve.log"
start_server "$T/ix" --no-access-log
http GET /health >/dev/null
sleep 0.6 # past two ticks of the log's flush
if grep -q '"msg":"request"' "$T/serve.log"; then t_fail no_access_log "logged"
else t_ok no_access_log; fi

expect_exit max_body_too_small_is_usage 2 nz-serve --max-body 10
expect_exit max_connections_below_threads_is_usage 2 nz-serve --threads 4 --max-connections 2
expect_exit idle_timeout_zero_is_usage 2 nz-serve --idle-timeout 0
