#!/usr/bin/env bash
# bench/quality: search quality of nz-index's dense (hash), lexical and hybrid modes on
# the Debian Reference in English and in Indonesian (debian-reference-en, -id: the same
# manual twice), against SQLite FTS5's bm25() on the same chunks, in one run.
#
# Labels (quality.py labels): every h2/h3 heading is a query, its own section (its
# subsections included) the relevant answer. The chunks come from our nz-extract and
# nz-chunk, and are indexed with their headings stripped (heading "", context = the
# page title), so no query is a plain string match; each language is its own snapshot,
# embedded by nz-embed --provider hash.
# Figures: recall@10 (the section found in the top 10) and MRR@10 per mode and language,
# with paired bootstrap intervals for the targets: lexical >= FTS5, hybrid > the best
# single mode, on both languages; stemming on against off (`build --stem none`), per
# language; hybrid's weight swept (choose a default on en, read it held out on id). The peer, SQLite FTS5, indexes the same chunk texts
# through the sqlite3 command-line tool (how a query becomes a MATCH: quality.py fts5).
# Probes: each code of issue 14 on one page among distractors holding its pieces, the
# pages alone and planted in the Indonesian chunks: first in lexical and hybrid.
# Latency: lexical p50 < 1 ms and hybrid <= 1.3x dense, on bench/corpus (below).
#
# QUICK=1: the first 100 queries of each language, a 20k-chunk corpus (a smoke run).
set -eu -o pipefail
cd "$(dirname "$0")/../.."
export NZ_LOG_FORMAT=json
BIN=${NZ_BIN:-$PWD/build}
export NZ_BIN=$BIN
PY="/usr/bin/python3 bench/quality/quality.py"
W=$PWD/build/bench-quality
SRC=/usr/share/debian-reference
LANGS="en id"
FTS_TOK="unicode61 remove_diacritics 2"
WEIGHTS="0.3 0.5 0.7 0.8 0.85 0.95" # hybrid's lexical share (0.5: plain RRF; the default, 0.9, is FUSE_DEFAULT_WEIGHT)
for l in $LANGS; do
    [ -e "$SRC/ch01.$l.html" ] || {
        echo "bench/quality: $SRC/ch01.$l.html is missing (sh tools/deps.sh bench)" >&2
        exit 1
    }
done
command -v sqlite3 >/dev/null || { echo "bench/quality: no sqlite3 (sh tools/deps.sh bench)" >&2; exit 1; }
rm -rf "$W"
mkdir -p "$W"

# ---- labels and chunks: our own extract and chunk stages
pages=()
for l in $LANGS; do pages+=("$SRC"/pr01.$l.html "$SRC"/ch[0-9]*.$l.html "$SRC"/apa.$l.html); done
"$BIN/nz-extract" -o "$W/docs.jsonl" "${pages[@]}" 2>"$W/extract.err"
"$BIN/nz-chunk" -o "$W/chunks-raw.jsonl" "$W/docs.jsonl" 2>"$W/chunk.err"
$PY labels "$W/docs.jsonl" "$W/chunks-raw.jsonl" "$W" >"$W/labels.json"
if [ "${QUICK:-0}" = 1 ]; then
    for l in $LANGS; do
        head -n 100 "$W/queries-$l.jsonl" >"$W/q" && mv "$W/q" "$W/queries-$l.jsonl"
    done
fi

# ---- probes: the pages alone ("probe"), and planted in the Indonesian chunks ("probe-corpus")
$PY probes "$W"
"$BIN/nz-chunk" -o "$W/probe-chunks.jsonl" "$W/probe-docs.jsonl" 2>"$W/chunk.err"
$PY qrels "$W/probe-queries.jsonl" "$W/probe-chunks.jsonl" >"$W/queries-probe.jsonl"
cp "$W/queries-probe.jsonl" "$W/queries-probe-corpus.jsonl"
cp "$W/probe-chunks.jsonl" "$W/chunks-probe.jsonl"
cat "$W/chunks-id.jsonl" "$W/probe-chunks.jsonl" >"$W/chunks-probe-corpus.jsonl"

# ---- one snapshot per set, hash embeddings; the same again with stemming off
for s in $LANGS probe probe-corpus; do
    "$BIN/nz-embed" --provider hash --no-cache -o "$W/embedded-$s.jsonl" "$W/chunks-$s.jsonl" \
        2>"$W/embed.err"
    "$BIN/nz-index" build -o "$W/ix-$s" "$W/embedded-$s.jsonl" >"$W/build-$s.json" 2>"$W/build.err"
done
for l in $LANGS; do
    "$BIN/nz-index" build --stem none -o "$W/ix-$l-nostem" "$W/embedded-$l.jsonl" >/dev/null 2>"$W/build.err"
done

# ask SET SNAPSHOT NAME FIELDS [nz-index query options...]: our answers to SET's queries
# (each with filter.lang, which also picks the query's stemmer, and the jq object FIELDS)
# through one `nz-index query --queries` process -> W/res-SET-NAME.jsonl
ask() {
    local s=$1 ix=$2 name=$3 fields=$4
    shift 4
    jq -c "{query, k: 10, filter: {lang}} + $fields" "$W/queries-$s.jsonl" |
        "$BIN/nz-index" query "$ix" --queries - "$@" 2>"$W/ask.err" |
        jq -c '{results: [.results[]? | {chunk_id}]}' |
        paste -d '\t' <(jq -r .qid "$W/queries-$s.jsonl") - |
        jq -R -c 'split("\t") | (.[1] | fromjson) + {qid: .[0]}' >"$W/ans"
    [ "$(wc -l <"$W/ans")" = "$(wc -l <"$W/queries-$s.jsonl")" ] || {
        echo "bench/quality: nz-index query answered $(wc -l <"$W/ans") of $s's queries" >&2
        exit 1
    }
    $PY ours "$W/ans" "$W/res-$s-$name.jsonl"
}

for s in $LANGS probe probe-corpus; do
    for m in dense lexical hybrid; do ask "$s" "$W/ix-$s" "$m" '{}' --mode "$m"; done
    ask "$s" "$W/ix-$s" dense-exact '{exact: true}' --mode dense
    case $s in
    probe*) ;;
    *)
        ask "$s" "$W/ix-$s-nostem" lexical-nostem '{}' --mode lexical
        for wt in $WEIGHTS; do ask "$s" "$W/ix-$s" "hybrid-w$wt" "{weight: $wt}" --mode hybrid; done
        ;;
    esac
    $PY fts5 "$W/chunks-$s.jsonl" "$W/queries-$s.jsonl" "$FTS_TOK" "$W/res-$s-fts5.jsonl" >"$W/fts5-$s.json"
    $PY fts5 "$W/chunks-$s.jsonl" "$W/queries-$s.jsonl" "porter $FTS_TOK" "$W/res-$s-fts5-porter.jsonl" \
        >"$W/fts5-porter-$s.json"
done
# ---- latency on bench/corpus (>= 100k real chunks; QUICK: 20k), in process: one
# `nz-index query --queries` process a mode, one thread, timing each query from its
# request line to its answer (parse, embed, search, fuse, the answer's JSON); every
# heading query of both languages, no filter (the whole corpus). An untimed pass
# first (page cache), then LAT_ROUNDS rounds with the modes interleaved, so a noisy
# neighbour hits each alike; the median of the rounds' p50 and p95, of wall time and
# of CPU time (the process's: hybrid's helper thread, which runs BM25 beside the graph
# walk, counts). hybrid-serial: the two lists one after the other on one thread.
if [ "${QUICK:-0}" = 1 ]; then
    export NZ_CORPUS_MIN=20000 NZ_CORPUS_DIR=$PWD/build/bench/corpus-quick
fi
corpus() { bash bench/corpus/build.sh 2>"$W/corpus.err" | tail -4; }
# 0 when lexical.bin ($1) holds the terms' kth (lex_format.h: f32 at byte 20 of each
# 24-byte term), which the search starts its threshold from; files written before it
# hold 0 there and search slower, so a cached corpus index of that age is rebuilt.
lexical_has_kth() {
    /usr/bin/python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
m = struct.unpack_from("<Q", b, 48)[0]
nterms, terms_off = struct.unpack_from("<I", b, m)[0], struct.unpack_from("<Q", b, m + 40)[0]
ok = any(struct.unpack_from("<I", b, terms_off + 24 * i + 8)[0] >= 20 and
         struct.unpack_from("<f", b, terms_off + 24 * i + 20)[0] > 0 for i in range(nterms))
sys.exit(0 if ok else 1)
PY
}
eval "$(corpus)"
if [ ! -e "$CORPUS_INDEX/current/lexical.bin" ] || ! lexical_has_kth "$CORPUS_INDEX/current/lexical.bin"; then
    rm -rf "$CORPUS_INDEX" # built before snapshots had one, or before the terms' kth
    eval "$(corpus)"
fi
jq -c '{query}' "$W"/queries-en.jsonl "$W"/queries-id.jsonl >"$W/lat-queries.jsonl"
timed() { # mode: prints the run's "p50 p95 cpu_p50 cpu_p95", k 10
    local m=$1 serial=
    [ "$m" = hybrid-serial ] && m=hybrid serial=--serial
    "$BIN/nz-index" query "$CORPUS_INDEX" --queries "$W/lat-queries.jsonl" --mode "$m" -k 10 \
        $serial 2>&1 >/dev/null |
        jq -r 'select(.msg == "queries") | "\(.p50_ms) \(.p95_ms) \(.cpu_p50_ms) \(.cpu_p95_ms)"'
}
LAT_RUNS="dense lexical hybrid hybrid-serial"
: >"$W/lat.txt"
for m in $LAT_RUNS; do timed "$m" >/dev/null; done
for r in $(seq 1 "${LAT_ROUNDS:-5}"); do
    for m in $LAT_RUNS; do echo "$m $(timed "$m")" >>"$W/lat.txt"; done
done
jq -n -R --argjson rows "$CORPUS_ROWS" --argjson nq "$(wc -l <"$W/lat-queries.jsonl")" \
    --argjson rounds "${LAT_ROUNDS:-5}" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
    def median: sort | .[length / 2 | floor];
    [inputs | split(" ")] | group_by(.[0]) |
    map({key: .[0][0], value: {p50_ms: (map(.[1] | tonumber) | median),
                                p95_ms: (map(.[2] | tonumber) | median),
                                cpu_p50_ms: (map(.[3] | tonumber) | median),
                                cpu_p95_ms: (map(.[4] | tonumber) | median)}}) |
    from_entries + {rows: $rows, queries: $nq, rounds: $rounds, load: $load}' <"$W/lat.txt" >"$W/latency.json"

echo "FTS5: CREATE VIRTUAL TABLE f USING fts5(text, tokenize='$FTS_TOK') of the chunks' text (the"
echo "text our lexical index holds); a query is the OR of its unicode61 tokens, each quoted"
echo "(\"console\" OR \"basics\"), ORDER BY rank (bm25()) LIMIT 10, through the sqlite3 CLI."
$PY table "$W"
