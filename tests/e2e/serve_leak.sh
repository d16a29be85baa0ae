#!/usr/bin/env bash
# nz-serve answers bad queries without leaking: 10,000 requests of each kind
# that fails after query_parse has allocated something (the vector, the
# parsed JSON, a decode buffer), over two keep-alive connections with
# pipelined requests, while the server's VmRSS is sampled after a warm-up
# and at the end. Under ASan (NZ_SANITIZED=1) the allocator's quarantine
# grows whatever the code does, so fewer requests run, the RSS bound is
# skipped, and LeakSanitizer judges at the server's exit.
source "$(dirname "$0")/lib.sh"

N=10000 WARM=1000 BOUND_KIB=2048
[ "${NZ_SANITIZED:-0}" = 1 ] && N=300 WARM=100

build_fixture_index "$T/ix"
start_server "$T/ix" --threads 2
[ "$(http GET /health | tail -n1)" = 200 ] && t_ok server_up || t_fail server_up "$(tail -c 300 "$T/serve.log")"

/usr/bin/python3 - "$PORT" "$SERVER_PID" "$N" "$WARM" >"$T/leak.json" 2>"$T/leak.err" <<'PYEOF'
import base64, json, socket, struct, sys
port, pid, n, warm = (int(a) for a in sys.argv[1:5])
dim = 1536  # the fixture index's
vec = [round(((i * 37) % 101) / 101.0 - 0.5, 4) for i in range(dim)]
arr = json.dumps(vec[:512])  # 2 KiB a leak if leaking; parsing 1536 numbers would triple the time
b64 = base64.b64encode(struct.pack("<%df" % dim, *vec)).decode()
inf = base64.b64encode(struct.pack("<%df" % dim, *(vec[:-1] + [float("inf")]))).decode()
short = base64.b64encode(struct.pack("<%df" % (dim - 1), *vec[:-1])).decode()
kinds = {  # each refused after an allocation
    "exact_not_boolean_after_vector": '{"vector":%s,"exact":"yes"}' % arr,
    "bad_filter_after_vector": '{"vector":%s,"filter":{"lang":7}}' % arr,
    "ef_out_of_range_after_vector": '{"vector":%s,"ef":100000}' % arr,
    "bad_base64": '{"vector":"%s!!!!"}' % b64[:-4],
    "nonfinite_base64": '{"vector":"%s"}' % inf,
    "k_out_of_range_after_base64": '{"vector":"%s","k":100000}' % b64,
    "too_deep_after_base64": '{"vector":"%s","filter":{"lang":[[[[[[[[[[["x"]]]]]]]]]]]}}' % b64,
    "wrong_dimension_base64": '{"vector":"%s"}' % short,
}

class Conn:  # HTTP/1.1 keep-alive, 50 requests a write, answers read in order
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
    def more(self):
        d = self.s.recv(1 << 16)
        if not d:
            sys.exit("connection closed by the server")
        self.buf += d
    def batch(self, req, count):
        self.s.sendall(req * count)
        for _ in range(count):
            while b"\r\n\r\n" not in self.buf:
                self.more()
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            clen = [int(l.split(b":")[1]) for l in lines if l.lower().startswith(b"content-length:")][0]
            while len(self.buf) < clen:
                self.more()
            body, self.buf = self.buf[:clen], self.buf[clen:]
            if status != 400 or not isinstance(json.loads(body).get("error"), str):
                sys.exit("unexpected answer %d %r" % (status, body[:200]))

conns = [Conn(), Conn()]
def run(body, count):
    b = body.encode()
    req = b"POST /v1/query HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" \
          b"Content-Length: %d\r\n\r\n%s" % (len(b), b)
    for i in range(0, count, 50):
        conns[(i // 50) % 2].batch(req, min(50, count - i))
def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])

for body in kinds.values():
    run(body, warm // len(kinds))
before = rss_kib()
for body in kinds.values():
    run(body, n)
print(json.dumps({"kinds": len(kinds), "requests": n * len(kinds), "rss_before_kib": before,
                  "rss_after_kib": rss_kib()}))
PYEOF
if [ $? -eq 0 ]; then t_ok every_bad_request_400_json
else t_fail every_bad_request_400_json "$(tail -c 300 "$T/leak.err")"; fi

if [ "${NZ_SANITIZED:-0}" = 1 ]; then
    t_ok rss_bound_skipped_under_asan
else
    read -r before after total < <(jq -r '"\(.rss_before_kib) \(.rss_after_kib) \(.requests)"' "$T/leak.json")
    growth=$((${after:-0} - ${before:-0}))
    echo "serve_leak: VmRSS $before -> $after KiB over ${total:-0} bad requests" >&2
    if [ "${total:-0}" -ge 80000 ] && [ "$growth" -lt "$BOUND_KIB" ]; then t_ok rss_flat_after_warmup
    else t_fail rss_flat_after_warmup "VmRSS grew $growth KiB over ${total:-0} requests (bound $BOUND_KIB KiB)"; fi
fi

# SIGTERM: exit 0; under ASan, LeakSanitizer's verdict on everything above.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
[ "$rc" -eq 0 ] && t_ok clean_exit_no_leaks || t_fail clean_exit_no_leaks "exit $rc: $(tail -c 300 "$T/serve.log")"
