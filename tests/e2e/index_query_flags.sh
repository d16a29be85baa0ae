#!/usr/bin/env bash
# `nz-index query --queries FILE`: the command line's request flags (-k,
# --ef, --exact, --lang, --doc-id, --uri-prefix, --mode, --weight) are the
# defaults of every request line, and a line that names a field itself
# overrides its flag (a filter key by key). Each flag is checked three
# ways: the file with the flag answers as the file with the field written
# into every line; that answer differs from the one without the flag (so
# the flag mattered); and a single --text/--vector query with the flag
# answers as the file's line does. --ef and --exact on a sparse graph
# (degree 4), where they change the answers; the filters, --mode and
# --weight on the fixtures' text index.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

answers() { # FILE -> the answers without their timings, one a line
    jq -c 'del(.took_ms)' "$1"
}
ask() { # out ROOT QUERIES [flags...]: the answers of a --queries run
    local out=$1 ix=$2 q=$3
    shift 3
    nz-index query "$ix" --queries "$q" "$@" >"$T/ask.out" 2>"$T/ask.err" ||
        echo "nz-index query --queries $* exit $?: $(tail -c 200 "$T/ask.err")" >&2
    answers "$T/ask.out" >"$out"
}
# flag NAME ROOT QUERIES JQ-FIELDS FLAGS...: the three checks above
flag() {
    local name=$1 ix=$2 q=$3 fields=$4
    shift 4
    ask "$T/$name.flag" "$ix" "$q" "$@"
    jq -c ". + $fields" "$q" >"$T/$name.q"
    ask "$T/$name.field" "$ix" "$T/$name.q"
    ask "$T/$name.none" "$ix" "$q"
    if [ -s "$T/$name.flag" ] && cmp -s "$T/$name.flag" "$T/$name.field"; then
        t_ok "${name}_flag_is_every_line_default"
    else
        t_fail "${name}_flag_is_every_line_default" "--queries $* answered $(wc -l <"$T/$name.flag") lines, not those of $fields in each line"
    fi
    if [ -s "$T/$name.none" ] && ! cmp -s "$T/$name.field" "$T/$name.none"; then
        t_ok "${name}_changes_answers"
    else
        t_fail "${name}_changes_answers" "$fields answers as no flag: the case tests nothing"
    fi
    local one
    one=$(head -1 "$q" | jq -r 'if .query then .query else (.vector | tojson) end')
    if head -1 "$q" | jq -e 'has("query")' >/dev/null; then
        nz-index query "$ix" --text "$one" "$@" >"$T/one.json" 2>"$T/one.err"
    else
        nz-index query "$ix" --vector "$one" "$@" >"$T/one.json" 2>"$T/one.err"
    fi
    if [ "$(answers "$T/one.json")" = "$(head -1 "$T/$name.flag")" ]; then
        t_ok "${name}_single_query_same"
    else
        t_fail "${name}_single_query_same" "--text/--vector $* answered otherwise: $(tail -c 200 "$T/one.err")"
    fi
}

# ---- --ef, --exact, -k: vectors on a sparse graph
"$PY" "$NZ_ROOT/bench/ann/gen.py" 2000 30 16 "$T/d" 7 || t_fail generate_data "gen.py failed"
nz-index build -o "$T/vx" --degree 4 --build-ef 8 --fvecs "$T/d/base.fvecs" >/dev/null 2>"$T/build.err" ||
    t_fail build_vectors "$(tail -c 300 "$T/build.err")"
"$PY" -c "
import json, sys
import numpy as np
a = np.fromfile(sys.argv[1], dtype=np.int32).reshape(-1, 17)[:, 1:].view(np.float32)
for r in a: print(json.dumps({'vector': [float(x) for x in r]}))" "$T/d/query.fvecs" >"$T/vq.jsonl"
flag ef "$T/vx" "$T/vq.jsonl" '{ef: 1}' --ef 1
flag exact "$T/vx" "$T/vq.jsonl" '{exact: true}' --exact
flag k "$T/vx" "$T/vq.jsonl" '{k: 3}' -k 3
flag exact_k "$T/vx" "$T/vq.jsonl" '{exact: true, k: 5}' --exact -k 5

# ---- filters, --mode, --weight: text on the fixtures' index (id and en pages)
build_fixture_index "$T/tx" || t_fail build_text "$(tail -c 300 "$T/build.err")"
printf '%s\n' '{"query":"izin tinggal bagi tenaga kerja asing"}' '{"query":"company tax rate"}' \
    '{"query":"visa"}' >"$T/tq.jsonl"
uri=$(nz-index query "$T/tx" --text visa -k 1 | jq -r '.results[0].uri')
doc=$(nz-index query "$T/tx" --text visa -k 1 | jq -r '.results[0].doc_id')
flag lang "$T/tx" "$T/tq.jsonl" '{filter: {lang: "en"}}' --lang en
flag doc_id "$T/tx" "$T/tq.jsonl" "{filter: {doc_id: \"$doc\"}}" --doc-id "$doc"
flag uri_prefix "$T/tx" "$T/tq.jsonl" "{filter: {uri_prefix: \"$uri\"}}" --uri-prefix "$uri"
flag mode "$T/tx" "$T/tq.jsonl" '{mode: "dense"}' --mode dense
flag weight "$T/tx" "$T/tq.jsonl" '{weight: 1}' --weight 1
flag all "$T/tx" "$T/tq.jsonl" '{filter: {lang: "id"}, mode: "lexical", k: 2, exact: true}' \
    --lang id --mode lexical -k 2 --exact

# ---- a line's own field beats the flag
endoc=$(nz-index query "$T/tx" --text visa --lang en -k 1 | jq -r '.results[0].doc_id')
printf '%s\n' '{"query":"visa","filter":{"lang":"id"}}' '{"query":"visa","mode":"lexical","k":2}' \
    '{"query":"visa","filter":{"doc_id":"'"$endoc"'"}}' >"$T/own.jsonl"
nz-index query "$T/tx" --queries "$T/own.jsonl" --lang en --mode dense -k 4 >"$T/own.out" 2>"$T/own.err"
check own_filter_key_beats_flag jq -s -e '(.[0].results | length) > 0 and all(.[0].results[]; .lang == "id")' "$T/own.out"
check own_mode_and_k_beat_flags jq -s -e '.[1].mode == "lexical" and (.[1].results | length) == 2' "$T/own.out"
# the line's doc_id and the flag's lang both apply: --lang en keeps the
# English document's rows, --lang id leaves none
check filter_merged_key_by_key jq -s -e --arg d "$endoc" '(.[2].results | length) > 0 and all(.[2].results[]; .doc_id == $d and .lang == "en")' "$T/own.out"
nz-index query "$T/tx" --queries "$T/own.jsonl" --lang id >"$T/own2.out" 2>/dev/null
check filter_merged_other_lang_leaves_none jq -s -e 'length == 3 and .[2].results == []' "$T/own2.out"
jq -c '. + {exact: false}' "$T/vq.jsonl" >"$T/noexact.jsonl"
ask "$T/noexact.out" "$T/vx" "$T/noexact.jsonl" --exact
check own_exact_false_beats_flag cmp -s "$T/noexact.out" "$T/exact.none"

# ---- refusals stay what they were: a bad flag is a usage error before any line
expect_exit bad_weight_flag_is_usage 2 nz-index query "$T/tx" --queries "$T/tq.jsonl" --weight 2
expect_exit bad_mode_flag_refuses_each_line 3 nz-index query "$T/tx" --queries "$T/tq.jsonl" --mode fuzzy
check bad_mode_flag_names_mode bash -c "[ \$(jq -s 'map(select(.error | test(\"mode\"))) | length' '$T/exp.out') = 3 ]"
# a filter flag that is not UTF-8 would be dropped, widening the search: refused
expect_exit lang_not_utf8_is_usage 2 nz-index query "$T/tx" --text visa --lang $'\xff'
expect_exit lang_not_utf8_queries_is_usage 2 nz-index query "$T/tx" --queries "$T/tq.jsonl" --lang $'\xff'
check lang_not_utf8_says_so grep -q "not valid UTF-8" "$T/exp.err"
check help_says_flags_are_defaults bash -c "nz-index query --help | grep -q \"flags are each line's defaults\""
