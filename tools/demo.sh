#!/usr/bin/env bash
# demo.sh -- `make demo`: ingest the bundled fixtures with the offline hash
# embedder, start nz-serve, ask it one question in English and one in
# Indonesian over HTTP, print the ranked answers, and stop the server.
#
# Needs only the nz-* binaries, bash, sed and curl (tools/deps.sh demo). The
# server's answers are compact JSON on one line, keys in a fixed order, so
# a few sed expressions read the fields shown here; no jq.
set -euo pipefail
export LC_ALL=C.UTF-8 # ${text:0:160} counts characters, not bytes
cd "$(dirname "$0")/.."
BIN=$PWD/${NZ_BUILD:-build}
INDEX=${NZ_DEMO_INDEX:-$PWD/data/index}
export EMBEDDING_PROVIDER=hash
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; rm -rf "$work"' EXIT

# json_str KEY / json_num KEY: the value of KEY in the one-line JSON on stdin
# (its last occurrence for a string, its first for a number;
# a string has its escapes undone and new lines made spaces).
json_str() {
    sed -nE "s/^.*\"$1\":\"(([^\"\\\\]|\\\\.)*)\".*\$/\\1/p;q" | head -n 1 |
        sed -E 's/\\n/ /g; s/\\t/ /g; s/\\"/"/g; s/\\\\/\\/g'
}
json_num() { grep -oE "\"$1\":-?[0-9.eE+-]+" | head -n 1 | sed 's/^.*://'; }

echo "== 1. ingest fixtures/docs -> $INDEX"
"$BIN/nz-pipeline" run -o "$INDEX" fixtures/docs >"$work/run.json" 2>"$work/pipeline.log" || {
    echo "   nz-pipeline failed:" >&2
    tail -n 5 "$work/pipeline.log" >&2
    exit 1
}
# the run's own seconds close the summary: {..., "seconds":N}
secs=$(sed -E 's/.*"seconds":([0-9.]+)\}$/\1/' "$work/run.json")
if [ "$(json_str status <"$work/run.json")" = unchanged ]; then # a second demo: nothing new
    echo "   status: unchanged (the fixtures were ingested before; nothing to publish), ${secs}s"
else
    echo "   status: $(json_str status <"$work/run.json"), $(json_num count <"$work/run.json") chunks" \
        "in $(json_str snapshot <"$work/run.json"), ${secs}s"
fi

port=${PORT:-8000}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=0; fi # busy: any free port
"$BIN/nz-serve" --index-path "$INDEX" --port "$port" --port-file "$work/port" 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "   nz-serve did not start:" >&2; tail -n 5 "$work/serve.log" >&2; exit 1; }
port=$(cat "$work/port")
echo "== 2. nz-serve listening on http://127.0.0.1:$port"
curl -s "http://127.0.0.1:$port/health" >"$work/health.json"
echo "   status: $(json_str status <"$work/health.json"), index: $(json_str snapshot <"$work/health.json")," \
    "$(json_num count <"$work/health.json") chunks"

ask() {
    echo
    echo "== Q: $1"
    # the questions hold no quote or backslash; escape them anyway
    local q
    q=$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')
    curl -s -X POST "http://127.0.0.1:$port/v1/query" -H 'Content-Type: application/json' \
        -d "{\"query\":\"$q\",\"k\":3}" >"$work/answer.json"
    if ! grep -q '^{"results":' "$work/answer.json"; then
        echo "   error: $(cat "$work/answer.json")"
        return 1
    fi
    # one result a line: every result object starts with its chunk_id
    local i=0 r title heading uri text
    while IFS= read -r r; do
        case "$r" in *'"chunk_id":'*) ;; *) continue ;; esac
        i=$((i + 1))
        title=$(json_str title <<<"$r")
        heading=$(json_str heading <<<"$r")
        uri=$(json_str uri <<<"$r")
        text=$(json_str text <<<"$r")
        echo "  $i. [$(json_num score <<<"$r")] $title${heading:+ > $heading}"
        echo "     source: ${uri#"file://$PWD/"}"
        echo "     ${text:0:160}…"
    done < <(sed 's/},{"chunk_id":/}\n{"chunk_id":/g' "$work/answer.json")
    [ "$i" -gt 0 ] || echo "   (no results)"
}
ask "What visa do I need to work in Indonesia?"
ask "Berapa tarif PPh final untuk UMKM?"

echo
echo "== 3. stopping the server (SIGTERM drains in-flight requests)"
kill -TERM "$server"
wait "$server" || true
server=
echo "   Run it yourself:  $BIN/nz-serve --index-path $INDEX"
