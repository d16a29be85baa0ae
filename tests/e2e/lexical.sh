#!/usr/bin/env bash
# The lexical index end to end (issue 14): real pages through nz-extract,
# nz-chunk and nz-embed (hash), then nz-index. Each code (KITAS, KITAP,
# E33G, PT PMA, Pasal 12 ayat (3), PP 28/2025, PMK-81/2024) is planted in
# one page among distractor pages holding its pieces; it must come first
# in lexical and hybrid mode, from the CLI and over HTTP. Also: found_by,
# modes and their refusals (exit 2, HTTP 400), --queries, stemming
# (perpajakan meets pajak), filters, verify catching a corrupt
# lexical.bin, build --base covering every row, export/import and
# push/pull carrying lexical.bin.
source "$(dirname "$0")/lib.sh"

D="$T/docs"
mkdir -p "$D"
page() { # name lang title text...
    local name=$1 lang=$2 title=$3
    shift 3
    printf -- '---\nlang: %s\n---\n# %s\n\n%s\n' "$lang" "$title" "$*" >"$D/$name.md"
}
# the planted pages
page kitas id "Izin tinggal" "Perpanjangan KITAS bagi tenaga kerja asing diajukan ke kantor imigrasi."
page kitap id "Izin menetap" "Pemegang KITAP dapat tinggal tanpa batas waktu setelah lima tahun."
page e33g en "Remote worker visa" "The E33G visa lets a remote worker live in Bali for a year."
page ptpma id "Pendirian perusahaan" "Investor asing mendirikan PT PMA dengan modal disetor minimal."
page pasal id "Ketentuan upah" "Menurut Pasal 12 ayat (3) upah lembur dibayar penuh."
page pp28 id "Perizinan berusaha" "PP 28/2025 mengatur perizinan berusaha berbasis risiko."
page pmk81 id "Pajak penghasilan" "PMK-81/2024 mengatur tata cara perpajakan bagi wajib pajak."
# distractors: each holds pieces of a code, never the whole
page d1 id "Izin keluarga" "Anak pemegang izin tinggal ikut kita ke kantor imigrasi; turis cukup memakai visa kunjungan."
page d2 en "Visa forms" "Form E-33 G and form 33G are old visa forms; E33 is retired. A remote worker applies online."
page d3 id "Badan usaha" "Sebuah PT dimiliki warga negara."
page d4 id "PT terbuka" "Sebuah PT terbuka mencatatkan saham di bursa."
page d5 id "Penanaman modal" "Fasilitas PMA mencakup keringanan bea masuk."
page d6 id "Ketentuan cuti" "Pasal 12 mengatur cuti tahunan. Ayat (1) menyebut dua belas hari."
page d7 id "Ketentuan lembur" "Pasal 5 ayat (3) mengatur lembur pada hari libur."
page d8 id "Perizinan lama" "PP 28/2024 dicabut; PP 5/2025 dan PP 28 tahun 2021 masih berlaku."
page d9 id "Aturan pajak" "PMK-80/2024 dan PMK 81 tahun 2023 mengatur pajak; aturan 81/2025 juga."
page d10 id "Perpajakan umum" "Pajaknya dihitung dari penghasilan neto wajib pajak."
page d11 en "Company forms" "A foreign owned company and a local company differ in capital."
page d12 en "Stay permits" "Stay permits and residence permits for families of workers."

nz-extract "$D" 2>"$T/extract.err" | nz-chunk 2>/dev/null | nz-embed 2>/dev/null >"$T/emb.jsonl"
check corpus_embedded bash -c "[ \$(jq -s 'map(.doc_id) | unique | length' '$T/emb.jsonl') -eq 19 ]"
nz-index build -o "$T/ix" "$T/emb.jsonl" >"$T/build.json" 2>"$T/build.err" || t_fail build "$(tail -c 300 "$T/build.err")"
nz-index info "$T/ix" >"$T/info.json"
check manifest_lists_lexical jq -e '([.manifest.files[].name] | index("lexical.bin")) and .manifest.lexical.kind == "bm25" and .manifest.lexical.k1 == 1.2 and .manifest.lexical.b == 0.75 and .manifest.lexical.stem == ["id", "en"]' "$T/info.json"
check verify_ok nz-index verify "$T/ix"

# ---- the probes: first in lexical and hybrid
first_uri() { # mode text -> the first result's file name
    nz-index query "$T/ix" --mode "$1" --text "$2" -k 5 | jq -r '.results[0].uri | sub(".*/"; "")'
}
probe() { # name page text
    local got
    for mode in lexical hybrid; do
        got=$(first_uri "$mode" "$3")
        if [ "$got" = "$2.md" ]; then t_ok "probe_${1}_$mode"; else t_fail "probe_${1}_$mode" "first is $got"; fi
    done
}
probe kitas kitas "KITAS"
probe kitap kitap "KITAP"
probe e33g e33g "E33G"
probe pt_pma ptpma "PT PMA"
probe pasal pasal "Pasal 12 ayat (3)"
probe pp28 pp28 "PP 28/2025"
probe pmk81 pmk81 "PMK-81/2024"

# ---- answers: found_by, mode, scores
nz-index query "$T/ix" --text "PMK-81/2024" -k 5 >"$T/hy.json"
check hybrid_is_default_for_text jq -e '.mode == "hybrid"' "$T/hy.json"
check found_by_names_lists_and_ranks jq -e '.results[0].found_by.lexical == 1 and all(.results[]; (.found_by | keys - ["dense", "lexical"]) == [] and (.found_by | length) >= 1)' "$T/hy.json"
# weighted RRF, the default weight 0.9 (index/fuse.h): 2(1 - w)/(60 + dense) + 2w/(60 + lexical)
check hybrid_score_is_rrf jq -e 'all(.results[]; .score == ((if .found_by.dense then 0.2 / (60 + .found_by.dense) else 0 end) + (if .found_by.lexical then 1.8 / (60 + .found_by.lexical) else 0 end) | . * 1000000 | round / 1000000))' "$T/hy.json"
nz-index query "$T/ix" --text "PMK-81/2024" --mode lexical -k 3 >"$T/lx.json"
check lexical_found_by_only_lexical jq -e '.mode == "lexical" and all(.results | to_entries[]; .value.found_by == {"lexical": (.key + 1)}) and .results[0].score > .results[1].score' "$T/lx.json"
check weight_one_is_lexical_order bash -c "[ \"\$(nz-index query '$T/ix' --text 'PMK-81/2024' --weight 1 -k 3 | jq -c '[.results[].chunk_id]')\" = \"\$(jq -c '[.results[].chunk_id]' '$T/lx.json')\" ]"
vec=$(jq -c 'select(.uri | endswith("kitas.md")) | .vector' "$T/emb.jsonl" | head -1)
check vector_defaults_to_dense bash -c "nz-index query '$T/ix' --vector '$vec' -k 1 | jq -e '.mode == \"dense\" and .results[0].found_by == {\"dense\": 1}'"
expect_exit unknown_mode_is_usage 2 nz-index query "$T/ix" --text "KITAS" --mode fuzzy
expect_exit lexical_vector_is_usage 2 nz-index query "$T/ix" --vector "$vec" --mode lexical
expect_exit bad_weight_is_usage 2 nz-index query "$T/ix" --text "KITAS" --weight 2

# ---- stemming: perpajakan, pajak and pajaknya meet (Indonesian rows)
check stem_id_meets bash -c "nz-index query '$T/ix' --mode lexical --text perpajakan -k 10 | jq -e '[.results[].uri | sub(\".*/\"; \"\")] | index(\"d10.md\") and index(\"d9.md\") and index(\"pmk81.md\")'"
check stem_en_meets bash -c "nz-index query '$T/ix' --mode lexical --text 'permit' -k 3 | jq -e '.results[0].uri | endswith(\"d12.md\")'"
# ---- filters apply as in dense search
check lang_filter bash -c "nz-index query '$T/ix' --mode lexical --text 'visa remote worker' --lang en -k 10 | jq -e '(.results | length) > 0 and all(.results[]; .lang == \"en\")'"
check uri_filter bash -c "nz-index query '$T/ix' --mode hybrid --text 'PMK-81/2024' --uri-prefix 'file://$D/d9' -k 10 | jq -e '(.results | length) > 0 and all(.results[]; .uri | endswith(\"d9.md\"))'"

# ---- --queries: a line per request, an answer line each, timings on stderr
printf '%s\n' '{"query":"KITAP"}' '{"query":"E33G","mode":"lexical"}' '{"query":"x","mode":"nope"}' >"$T/q.jsonl"
expect_exit queries_file_refused_line_exit_3 3 nz-index query "$T/ix" --queries "$T/q.jsonl" --mode lexical -k 2
check queries_answers_in_order jq -s -e '(length == 3) and (.[0].mode == "lexical") and (.[0].results[0].uri | endswith("kitap.md")) and (.[1].results[0].uri | endswith("e33g.md")) and (.[2].line == 3 and (.[2].error | test("mode")))' "$T/exp.out"
check queries_timings_line bash -c "jq -e 'select(.msg == \"queries\") | .answered == 2 and .rejected == 1 and .p50_ms >= 0' '$T/exp.err'"

# ---- HTTP: mode, found_by, 400 for an unknown mode
hq() { # body: sets STATUS, the body in $T/body
    http POST /v1/query "$1" >"$T/resp"
    STATUS=$(tail -n 1 "$T/resp")
    head -n -1 "$T/resp" >"$T/body"
}
start_server "$T/ix"
hq '{"query":"PT PMA","mode":"lexical","k":3}'
check http_lexical bash -c "[ '$STATUS' = 200 ] && jq -e '.mode == \"lexical\" and (.results[0].uri | endswith(\"ptpma.md\")) and .results[0].found_by.lexical == 1' '$T/body'"
hq '{"query":"Pasal 12 ayat (3)"}'
check http_hybrid_default bash -c "[ '$STATUS' = 200 ] && jq -e '.mode == \"hybrid\" and (.results[0].uri | endswith(\"pasal.md\"))' '$T/body'"
hq '{"query":"KITAS","mode":"sparse"}'
check http_unknown_mode_400 bash -c "[ '$STATUS' = 400 ] && grep -q mode '$T/body'"
hq '{"query":"KITAS","weight":"heavy"}'
check http_bad_weight_400 bash -c "[ '$STATUS' = 400 ]"

# ---- verify catches a corrupt lexical.bin
bad="$T/bad/$(basename "$(readlink -f "$T/ix/current")")" # verify checks the folder's name
mkdir -p "$T/bad" && cp -r "$(readlink -f "$T/ix/current")" "$bad"
printf '\x7f' | dd of="$bad/lexical.bin" bs=1 seek=$(($(stat -c %s "$bad/lexical.bin") - 3)) conv=notrunc 2>/dev/null
expect_exit verify_corrupt_lexical 1 nz-index verify "$bad"
check verify_names_lexical grep -q lexical.bin "$T/exp.err"

# ---- build --base: the new snapshot's lexical index covers every row
page new id "Aturan baru" "Kode unik ZX9-77/2026 untuk aturan baru."
nz-extract "$D/new.md" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null >"$T/new.jsonl"
expect_exit build_base 0 nz-index build -o "$T/ix2" --base "$T/ix" "$T/new.jsonl"
check base_new_row_found bash -c "nz-index query '$T/ix2' --mode lexical --text 'ZX9-77/2026' -k 1 | jq -e '.results[0].uri | endswith(\"new.md\")'"
check base_carried_row_found bash -c "nz-index query '$T/ix2' --mode lexical --text 'PMK-81/2024' -k 1 | jq -e '.results[0].uri | endswith(\"pmk81.md\")'"
check base_terms_cover_all bash -c "nz-index info '$T/ix2' | jq -e --argjson n \$(jq .manifest.lexical.postings '$T/info.json') '.manifest.lexical.postings > \$n and .manifest.count == ($(jq .manifest.count "$T/info.json") + 1)'"
expect_exit build_stem_none 0 nz-index build -o "$T/ix3" --stem none --bm25-k1 0.9 --bm25-b 0.4 "$T/emb.jsonl"
check stem_none_recorded bash -c "nz-index info '$T/ix3' | jq -e '.manifest.lexical.stem == [] and .manifest.lexical.k1 == 0.9 and .manifest.lexical.b == 0.4'"
check stem_none_no_meeting bash -c "nz-index query '$T/ix3' --mode lexical --text perpajakan -k 10 | jq -e '[.results[].uri | sub(\".*/\"; \"\")] == [\"pmk81.md\"]'"
expect_exit build_bad_stem 2 nz-index build -o "$T/ix4" --stem fr "$T/emb.jsonl"
expect_exit build_bad_k1 2 nz-index build -o "$T/ix4" --bm25-k1 -1 "$T/emb.jsonl"

# ---- export/import carry lexical.bin
expect_exit export 0 nz-index export "$T/ix" -o "$T/ix.tar.gz"
expect_exit import 0 nz-index import "$T/ix.tar.gz" -o "$T/imp"
check imported_verifies nz-index verify "$T/imp"
check imported_lexical_byte_identical cmp "$T/ix/current/lexical.bin" "$T/imp/current/lexical.bin"
check imported_lexical_answers bash -c "nz-index query '$T/imp' --mode lexical --text 'E33G' -k 1 | jq -e '.results[0].uri | endswith(\"e33g.md\")'"

# ---- push/pull carry it too (s3rver on loopback)
if start_s3 lx; then
    expect_exit push 0 nz-index push -o "$T/ix" s3://lx/p
    expect_exit pull 0 nz-index pull -o "$T/pulled" s3://lx/p
    check pulled_lexical_byte_identical cmp "$T/ix/current/lexical.bin" "$T/pulled/current/lexical.bin"
    check pulled_verifies nz-index verify "$T/pulled"
else
    t_fail s3rver "could not start s3rver: $(tail -c 300 "$T/s3rver.log" "$T/npm.log" 2>/dev/null)"
fi
