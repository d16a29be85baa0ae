#!/usr/bin/env bash
# nz-chunk on real corpora: token ids identical to js-tiktoken (from npm)
# for every chunk, exact counts, and the chunking properties of
# tests/quality/chunk_quality.py at several settings.
source "$(dirname "$0")/lib.sh"
Q="/usr/bin/python3 $NZ_ROOT/tests/quality/chunk_quality.py"
NPM="$NZ_ROOT/${NZ_BUILD:-build}/npm"
if [ ! -d "$NPM/node_modules/js-tiktoken" ]; then
    mkdir -p "$NPM"
    (cd "$NPM" && npm install --silent --no-audit --no-fund js-tiktoken@1.0.21) >"$T/npm.log" 2>&1 ||
        { t_fail js_tiktoken_installed "npm install failed: $(tail -c 300 "$T/npm.log")"; exit 0; }
fi
t_ok js_tiktoken_installed
cat >"$T/jst" <<EOS
#!/bin/sh
NODE_PATH="$NPM/node_modules" exec node "$NZ_ROOT/tests/tokenizer/jstiktoken.cjs" "\$@"
EOS
chmod +x "$T/jst"
PATH="$T:$PATH"
jst() { "$T/jst" "$@"; }

check known_vector_hello_world bash -c '[ "$(nz-tokens "Hello world!")" = "[9906,1917,0]" ]'
check known_vector_matches_js bash -c "[ \"\$(echo '\"Hello world!\"' | NODE_PATH='$NPM/node_modules' node '$NZ_ROOT/tests/tokenizer/jstiktoken.cjs')\" = '[9906,1917,0]' ]"

SRC="$NZ_ROOT/fixtures/docs /usr/share/doc/postgresql-doc-15/html"
SRC="$SRC $(ls /usr/share/debian-reference/*.html | tr '\n' ' ') /usr/share/debian-reference/debian-reference.en.pdf"
SRC="$SRC /usr/share/debian-reference/debian-reference.id.pdf /usr/share/doc/gnuplot/gnuplot.pdf"
nz-extract $SRC >"$T/docs.jsonl" 2>/dev/null
check corpus_extracted bash -c "[ \$(wc -l <'$T/docs.jsonl') -gt 1200 ]"

nz-chunk <"$T/docs.jsonl" >"$T/c400.jsonl" 2>"$T/c400.err"
rc=$?
[ $rc -eq 0 ] && t_ok chunk_default_exit_0 || t_fail chunk_default_exit_0 "exit $rc: $(tail -c 300 "$T/c400.err")"
check stats_report_duplicates jq -e 'select(.msg == "done") | .chunks > 10000 and .duplicates_dropped > 0 and .tokens > 1000000' "$T/c400.err"

# Every chunk, as sent to the embedder, tokenizes to js-tiktoken's ids.
jq -c 'if .context == "" then .text else .context + "\n\n" + .text end' "$T/c400.jsonl" >"$T/sent.jsonl"
nz-tokens --jsonl <"$T/sent.jsonl" >"$T/ours.ids"
jst <"$T/sent.jsonl" >"$T/ref.ids"
n=$(wc -l <"$T/sent.jsonl")
if cmp -s "$T/ours.ids" "$T/ref.ids" && [ "$(wc -l <"$T/ours.ids")" -eq "$n" ]; then
    t_ok "token_ids_identical_to_js_tiktoken_${n}_chunks"
else
    t_fail token_ids_identical_to_js_tiktoken "first difference: $(cmp "$T/ours.ids" "$T/ref.ids" 2>&1 | head -1)"
fi
check tokens_field_is_exact bash -c "paste -d' ' <(jq .tokens '$T/c400.jsonl') <(jst --count <'$T/sent.jsonl') | awk '\$1 != \$2 { bad++ } END { exit bad > 0 }'"
jq -c .text "$T/c400.jsonl" >"$T/texts.jsonl"
check text_tokens_field_is_exact bash -c "paste -d' ' <(jq .text_tokens '$T/c400.jsonl') <(jst --count <'$T/texts.jsonl') | awk '\$1 != \$2 { bad++ } END { exit bad > 0 }'"
# Indonesian text costs more tokens per character than English.
check indonesian_costs_more_per_char bash -c "jq -s -r '[group_by(.lang)[] | select(.[0].lang == \"en\" or .[0].lang == \"id\") |
    {l: .[0].lang, r: ((map(.text|length)|add) / (map(.text_tokens)|add))}] | map(\"\(.l) \(.r)\") | .[]' '$T/c400.jsonl' |
    awk '\$1 == \"en\" { en = \$2 } \$1 == \"id\" { id = \$2 } END { exit !(en > id) }'"

# Properties at three settings (no dedupe, so the text can be put back together).
nz-chunk --no-dedupe <"$T/docs.jsonl" >"$T/p400.jsonl" 2>/dev/null
$Q "$T/docs.jsonl" "$T/p400.jsonl" 400 0 max400
nz-chunk --no-dedupe --max-tokens 128 --min-tokens 20 --overlap 24 <"$T/docs.jsonl" >"$T/p128.jsonl" 2>/dev/null
$Q "$T/docs.jsonl" "$T/p128.jsonl" 128 24 max128_overlap24
nz-chunk --no-dedupe --max-tokens 8191 --min-tokens 0 <"$T/docs.jsonl" >"$T/p8191.jsonl" 2>/dev/null
$Q "$T/docs.jsonl" "$T/p8191.jsonl" 8191 0 max8191
nz-chunk <"$T/docs.jsonl" 2>/dev/null | jq -r .chunk_id >"$T/ids2"
jq -r .chunk_id "$T/c400.jsonl" >"$T/ids1"
check chunk_ids_stable_across_runs cmp "$T/ids1" "$T/ids2"
check dedupe_leaves_no_repeated_text_in_a_doc bash -c "[ -z \"\$(jq -r '[.doc_id, .text] | @json' '$T/c400.jsonl' | sort | uniq -d | head -1)\" ]"

# Bad input: clear errors or correct splits, never a crash.
/usr/bin/python3 -c "
import json, random
random.seed(1)
word = ''.join(random.choice('qwzxkjvbpf') for _ in range(400000))
print(json.dumps({'doc_id': 'big', 'uri': 'x', 'title': 'Huge', 'blocks': [{'kind': 'para', 'level': 0, 'page': 0, 'text': word}]}))
print(json.dumps({'doc_id': 'blank', 'uri': 'y', 'title': 'Blank', 'blocks': [{'kind': 'para', 'level': 0, 'page': 0, 'text': ' \t\n  '}]}))
print(json.dumps({'doc_id': 'noblocks', 'uri': 'z', 'title': 'None'}))
" >"$T/bad.jsonl"
printf '{"doc_id":"utf","uri":"w","blocks":[{"kind":"para","text":"caf\xe9"}]}\n' >>"$T/bad.jsonl"
timeout 120 nz-chunk <"$T/bad.jsonl" >"$T/bad.out" 2>"$T/bad.err"
rc=$?
[ $rc -eq 3 ] && t_ok bad_records_exit_3 || t_fail bad_records_exit_3 "exit $rc"
check huge_word_split_within_limit jq -s -e 'map(select(.doc_id == "big")) | length > 200 and all(.[]; .tokens <= 400) and
    (map(.text) | add | length) == 400000' "$T/bad.out"
check huge_word_has_100k_tokens jq -s -e 'map(select(.doc_id == "big") | .text_tokens) | add > 100000' "$T/bad.out"
check whitespace_only_rejected grep -q '"error":"-: line 2: no text to chunk"' "$T/bad.err"
check no_blocks_rejected grep -q 'line 3: record has no \\"blocks\\" array' "$T/bad.err"
check invalid_utf8_rejected grep -q 'line 4: .*invalid JSON' "$T/bad.err"
expect_exit overlap_too_big_is_usage_error 2 nz-chunk --max-tokens 100 --overlap 60 </dev/null
expect_exit max_tokens_over_model_limit_is_usage_error 2 nz-chunk --max-tokens 9000 </dev/null
