# lib.sh -- helpers for the end-to-end tests (sourced).
#
# t_ok NAME / t_fail NAME WHY print the lines tests/run.sh counts.
# check NAME COMMAND... runs a command and reports by its exit status.
# Every test runs in its own scratch directory $T, removed at exit, and
# any nz-serve it started is stopped.
set -u
NZ_BIN=${NZ_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
NZ_ROOT=${NZ_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PATH="$NZ_BIN:$PATH"
export NZ_LOG_FORMAT=json
T=$(mktemp -d "${TMPDIR:-/tmp}/nz-e2e.XXXXXX")
SUITE=$(basename "$0" .sh)
SERVER_PIDS=()
PG_DIR=
cleanup() {
    local p
    for p in "${SERVER_PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    [ -n "$PG_DIR" ] && pg_stop immediate && rm -rf "$PG_DIR"
    rm -rf "$T"
}
trap cleanup EXIT

t_ok() { echo "ok - $SUITE/$1"; }
t_fail() { echo "not ok - $SUITE/$1: $2"; }
check() { # name command...
    local name=$1; shift
    if "$@" >"$T/check.out" 2>"$T/check.err"; then t_ok "$name"; else
        t_fail "$name" "command failed: $* :: $(tail -c 300 "$T/check.err" | tr '\n' ' ')"
    fi
}
expect_exit() { # name code command...  (and never a crash)
    local name=$1 want=$2; shift 2
    "$@" >"$T/exp.out" 2>"$T/exp.err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then t_ok "$name"; else
        t_fail "$name" "exit $rc, wanted $want :: $(tail -c 300 "$T/exp.err" | tr '\n' ' ')"
    fi
}

# jqsel FILE URI-SUFFIX FILTER: exactly one record's uri ends with the
# suffix, and FILTER holds for it.
jqsel() {
    jq -s -e --arg s "$2" "map(select(.uri|endswith(\$s))) | length == 1 and (.[0] | $3)" "$1"
}

# The fixtures' index, built once per suite that needs it.
build_fixture_index() { # root
    nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null |
        nz-index build -o "$1" >/dev/null 2>"$T/build.err"
}

# Start nz-serve on a free port; sets PORT and SERVER_PID.
start_server() { # index_path [extra args...]
    local ix=$1; shift
    rm -f "$T/port"
    nz-serve --index-path "$ix" --port 0 --port-file "$T/port" "$@" 2>>"$T/serve.log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 1 100); do
        [ -s "$T/port" ] && break
        sleep 0.05
    done
    PORT=$(cat "$T/port" 2>/dev/null || echo 0)
}

# curl that prints "BODY\nSTATUS"
http() { # method path [body]
    if [ $# -ge 3 ]; then
        curl -s -m 10 -X "$1" -H 'Content-Type: application/json' --data-binary "$3" \
            -w '\n%{http_code}' "http://127.0.0.1:$PORT$2"
    else
        curl -s -m 10 -X "$1" -w '\n%{http_code}' "http://127.0.0.1:$PORT$2"
    fi
}

# status_is NAME WANT METHOD PATH [BODY]: the server answers WANT with a
# JSON {"error":...} body (an nz-serve error answer).
status_is() {
    local name=$1 want=$2; shift 2
    local r; r=$(http "$@")
    local code=${r##*$'\n'} body=${r%$'\n'*}
    if [ "$code" = "$want" ] && jq -e '.error|type == "string"' <<<"$body" >/dev/null 2>&1; then t_ok "$name"
    else t_fail "$name" "got $code: $body"; fi
}

# http_json_is NAME FILTER RESPONSE: RESPONSE (http's "BODY\nSTATUS") is a
# 200 whose body is one JSON value for which the jq FILTER is true. Not
# `jq -e FILTER <<<"$body"`: on an empty body jq reads no value and exits
# 0, so a failed request would read as a pass.
# jq1 [JQ OPTIONS...] FILTER: jq -e on exactly one JSON value from stdin; an
# empty or many-valued input fails (plain `jq -e` reads no value and exits 0).
jq1() {
    local f=${!#}
    jq -s -e "${@:1:$#-1}" "length == 1 and (.[0] | $f)"
}

http_json_is() {
    local name=$1 filter=$2 r=$3
    local code=${r##*$'\n'} body=${r%$'\n'*} out
    if [ "$code" != 200 ]; then
        t_fail "$name" "HTTP ${code:-none}, wanted 200: ${body:0:300}"
    elif out=$(jq -s -e "length == 1 and (.[0] | $filter)" <<<"$body" 2>&1); then
        t_ok "$name"
    else
        t_fail "$name" "not true ($out): $filter on ${body:-an empty body}"
    fi
}

# publish_corrupt ROOT: build a fresh snapshot elsewhere, flip a byte of its
# vectors, and point ROOT/current at it; prints its name.
publish_corrupt() {
    build_fixture_index "$T/corrupt-src"
    local bad; bad=$(readlink "$T/corrupt-src/current")
    cp -r "$T/corrupt-src/$bad" "$1/$bad"
    printf '\x55' | dd of="$1/$bad/vectors.bin" bs=1 seek=5000 conv=notrunc status=none
    ln -sfn "$bad" "$1/current.new" && mv -T "$1/current.new" "$1/current"
    echo "$bad"
}

# A free TCP port on loopback (nothing answers there now), below the
# kernel's ephemeral range: a port inside it can be taken by any outgoing
# connection (a client of another test) between this check and the bind,
# which once failed PostgreSQL's start with "could not create listen socket".
free_port() {
    local p lo=32768 span
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    span=$((lo - 10000))
    [ "$span" -ge 1000 ] || { lo=60000 span=40000; } # an odd range: the old choice
    for _ in $(seq 1 50); do
        p=$((lo - 1 - (RANDOM * 32768 + RANDOM) % span))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# A scratch PostgreSQL 15 on a free loopback port, fsync off, stopped and
# removed at exit. PostgreSQL refuses to run as root, so as root it runs as
# the postgres user. Sets PG_URL: role nz with password $PG_PASS over TCP
# (scram-sha-256), database nz. Returns non-zero (log in $PG_DIR/log) if
# the server cannot start.
PG_BIN=/usr/lib/postgresql/15/bin
PG_PASS="nz-test-S3cret-$RANDOM$RANDOM"
pg_as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_start() {
    [ -x "$PG_BIN/initdb" ] || { echo "no $PG_BIN/initdb" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/nz-pg.XXXXXX) && chmod 755 "$PG_DIR" || return 1
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
    pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 || return 1
    local try
    for try in 1 2 3; do # another port when this one was taken before the bind
        PG_PORT=$(free_port) || return 1
        pg_up && break
        grep -q 'could not create' "$PG_DIR/log" 2>/dev/null && [ "$try" -lt 3 ] || return 1
    done
    pg_as "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE ROLE nz LOGIN PASSWORD '$PG_PASS'" -c "CREATE DATABASE nz OWNER nz" \
        >>"$PG_DIR/log" 2>&1 || return 1
    PG_URL="postgresql://nz:$PG_PASS@127.0.0.1:$PG_PORT/nz"
}
pg_up() { # start the initialised server again
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null 2>&1
}
pg_stop() { # [mode]: stop the server (fast by default)
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w stop >/dev/null 2>&1
    return 0
}

# The OpenAI-compatible mock on a free port, answering key $KEY, logging a
# line a request in $T/mock.log; OPENAI_BASE_URL points at it. Args go to
# nz-mockembed (--latency, faults...). A second call restarts it.
start_mock() {
    [ -n "${MOCK_PID:-}" ] && { kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; }
    rm -f "$T/mock.port"
    : >"$T/mock.log"
    nz-mockembed --port 0 --port-file "$T/mock.port" --log "$T/mock.log" --api-key "$KEY" "$@" 2>/dev/null &
    MOCK_PID=$!
    SERVER_PIDS+=("$MOCK_PID")
    for _ in $(seq 1 100); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
    export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$T/mock.port")"
}
requests() { grep -c . "$T/mock.log"; }

# snapshot_dump SNAPSHOT_DIR: a line a row, "doc_id chunk_id sha256(vector)
# sha256(record)", read straight from vectors.bin and chunks.bin (the
# layout of index/format.h), not through nz-index.
snapshot_dump() {
    /usr/bin/python3 - "$1" <<'PYEOF'
import hashlib, struct, sys
d = sys.argv[1]
def header(b):
    magic, ver, hsz, count, dim, flags, doff, dlen, toff, fsz = struct.unpack("<8sIIQIIQQQQ", b[:64])
    return count, dim, doff, toff
vb = open(d + "/vectors.bin", "rb").read()
cb = open(d + "/chunks.bin", "rb").read()
count, dim, voff, _ = header(vb)
ccount, _, boff, toff = header(cb)
assert count == ccount
offs = struct.unpack("<%dQ" % (count + 1), cb[toff:toff + 8 * (count + 1)])
for r in range(count):
    rec = cb[boff + offs[r]:boff + offs[r + 1]]
    p, f = 4, []
    for _ in range(2):
        (n,) = struct.unpack("<I", rec[p:p + 4])
        f.append(rec[p + 4:p + 4 + n].decode())
        p += 4 + n
    vec = vb[voff + r * dim * 4:voff + (r + 1) * dim * 4]
    print(f[1], f[0], hashlib.sha256(vec).hexdigest(), hashlib.sha256(rec).hexdigest())
PYEOF
}

# s3rver (npm, cached under the build folder) on a free loopback port with
# bucket $1 (default bk), storing under $T/s3; sets AWS_* for it. s3rver
# does not check signatures: tests/e2e/store_s3.sh proves ours with botocore.
start_s3() {
    local npm="$NZ_ROOT/${NZ_BUILD:-build}/npm"
    if [ ! -d "$npm/node_modules/s3rver" ]; then
        mkdir -p "$npm"
        (cd "$npm" && npm install --silent --no-audit --no-fund s3rver@3.7.1) >"$T/npm.log" 2>&1 ||
            return 1
    fi
    S3PORT=$(free_port) || return 1
    node "$npm/node_modules/s3rver/bin/s3rver.js" -d "$T/s3" -a 127.0.0.1 -p "$S3PORT" \
        --configure-bucket "${1:-bk}" >"$T/s3rver.log" 2>&1 &
    SERVER_PIDS+=("$!")
    for _ in $(seq 1 200); do
        grep -q listening "$T/s3rver.log" && break
        sleep 0.05
    done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$S3PORT" AWS_REGION=eu-test-1
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY="nz-S3-secret-$RANDOM$RANDOM"
    grep -q listening "$T/s3rver.log"
}

# The distributed tests' world (scale_*.sh): PostgreSQL, s3rver with bucket
# bk, and the mock (args: its options) as the openai provider. Reports and
# returns non-zero when one cannot start. pg_q SQL: one query as postgres
# on database nz, unaligned.
dist_start() {
    KEY="sk-test-NUZANTARA-SECRET-0123456789"
    export OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai
    if ! pg_start; then
        t_fail pg_start "cannot start PostgreSQL: $(tail -c 300 "$PG_DIR/log" 2>/dev/null)"
        return 1
    fi
    if ! start_s3 bk; then
        t_fail s3rver_started "$(tail -c 300 "$T/npm.log" "$T/s3rver.log" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    start_mock "$@"
}
pg_q() { pg_as "$PG_BIN/psql" -X -qAt -h "$PG_DIR" -p "$PG_PORT" -U postgres -d nz -c "$1" 2>/dev/null; }

# Three POST /v1/query requests in flight on descriptors 6, 7 and 8 of the
# calling shell (the server at $PORT): headers and the first 5 bytes of
# HALF_BODY sent, the rest held back. half_posts_finish sends the rest,
# reads each answer and closes the three; HALF_ANSWERED: how many were 200.
HALF_BODY='{"query":"NPWP","k":2}'
half_posts_open() {
    local fd
    for fd in 6 7 8; do
        eval "exec $fd<>/dev/tcp/127.0.0.1/$PORT"
        printf 'POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
            "${#HALF_BODY}" "${HALF_BODY:0:5}" >&"$fd"
    done
}
half_posts_finish() {
    local fd
    HALF_ANSWERED=0
    for fd in 6 7 8; do
        printf '%s' "${HALF_BODY:5}" >&"$fd"
        timeout 10 cat <&"$fd" | head -n1 | grep -q '^HTTP/1.1 200' && HALF_ANSWERED=$((HALF_ANSWERED + 1))
        eval "exec $fd<&-"
    done
}
