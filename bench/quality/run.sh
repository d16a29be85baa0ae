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
# Figures: recall@10 (the section found in the top 10) and MRR@10 per mode and language.
# Targets: lexical >= FTS5, hybrid > the best single mode, on both languages.
# Probes: each code of issue 14 planted in one page among distractors holding its pieces,
# in the Indonesian snapshot: it must come first in lexical and hybrid.
#
# QUICK=1: the first 100 queries of each language (a smoke run).
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/build}
export NZ_BIN=$BIN
PY="/usr/bin/python3 bench/quality/quality.py"
W=$PWD/build/bench-quality
SRC=/usr/share/debian-reference
LANGS="en id"
FTS_TOK="unicode61 remove_diacritics 2"
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

# ---- probes: planted in the Indonesian chunks
$PY probes "$W"
"$BIN/nz-chunk" -o "$W/probe-chunks.jsonl" "$W/probe-docs.jsonl" 2>"$W/chunk.err"
$PY qrels "$W/probe-queries.jsonl" "$W/probe-chunks.jsonl" >"$W/queries-probe.jsonl"
cat "$W/chunks-id.jsonl" "$W/probe-chunks.jsonl" >"$W/chunks-probe.jsonl"

# ---- one snapshot per set, hash embeddings
for s in $LANGS probe; do
    "$BIN/nz-embed" --provider hash --no-cache -o "$W/embedded-$s.jsonl" "$W/chunks-$s.jsonl" \
        2>"$W/embed.err"
    "$BIN/nz-index" build -o "$W/ix-$s" "$W/embedded-$s.jsonl" >"$W/build-$s.json" 2>"$W/build.err"
done

# ask SET MODE: our answers to SET's queries in MODE -> W/res-SET-MODE.jsonl
ask() {
    local s=$1 mode=$2 qid lang text
    : >"$W/ans"
    while IFS=$'\t' read -r qid lang text; do
        "$BIN/nz-index" query "$W/ix-$s" --text "$text" -k 10 --lang "$lang" |
            jq -c --arg q "$qid" '{qid: $q, results}' >>"$W/ans"
    done < <(jq -r '[.qid, .lang, .query] | @tsv' "$W/queries-$s.jsonl")
    $PY ours "$W/ans" "$W/res-$s-$mode.jsonl"
}

for s in $LANGS probe; do
    ask "$s" dense
    $PY fts5 "$W/chunks-$s.jsonl" "$W/queries-$s.jsonl" "$FTS_TOK" "$W/res-$s-fts5.jsonl" >"$W/fts5-$s.json"
    $PY fts5 "$W/chunks-$s.jsonl" "$W/queries-$s.jsonl" "porter $FTS_TOK" "$W/res-$s-fts5-porter.jsonl" \
        >"$W/fts5-porter-$s.json"
done
echo "FTS5: CREATE VIRTUAL TABLE f USING fts5(text, tokenize='$FTS_TOK') of the chunks' text (the"
echo "text our lexical index holds); a query is the OR of its unicode61 tokens, each quoted"
echo "(\"console\" OR \"basics\"), ORDER BY rank (bm25()) LIMIT 10, through the sqlite3 CLI."
$PY table "$W"
