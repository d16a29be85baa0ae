#!/usr/bin/env bash
# nz-serve's access log is written in per-thread batches (lib/log.h): no
# line may be lost or torn. Four keep-alive clients send /health and
# GET /v1/query requests (many batches' worth), three POSTs wait
# half-sent, and SIGTERM comes while all of it is in flight. After the
# exit: one complete JSON line for every answer a client got (counted by
# route and status on both sides), one for each half-sent POST, all lines
# parse, and a batch's lines reached the log while the server was idle
# (the sweeper's flush), not only at the exit.
source "$(dirname "$0")/lib.sh"
build_fixture_index "$T/ix"
start_server "$T/ix" --drain-timeout 20
for _ in $(seq 1 100); do
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")" = 200 ] && break
    sleep 0.1
done
health200() { grep '"msg":"request"' "$T/serve.log" | grep -c '"route":"health","status":200'; }

# Idle: a few requests, then no traffic: the timer writes them (<= 1 s).
for _ in 1 2 3; do curl -s -m 5 -o /dev/null "http://127.0.0.1:$PORT/health"; done
n=0
for _ in $(seq 1 30); do # up to 3 s, well past the 250 ms tick
    n=$(health200)
    [ "$n" -ge 4 ] && break
    sleep 0.1
done
check idle_lines_flushed_by_timer test "$n" -ge 4

# Three POSTs in flight: headers sent, body not yet.
half_posts_open

# Four keep-alive clients, each asking 400 times in one curl (one
# connection), each answer's route and status on its own line.
client() { # n path
    local urls=() i
    for ((i = 0; i < 400; i++)); do urls+=("http://127.0.0.1:$PORT$2"); done
    curl -s -m 60 -o /dev/null -w '%{http_code}\n' "${urls[@]}" >"$T/client$1" 2>/dev/null
}
client 1 /health &
c1=$!
client 2 /health &
c2=$!
client 3 '/v1/query?q=pajak&k=1' &
c3=$!
client 4 /health &
c4=$!
for _ in $(seq 1 100); do # until the clients are well under way
    [ "$(cat "$T"/client* 2>/dev/null | grep -c 200)" -ge 200 ] && break
    sleep 0.05
done
kill -TERM "$SERVER_PID"
sleep 0.3
half_posts_finish
check in_flight_posts_answered test "$HALF_ANSWERED" = 3
wait "$c1" "$c2" "$c3" "$c4"
wait "$SERVER_PID"
rc=$?
check sigterm_exit_0 test "$rc" = 0

# What the clients got, against what the log says. curl writes 000 for a
# request the server closed unanswered after the drain: not an answer.
got() { cat "$T"/client"$1" 2>/dev/null | grep -c "^$2\$"; }
health_ok=$(($(got 1 200) + $(got 2 200) + $(got 4 200)))
query_ok=$(got 3 200)
logged() { grep '"msg":"request"' "$T/serve.log" | jq -s "$1"; }
check clients_got_answers_before_and_after_sigterm test $((health_ok + query_ok)) -ge 200
check every_line_parses bash -c "grep '\"msg\":\"request\"' '$T/serve.log' | jq -e -s 'length > 0' >/dev/null"
check no_torn_line bash -c "! grep -v '^{.*}\$' '$T/serve.log'"
lh=$(logged 'map(select(.route == "health" and .status == 200 and .method == "GET")) | length')
lq=$(logged 'map(select(.route == "query" and .status == 200 and .method == "GET")) | length')
lp=$(logged 'map(select(.route == "query" and .status == 200 and .method == "POST")) | length')
# health: the clients' answers, the readiness probe's and the 3 idle ones.
# A line more than the client saw is allowed once a connection: a request
# answered just as the drain ended and the server closed its connection.
check health_lines_all_there test "$lh" -ge $((health_ok + 4))
check health_lines_none_extra test "$lh" -le $((health_ok + 4 + 3))
check query_lines_all_there test "$lq" -ge "$query_ok"
check query_lines_none_extra test "$lq" -le $((query_ok + 1))
check in_flight_post_lines test "$lp" = 3
