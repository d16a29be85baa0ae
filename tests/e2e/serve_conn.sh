#!/usr/bin/env bash
# nz-serve's connection bounds over real TCP on loopback: a half-open
# client freed by --idle-timeout, a client sending a byte a second freed by
# --request-timeout (the server answering others meanwhile, and closing the
# connection itself), --max-connections and --max-connections-per-ip, and
# SIGTERM with several requests in flight.
source "$(dirname "$0")/lib.sh"
build_fixture_index "$T/ix"

health_code() { curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health"; }
# health_code_when_200: /health's status, asked again (up to 5 s) until 200.
health_code_when_200() {
    local code
    for _ in $(seq 1 50); do
        code=$(health_code)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    echo "$code"
}
# closed_by_server FD: 0 when the server closes the connection (EOF) before
# the 15 s safety net; what is checked is that it closes, not how fast.
closed_by_server() { timeout 15 cat <&"$1" >/dev/null 2>&1; }

start_server "$T/ix" --idle-timeout 2 --request-timeout 4

# A half-open request: the start of a request line, then silence.
exec 3<>/dev/tcp/127.0.0.1/"$PORT"
printf 'GET /health HTTP/1.1\r\n' >&3
r=$(http GET /health)
check answers_others_while_half_open test "${r##*$'\n'}" = 200
check half_open_freed_by_idle_timeout closed_by_server 3
exec 3<&-

# A slow client: a header byte every second keeps the idle timer young, so
# only the request deadline frees it. python3 reports how it ended.
cat >"$T/slow.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
s.settimeout(0.05)
for i in range(25):
    try:
        if s.recv(1) == b"":
            print("closed by server after %d bytes" % i); sys.exit(0)
    except socket.timeout:
        pass
    except OSError:
        print("reset by server after %d bytes" % i); sys.exit(0)
    try:
        s.send(b"a")
    except OSError:
        print("reset by server after %d bytes" % i); sys.exit(0)
    time.sleep(0.95)
print("still open after 25 bytes"); sys.exit(1)
EOF
python3 "$T/slow.py" "$PORT" >"$T/slow.out" 2>&1 &
SLOW=$!
sleep 2
ok=1
for _ in 1 2 3; do [ "$(http GET /health | tail -n1)" = 200 ] || ok=0; done
[ $ok = 1 ] && t_ok answers_others_while_slow_client || t_fail answers_others_while_slow_client "not 200"
wait "$SLOW"
check slow_client_freed_by_request_timeout grep -q 'by server' "$T/slow.out"
check slow_client_cut_logged grep -q 'connection cut off' "$T/serve.log"
# The deadline counts from each answer: four requests 1.5 s apart on one
# kept-alive connection (4.5 s in all, past --request-timeout 4) all answered.
exec 3<>/dev/tcp/127.0.0.1/"$PORT"
for i in 1 2 3; do
    printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&3
    sleep 1.5
done
printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
check keepalive_deadline_counts_from_each_answer bash -c "[ \$(timeout 10 cat <&3 | grep -c '^HTTP/1.1 200') = 4 ]"
exec 3<&-
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

# --max-connections: two idle connections fill a one-thread server; the
# third is closed unanswered; once one leaves, requests are answered again.
start_server "$T/ix" --threads 1 --max-connections 2
exec 4<>/dev/tcp/127.0.0.1/"$PORT" 5<>/dev/tcp/127.0.0.1/"$PORT"
sleep 0.3
code=$(health_code)
check max_connections_refuses_third test "$code" = 000
exec 4<&-
code=$(health_code_when_200)
check max_connections_frees_slot test "$code" = 200
exec 5<&-
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

# --max-connections-per-ip: the same from one address, on a pool of threads.
start_server "$T/ix" --threads 2 --max-connections-per-ip 2
exec 4<>/dev/tcp/127.0.0.1/"$PORT" 5<>/dev/tcp/127.0.0.1/"$PORT"
sleep 0.3
code=$(health_code)
check max_per_ip_refuses_third test "$code" = 000
exec 4<&- 5<&-
code=$(health_code_when_200)
check max_per_ip_frees_slots test "$code" = 200
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

# SIGTERM with three requests in flight (headers sent, body not yet): each
# is answered 200, new connections are refused, and the exit is 0.
start_server "$T/ix" --drain-timeout 20
half_posts_open
sleep 0.5
kill -TERM "$SERVER_PID"
sleep 0.5
code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")
check sigterm_refuses_new_connections test "$code" = 000
half_posts_finish
check sigterm_answers_all_in_flight test "$HALF_ANSWERED" = 3
wait "$SERVER_PID"
rc=$?
check sigterm_exit_0 test "$rc" = 0
check sigterm_drained_logged grep -q 'draining 3 request' "$T/serve.log"
