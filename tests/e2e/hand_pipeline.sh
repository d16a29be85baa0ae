#!/usr/bin/env bash
# The pipeline a data engineer runs by hand, joined with pipes, and what
# each stage's output must hold.
source "$(dirname "$0")/lib.sh"

nz-extract "$NZ_ROOT/fixtures/docs" >"$T/docs.jsonl" 2>"$T/extract.err"
rc=$?
[ $rc -eq 0 ] && t_ok extract_exit_0 || t_fail extract_exit_0 "exit $rc"
n=$(wc -l <"$T/docs.jsonl")
[ "$n" -eq 18 ] && t_ok extract_all_fixture_docs || t_fail extract_all_fixture_docs "$n docs"
check docs_have_contract_fields jq -s -e 'all(.[]; (.doc_id|test("^[0-9a-f]{32}$")) and (.uri|startswith("file://"))
    and .title != "" and (.mime|test("^(text/(plain|markdown|html)|application/(pdf|xml))$")) and (.lang=="en" or .lang=="id") and (.sha256|length==64)
    and .bytes > 0 and (.mtime|test("Z$")) and (.blocks|length>0))' "$T/docs.jsonl"
check docs_langs_detected bash -c "[ \$(jq -r 'select(.uri|contains(\"/id/\"))|.lang' '$T/docs.jsonl' | sort -u) = id ] &&
    [ \$(jq -r 'select(.uri|contains(\"/en/\"))|.lang' '$T/docs.jsonl' | sort -u) = en ]"
check markdown_headings_are_blocks jq -s -e 'map(select(.mime=="text/markdown")) | length == 11 and
    all(.[]; .blocks | map(select(.kind=="heading")) | length > 1)' "$T/docs.jsonl"

# Unknown fields pass through chunk and embed untouched.
jq -c '. + {"x_batch":"nightly-42"}' "$T/docs.jsonl" >"$T/docs2.jsonl"
nz-chunk <"$T/docs2.jsonl" >"$T/chunks.jsonl" 2>"$T/chunk.err"
rc=$?
[ $rc -eq 0 ] && t_ok chunk_exit_0 || t_fail chunk_exit_0 "exit $rc"
check chunks_within_limit jq -s -e 'all(.[]; .tokens <= 400 and .text_tokens < .tokens)' "$T/chunks.jsonl"
check chunks_have_context jq -s -e 'all(.[]; . as $c | ($c.context|startswith($c.title)) and $c.text != "" and
    ($c.chunk_id|length==32))' "$T/chunks.jsonl"
nz-chunk <"$T/docs2.jsonl" 2>/dev/null | jq -r .chunk_id >"$T/ids2"
jq -r .chunk_id "$T/chunks.jsonl" >"$T/ids1"
check chunk_ids_stable_across_runs cmp "$T/ids1" "$T/ids2"

nz-embed <"$T/chunks.jsonl" >"$T/embedded.jsonl" 2>"$T/embed.err"
rc=$?
[ $rc -eq 0 ] && t_ok embed_exit_0 || t_fail embed_exit_0 "exit $rc"
check embedded_fields jq -s -e 'all(.[]; .model=="nz-hash-v1" and .dim==1536 and (.embedding|length)==8192 and
    .provider=="hash")' "$T/embedded.jsonl"
check unknown_fields_pass_through bash -c "[ \$(jq -r .x_batch '$T/embedded.jsonl' | sort -u) = nightly-42 ]"
check same_count_in_and_out bash -c "[ \$(wc -l <'$T/chunks.jsonl') -eq \$(wc -l <'$T/embedded.jsonl') ]"
nz-embed <"$T/chunks.jsonl" 2>/dev/null >"$T/embedded2.jsonl"
check embed_deterministic cmp "$T/embedded.jsonl" "$T/embedded2.jsonl"

# The whole thing as one pipe, as the README shows it.
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null |
    nz-index build -o "$T/ix" >"$T/build.json" 2>"$T/build.err"
rc=$?
[ $rc -eq 0 ] && t_ok pipe_build_exit_0 || t_fail pipe_build_exit_0 "exit $rc: $(cat "$T/build.err")"
check build_summary jq -e '.count > 40 and .dim == 1536 and (.snapshot|startswith("snap-"))' "$T/build.json"
check verify_accepts nz-index verify "$T/ix"
check current_is_symlink test -L "$T/ix/current"
check manifest_lists_crcs jq -e '.manifest.format_version == 2 and .manifest.embedding.provider == "hash" and
    (.manifest.files|length) == 5 and .manifest.index.kind == "vamana" and all(.manifest.files[]; .crc32 >= 0 and .size > 64)' \
    <(nz-index info "$T/ix")

top() { nz-index query "$T/ix" --text "$1" -k 1 | jq -r '.results[0].uri'; }
# the guide is in the top 2 (BM25 puts the KITAS page, which names NPWP, company, register
# and tax too, first and the guide second; the vectors the other way round; hybrid's default
# weight follows BM25: index/fuse.h)
top2() { nz-index query "$T/ix" --text "$1" -k 2 | jq -r '.results[].uri' | grep /en/npwp-tax-registration.md; }
case "$(top2 'how do I register my company for an NPWP tax number')" in
    */en/npwp-tax-registration.md) t_ok query_english_finds_npwp_guide ;;
    *) t_fail query_english_finds_npwp_guide "$(top 'how do I register my company for an NPWP tax number')" ;;
esac
case "$(top 'berapa tarif PPh final bagi UMKM')" in
    */id/pph-final-umkm.md) t_ok query_indonesian_finds_umkm_guide ;;
    *) t_fail query_indonesian_finds_umkm_guide "$(top 'berapa tarif PPh final bagi UMKM')" ;;
esac
check query_lang_filter bash -c "nz-index query '$T/ix' --text 'visa' -k 20 --lang id | jq -e '(.results|length) > 0 and all(.results[]; .lang == \"id\")'"
vec=$(jq -c '[range(1536)] | map(if . == 3 then 1 else 0 end)' <<<'null')
check query_by_vector bash -c "nz-index query '$T/ix' --vector '$vec' -k 3 | jq -e '.results|length == 3'"

# INDEX_PATH from the environment, when no flag is given.
INDEX_PATH="$T/envix" nz-index build <"$T/embedded.jsonl" >/dev/null 2>&1
check index_path_from_env nz-index verify "$T/envix"
