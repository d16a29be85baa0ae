#!/usr/bin/env bash
# demo.sh -- `make demo`: ingest the bundled fixtures with the offline hash
# embedder, start nz-serve, ask it one question in English and one in
# Indonesian over HTTP, print the ranked answers, and stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/${NZ_BUILD:-build}
INDEX=${NZ_DEMO_INDEX:-$PWD/data/index}
export EMBEDDING_PROVIDER=hash
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill -TERM "$server" 2>/dev/null; rm -rf "$work"' EXIT

echo "== 1. ingest fixtures/docs -> $INDEX"
"$BIN/nz-pipeline" run -o "$INDEX" fixtures/docs 2>"$work/pipeline.log" | tee "$work/run.json" |
    jq -r '"   status: \(.status), \(.index.count) chunks in \(.index.snapshot), \(.seconds)s"'

port=${PORT:-8000}
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=0; fi # busy: any free port
"$BIN/nz-serve" --index-path "$INDEX" --port "$port" --port-file "$work/port" 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
echo "== 2. nz-serve listening on http://127.0.0.1:$port"
curl -s "http://127.0.0.1:$port/health" | jq -c '{status, index: .index.snapshot, count: .index.count}' |
    sed 's/^/   /'

ask() {
    echo
    echo "== Q: $1"
    curl -s -X POST "http://127.0.0.1:$port/v1/query" -H 'Content-Type: application/json' \
        -d "$(jq -n --arg q "$1" '{query: $q, k: 3}')" |
        jq -r --arg root "file://$PWD/" '.results | to_entries[] |
            "  \(.key + 1). [\(.value.score)] \(.value.title)\(if .value.heading != "" then " > " + .value.heading else "" end)\n" +
            "     source: \(.value.uri | sub("^" + $root; ""))\n" +
            "     \(.value.text | gsub("\n"; " ") | .[0:160])…"'
}
ask "What visa do I need to work in Indonesia?"
ask "Berapa tarif PPh final untuk UMKM?"

echo
echo "== 3. stopping the server (SIGTERM drains in-flight requests)"
kill -TERM "$server"
wait "$server" || true
server=
echo "   Run it yourself:  $BIN/nz-serve --index-path $INDEX"
