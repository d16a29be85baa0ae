#!/usr/bin/env bash
# bench/query: what parsing a 1536-dim query vector costs as JSON numbers
# and as base64 of float32 (query_parse_bytes, in process), with the search
# it asks for (ef 64, k 10) as the anchor, on an index of the corpus
# (postgresql-doc-15 and debian-reference, hash embeddings; built once and
# kept in build/bench-query). NZ_BENCH_SNAPSHOT=DIR uses another index.
# bench/serve measures the same over HTTP.
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/build}
W=$PWD/build/bench-query
REPS=${NZ_BENCH_REPS:-300}
mkdir -p "$W"
ix=${NZ_BENCH_SNAPSHOT:-$W/ix}
if [ -z "${NZ_BENCH_SNAPSHOT:-}" ] && [ ! -e "$W/ix/current" ]; then
    "$BIN/nz-extract" /usr/share/doc/postgresql-doc-15/html /usr/share/debian-reference/*.html 2>/dev/null |
        "$BIN/nz-chunk" 2>/dev/null | "$BIN/nz-embed" --provider hash 2>/dev/null |
        "$BIN/nz-index" build -o "$W/ix" >/dev/null 2>"$W/build.err"
fi
"$BIN/nz-parsebench" "$ix" "$REPS" | tee "$W/last.json" | jq -r '
    "snapshot: \(.rows) rows, dim \(.dim); request bodies: JSON \(.json_bytes) B, base64 \(.base64_bytes) B",
    "| what (CPU us per request) | us | ratio |",
    "|---|---|---|",
    "| search + answer, ef 64, k 10 (anchor) | \(.search_us) | 1 |",
    "| parse, JSON numbers | \(.json_parse_us) | \(.json_over_search) |",
    "| parse, base64 | \(.base64_parse_us) | \(.base64_over_search) |",
    "JSON numbers cost \(.json_over_base64)x base64 to parse"'
