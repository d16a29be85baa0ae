#!/usr/bin/env bash
# bench/chunk: cl100k_base tokens per second, nz (C) against js-tiktoken
# (npm) on the same texts in the same run, both on one thread; and what
# chunking the whole corpus costs end to end.
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/build}
NPM=$PWD/build/npm
W=$PWD/build/bench-chunk
REPS=${NZ_BENCH_REPS:-3}
mkdir -p "$W"
if [ ! -d "$NPM/node_modules/js-tiktoken" ]; then
    mkdir -p "$NPM" && (cd "$NPM" && npm install --silent --no-audit --no-fund js-tiktoken@1.0.21)
fi
if [ ! -s "$W/docs.jsonl" ]; then
    "$BIN/nz-extract" /usr/share/doc/postgresql-doc-15/html /usr/share/debian-reference/*.html \
        >"$W/docs.jsonl" 2>/dev/null
fi
"$BIN/nz-chunk" <"$W/docs.jsonl" >"$W/chunks.jsonl" 2>"$W/chunk.err"
for lang in en id; do
    jq -c --arg l "$lang" 'select(.lang == $l) | .context + "\n\n" + .text' "$W/chunks.jsonl" >"$W/$lang.jsonl"
done
cat "$W/en.jsonl" "$W/id.jsonl" >"$W/all.jsonl"
bytes=$(jq -r . "$W/all.jsonl" | wc -c)
echo "corpus: $(wc -l <"$W/all.jsonl") chunk texts, $bytes bytes (postgresql-doc-15, debian-reference en+id)"
read -r nt ns nrate < <("$BIN/nz-tokbench" "$REPS" <"$W/all.jsonl")
read -r jt js jrate < <(NODE_PATH="$NPM/node_modules" node bench/chunk/tokbench.cjs "$REPS" <"$W/all.jsonl")
[ "$nt" = "$jt" ] || echo "WARNING: token totals differ: nz $nt, js-tiktoken $jt"
ratio=$(awk -v a="$nrate" -v b="$jrate" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 2.0) ? "PASS" : "MISS" }')
printf '  %-28s %12s tokens/s   anchor\n' "js-tiktoken 1.0.21 (node)" "$jrate"
printf '  %-28s %12s tokens/s   %sx anchor (target >= 2.0)  %s\n' "nz cl100k_base (C, PCRE2 JIT)" "$nrate" "$ratio" "$verdict"
for lang in en id; do
    chars=$(jq -r . "$W/$lang.jsonl" | wc -m)
    read -r t _ _ < <("$BIN/nz-tokbench" 1 <"$W/$lang.jsonl")
    printf '  %s: %.2f characters per token\n' "$lang" "$(awk -v c="$chars" -v t="$t" 'BEGIN { print c / t }')"
done
start=$(date +%s.%N)
"$BIN/nz-chunk" <"$W/docs.jsonl" >/dev/null 2>&1
end=$(date +%s.%N)
echo "  nz-chunk end to end: $(wc -l <"$W/docs.jsonl") docs in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s ($(jq -r 'select(.msg == "done") | .tokens' "$W/chunk.err") tokens chunked)"
