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
cleanup() {
    local p
    for p in "${SERVER_PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
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
