#!/usr/bin/env bash
# bench/corpus/build.sh -- the benchmark corpus, shared by the benchmarks that
# need a realistic index: at least NZ_CORPUS_MIN (100,000) real chunks from
# Debian's documentation (postgresql-doc-15's HTML manual, debian-reference
# in English and Indonesian), through our own stages:
#
#   nz-extract | nz-chunk            -> chunks.jsonl  (8.9k real chunks)
#   copies under new ids (jq)        -> chunks.jsonl  (>= NZ_CORPUS_MIN rows)
#   nz-embed --provider hash         -> embedded.jsonl (dim 1536)
#   nz-index build                   -> index/ (a snapshot root, `current`)
#
# The real chunks are not enough for 100k rows, so the corpus is repeated
# whole: copy n (1, 2, ...) of a chunk has the same text but a new chunk_id
# and doc_id (the last two hex digits of each id replaced by n, two decimal
# digits), its uri gets "#copy-n", and every record has "copy": n (0 for the
# real chunks; unknown fields pass through the stages) so a benchmark that
# wants the real chunks only can keep copy 0. Copies embed to the same
# vectors as their original.
#
# Cached under build/bench/corpus/ (NZ_CORPUS_DIR): each file is rebuilt only
# when it is missing, every file is written under a temporary name and
# renamed when complete. Prints how long each step took. Prints the paths as
# shell assignments on the last lines (CORPUS_CHUNKS=..., CORPUS_EMBEDDED=...,
# CORPUS_INDEX=..., CORPUS_ROWS=...) for `eval "$(... | tail -4)"`.
#
# Needs tools/deps.sh test (jq, postgresql-doc-15, debian-reference-en/-id).
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/${NZ_BUILD:-build}}
C=${NZ_CORPUS_DIR:-$PWD/build/bench/corpus}
MIN=${NZ_CORPUS_MIN:-100000}
PG=/usr/share/doc/postgresql-doc-15/html
DR=/usr/share/debian-reference
mkdir -p "$C"
unset EMBEDDING_PROVIDER EMBEDDING_MODEL EMBEDDING_DIMENSIONS INDEX_PATH

for f in "$PG/index.html" "$DR/index.en.html" "$DR/index.id.html"; do
    [ -e "$f" ] || {
        echo "bench/corpus: $f missing: sh tools/deps.sh test" >&2
        exit 1
    }
done
for b in nz-extract nz-chunk nz-embed nz-index; do
    [ -x "$BIN/$b" ] || {
        echo "bench/corpus: $BIN/$b missing: make" >&2
        exit 1
    }
done

now() { date +%s.%N; }
took() { # label start
    awk -v l="$1" -v a="$2" -v b="$(now)" 'BEGIN { printf "  %-34s %7.1f s\n", l, b - a }' >&2
}

# 1. the real chunks
if [ ! -s "$C/real.jsonl" ]; then
    s=$(now)
    "$BIN/nz-extract" "$PG" "$DR"/*.en.html "$DR"/*.id.html 2>"$C/extract.log" >"$C/docs.jsonl.tmp"
    took "nz-extract ($(wc -l <"$C/docs.jsonl.tmp") docs)" "$s"
    s=$(now)
    "$BIN/nz-chunk" "$C/docs.jsonl.tmp" 2>"$C/chunk.log" | jq -c '.copy = 0' >"$C/real.jsonl.tmp"
    took "nz-chunk ($(wc -l <"$C/real.jsonl.tmp") chunks)" "$s"
    rm -f "$C/docs.jsonl.tmp"
    mv "$C/real.jsonl.tmp" "$C/real.jsonl"
fi
nreal=$(wc -l <"$C/real.jsonl")
[ "$nreal" -gt 1000 ] || {
    echo "bench/corpus: only $nreal chunks extracted (see $C/extract.log)" >&2
    exit 1
}

# 2. copies under new ids, up to MIN rows
copies=$(((MIN + nreal - 1) / nreal))
[ "$copies" -le 99 ] || {
    echo "bench/corpus: NZ_CORPUS_MIN=$MIN needs $copies copies (at most 99)" >&2
    exit 2
}
if [ ! -s "$C/chunks.jsonl" ] || [ "$(wc -l <"$C/chunks.jsonl")" -ne $((copies * nreal)) ]; then
    rm -f "$C/embedded.jsonl"
    s=$(now)
    cp "$C/real.jsonl" "$C/chunks.jsonl.tmp"
    for n in $(seq 1 $((copies - 1))); do
        jq -c --argjson n "$n" --arg d "$(printf '%02d' "$n")" \
            '.chunk_id = .chunk_id[0:30] + $d | .doc_id = .doc_id[0:30] + $d |
             .uri = .uri + "#copy-\($n)" | .copy = $n' "$C/real.jsonl" >>"$C/chunks.jsonl.tmp"
    done
    mv "$C/chunks.jsonl.tmp" "$C/chunks.jsonl"
    took "copies ($copies x $nreal = $((copies * nreal)) chunks)" "$s"
fi
rows=$(wc -l <"$C/chunks.jsonl")

# 3. embeddings (hash: offline, deterministic)
if [ ! -s "$C/embedded.jsonl" ]; then
    rm -rf "$C/index"
    s=$(now)
    "$BIN/nz-embed" --provider hash --no-cache -o "$C/embedded.jsonl" "$C/chunks.jsonl" 2>"$C/embed.log"
    took "nz-embed --provider hash ($rows)" "$s"
fi

# 4. the snapshot (again when this build refuses it, e.g. an older format)
if [ ! -e "$C/index/current" ] || ! "$BIN/nz-index" verify "$C/index/current" 2>/dev/null; then
    rm -rf "$C/index"
    s=$(now)
    "$BIN/nz-index" build -o "$C/index" "$C/embedded.jsonl" 2>"$C/index.log" >/dev/null
    took "nz-index build ($rows rows)" "$s"
fi
echo "bench/corpus: $rows chunks ($nreal real x $copies), snapshot $(readlink "$C/index/current") in $C" >&2
echo "CORPUS_CHUNKS=$C/chunks.jsonl"
echo "CORPUS_EMBEDDED=$C/embedded.jsonl"
echo "CORPUS_INDEX=$C/index"
echo "CORPUS_ROWS=$rows"
