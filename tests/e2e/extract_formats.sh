#!/usr/bin/env bash
# nz-extract on every format it reads, on the hostile inputs the issue
# names, and on URLs served by a real HTTP server on loopback.
source "$(dirname "$0")/lib.sh"
F="$NZ_ROOT/fixtures"

nz-extract "$F/docs" >"$T/docs.jsonl" 2>"$T/docs.err"
rc=$?
[ $rc -eq 0 ] && t_ok all_fixture_formats_exit_0 || t_fail all_fixture_formats_exit_0 "exit $rc: $(tail -c 300 "$T/docs.err")"
doc() { jq -c --arg s "$1" 'select(.uri|endswith($s))' "$T/docs.jsonl"; }
check formats_sniffed_from_bytes bash -c "[ \"\$(jq -r .mime '$T/docs.jsonl' | sort -u | tr '\n' ' ')\" = 'application/pdf application/xml text/html text/markdown text/plain ' ]"

# PDF: metadata, pages, headings, hyphenation, running headers, columns.
doc /peraturan-pendaftaran-npwp.pdf >"$T/reg.json"
check pdf_metadata jq -e '.title == "Peraturan Menteri Keuangan tentang Pendaftaran Wajib Pajak" and
    .author == "Kementerian Keuangan" and (.created|startswith("2025-01-15T09:30:00")) and .pages == 4 and .lang == "id"' "$T/reg.json"
check pdf_blocks_carry_pages jq -e '[.blocks[].page] | (min == 1) and (max == 4)' "$T/reg.json"
check pdf_legal_headings jq -e '[.blocks[] | select(.kind == "heading") | .text] | index("BAB I") != null and index("Pasal 3") != null' "$T/reg.json"
check pdf_items_are_list_blocks jq -e '[.blocks[] | select(.kind == "list") | .text] | any(startswith("(1) Setiap Wajib Pajak"))' "$T/reg.json"
check pdf_hyphen_joined jq -e '[.blocks[].text] | join(" ") | (contains("kewajibannya") and contains("mendaftarkan diri") and
    contains("diverifikasi") and (contains("kewa-") | not))' "$T/reg.json"
check pdf_real_hyphen_kept jq -e '[.blocks[].text] | join(" ") | contains("e-KTP adalah")' "$T/reg.json"
check pdf_running_header_dropped jq -e '[.blocks[].text] | join(" ") | (contains("SALINAN PERATURAN") or contains("Halaman")) | not' "$T/reg.json"
check pdf_ligatures_expanded jq -e '[.blocks[].text] | join(" ") | (contains("fiskal") and contains("fleksibel") and (test("[\ufb00-\ufb06]") | not))' "$T/reg.json"
check pdf_columns_not_interleaved jq -e '[.blocks[] | select(.page == 4 and .kind == "para") | .text] |
    length == 2 and (.[0] | startswith("Kolom kiri") and endswith("penutup kolom kiri.")) and
    (.[1] | startswith("Kolom kanan") and endswith("berakhir di sini."))' "$T/reg.json"
doc /visa-guide.pdf >"$T/guide.json"
check pdf_paragraph_rebuilt jq -e '[.blocks[] | select(.kind == "para")][0].text | (contains("Indonesia.") and contains("official fee") and contains("first obtains"))' "$T/guide.json"
check pdf_bullets jq -e '[.blocks[] | select(.kind == "list")] | length == 2' "$T/guide.json"

# HTML: boilerplate gone, structure kept, charset converted.
doc /kitas-renewal-guide.html >"$T/kitas.json"
check html_title_and_lang jq -e '.title == "Renewing a KITAS: Step-by-Step Guide" and .lang == "en"' "$T/kitas.json"
check html_no_boilerplate bash -c "! grep -Eq 'SCRIPT-TEXT|secret-style-marker|HEADER-TEXT|NAV-TEXT|ASIDE-TEXT|FORM-TEXT|NOSCRIPT-TEXT|FOOTER-TEXT' '$T/kitas.json'"
check html_headings jq -e '[.blocks[] | select(.kind == "heading") | "\(.level):\(.text)"] == ["1:Renewing a KITAS","2:Documents you need","2:Fees","3:Checking the status"]' "$T/kitas.json"
check html_list_items jq -e '[.blocks[] | select(.kind == "list")] | length == 3' "$T/kitas.json"
check html_table_rows jq -e '[.blocks[] | select(.kind == "table")][0].text == "Permit | Duration | Fee (IDR)\nKITAS (work) | 6 months | 1,500,000\nKITAS (work) | 1 year | 2,500,000"' "$T/kitas.json"
check html_code_keeps_lines jq -e '[.blocks[] | select(.kind == "code")][0].text | contains("KITAS-2025-0042\n  --header")' "$T/kitas.json"
check html_ligatures_expanded jq -e '[.blocks[].text] | join(" ") | contains("official application is filed")' "$T/kitas.json"
doc /panduan-npwp-badan.html >"$T/npwp.json"
check html_meta_charset_converted jq -e '.charset == "windows-1252" and ([.blocks[].text] | join(" ") | contains("menu “Daftar NPWP Badan”") and contains("kerja – biasanya"))' "$T/npwp.json"
check xml_structure jqsel "$T/docs.jsonl" '.xml' '.title == "Peraturan Pemerintah tentang Pajak Penghasilan Usaha Mikro" and
    ([.blocks[] | select(.kind == "heading") | .text] | index("Pasal 2") != null) and .lang == "id"'
check gzip_inner_type_sniffed jqsel "$T/docs.jsonl" '.md.gz' '.mime == "text/markdown" and .encoding == "gzip" and .title == "Business Visa FAQ"'

# The same output on 1 worker and on 4.
nz-extract -j1 "$F/docs" >"$T/j1.jsonl" 2>/dev/null
nz-extract -j4 "$F/docs" >"$T/j4.jsonl" 2>/dev/null
check output_order_independent_of_workers cmp "$T/j1.jsonl" "$T/j4.jsonl"

# Hostile inputs: each rejected alone with a clear reason.
mkdir -p "$T/bad"
cp "$F"/bad/* "$T/bad/"
head -c 20000000 /dev/zero | gzip -c >"$T/bad/bomb.txt.gz"
{ printf '<html><body>'; for _ in $(seq 1 2000); do printf '<div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div><div>'; done; printf 'deep'; printf '</body></html>'; } >"$T/bad/deep.html"
head -c 3000 /dev/urandom >"$T/bad/random.pdf"
timeout 60 nz-extract --max-bytes 10000000 "$T/bad" >"$T/bad.jsonl" 2>"$T/bad.err"
rc=$?
[ $rc -eq 3 ] && t_ok hostile_inputs_exit_3 || t_fail hostile_inputs_exit_3 "exit $rc"
reason() { jq -r --arg s "$1" 'select(.level == "error" and (.uri|endswith($s))) | .error' "$T/bad.err"; }
expect_reason() { # name file pattern
    local r; r=$(reason "$2")
    if grep -Eq "$3" <<<"$r"; then t_ok "$1"; else t_fail "$1" "for $2 got: ${r:-no error line}"; fi
}
expect_reason pdf_user_password_rejected /user-password.pdf '^encrypted PDF: it needs a user password'
expect_reason pdf_truncated_rejected /truncated.pdf '^damaged PDF'
expect_reason pdf_damaged_rejected /damaged.pdf '^damaged PDF'
expect_reason random_bytes_named_pdf_rejected /random.pdf 'unsupported binary content'
expect_reason gzip_bomb_rejected /bomb.txt.gz 'gzip output exceeds --max-bytes 10000000'
expect_reason gzip_truncated_rejected /truncated.md.gz 'truncated gzip stream'
expect_reason html_200000_levels_rejected /deep.html 'nested deeper than'
check pdf_owner_password_only_read jqsel "$T/bad.jsonl" '/owner-password-only.pdf' '.pages == 4 and (.blocks|length) > 10'
check wrong_charset_declaration_recovered jqsel "$T/bad.jsonl" '/wrong-charset.html' '.charset == "WINDOWS-1252" and
    (.charset_note|contains("declared UTF-8")) and (.blocks[0].text|contains("Café di Jakarta: harga € 15.000."))'
check ligature_text_expanded jqsel "$T/bad.jsonl" '/ligatures.txt' '.blocks[0].text == "Ligatures from a copy-paste: the final office flow."'

# URLs against a real server on loopback.
nz-testweb --root "$F/web" --port 0 --port-file "$T/web.port" --log "$T/web.log" 2>/dev/null &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/web.port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/web.port")"
timeout 60 nz-extract --state "$T/state" --url-timeout 2 --max-bytes 2000000 \
    "$B/index.html" "$B/guide.pdf" "$B/faq.md.gz" "$B/hop" "$B/latin1" "$B/missing.html" \
    "$B/loop" "$B/slow" "$B/big" >"$T/urls.jsonl" 2>"$T/urls.err"
rc=$?
[ $rc -eq 3 ] && t_ok urls_exit_3 || t_fail urls_exit_3 "exit $rc"
check urls_good_ones_kept jq -s -e '[.[].uri | sub("^http://[^/]+"; "")] == ["/index.html","/guide.pdf","/faq.md.gz","/hop","/latin1"]' "$T/urls.jsonl"
check url_pdf_extracted jqsel "$T/urls.jsonl" '/guide.pdf' '.mime == "application/pdf" and .pages == 3'
check url_redirect_followed jqsel "$T/urls.jsonl" '/hop' '.title == "Moved Page"'
check url_http_charset_header jqsel "$T/urls.jsonl" '/latin1' '.title == "Café Ketentuan" and .charset == "windows-1252" and
    (.blocks[0].text == "Biaya visa “khusus”")'
BADR=$T/urls.err
reason() { jq -r --arg s "$1" 'select(.level == "error" and (.uri|endswith($s))) | .error' "$BADR"; }
expect_reason url_404 /missing.html '^HTTP 404$'
expect_reason url_redirect_loop /loop 'too many redirects'
expect_reason url_timeout /slow 'timed out after 2 s'
expect_reason url_size_cap /big 'larger than --max-bytes 2000000'
check user_agent_and_state_saved bash -c "ls '$T/state'/*.json >/dev/null && [ \$(ls '$T/state' | wc -l) -ge 3 ]"
# Second run: conditional GETs, nothing fetched again.
: >"$T/web.log"
nz-extract --state "$T/state" "$B/index.html" "$B/guide.pdf" >"$T/again.jsonl" 2>"$T/again.err"
rc=$?
[ $rc -eq 0 ] && t_ok unchanged_exit_0 || t_fail unchanged_exit_0 "exit $rc"
check unchanged_not_emitted test ! -s "$T/again.jsonl"
check unchanged_reported bash -c "[ \$(jq -r 'select(.msg == \"unchanged\") | .status' '$T/again.err' | grep -c unchanged) -eq 2 ]"
check conditional_get_304 bash -c "[ \$(grep -c ' 304\$' '$T/web.log') -eq 2 ]"
# Sitemaps expand to their pages; a sitemap index nests.
nz-extract "$B/sitemap.xml" >"$T/sm.jsonl" 2>/dev/null
check sitemap_expands jq -s -e '[.[].title] == ["Investment Coordinating Board FAQ","Tanya Jawab Perpajakan"]' "$T/sm.jsonl"
nz-extract "$B/sitemap-index.xml" >"$T/smi.jsonl" 2>/dev/null
check sitemap_index_expands jq -s -e 'length == 2' "$T/smi.jsonl"

# A document that outlives --timeout: its worker is killed, the rest go on.
timeout 60 nz-extract --timeout 1 --url-timeout 30 "$B/slow" "$F/docs/en/visa-types.md" >"$T/to.jsonl" 2>"$T/to.err"
rc=$?
[ $rc -eq 3 ] && t_ok slow_document_exit_3 || t_fail slow_document_exit_3 "exit $rc"
BADR=$T/to.err
expect_reason slow_document_timed_out /slow 'timed out after 1 s \(--timeout\)'
check other_documents_survive_timeout jq -s -e 'length == 1' "$T/to.jsonl"
