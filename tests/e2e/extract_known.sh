#!/usr/bin/env bash
# nz-extract --known: an incremental run. Sources an earlier run extracted
# and that did not change are noted "unchanged" and not read or written;
# known sources that are gone are noted "gone", not rejected; everything
# else goes as it always did.
source "$(dirname "$0")/lib.sh"
F="$NZ_ROOT/fixtures"

# Fixed mtimes in the past: a rewrite within the second of the first run
# would keep the mtime (the size+mtime check is at whole seconds).
OLD='2024-01-02 03:04:05 UTC'
NEW='2025-06-07 08:09:10 UTC'
mkdir -p "$T/src"
printf '# Alpha\n\nThe alpha document talks about visas and permits.\n' >"$T/src/a.md"
printf 'Bravo is a plain text document about tax registration.\n' >"$T/src/b.txt"
printf 'Charlie explains how a company is set up in Jakarta.\n' >"$T/src/c.txt"
printf 'Delta will be deleted before the second run.\n' >"$T/src/d.txt"
printf 'Echo grows between the runs.\n' >"$T/src/e.txt"
cp "$F/docs/en/business-visa-faq.md.gz" "$T/src/f.md.gz"
touch -d "$OLD" "$T/src"/* && touch -d "$OLD" "$T/ref"

nz-extract -o "$T/first.jsonl" "$T/src" 2>"$T/first.err"
rc=$?
[ $rc -eq 0 ] && t_ok first_run_exit_0 || t_fail first_run_exit_0 "exit $rc: $(tail -c 300 "$T/first.err")"
jq -c '{uri, size: .bytes, mtime, sha256}' "$T/first.jsonl" >"$T/known.jsonl"
check known_file_built bash -c "[ \$(wc -l <'$T/known.jsonl') -eq 6 ]"

# a: other bytes, same size, same mtime: decided by the stat alone, so the
#    change goes unseen (that is the proof that a is not read).
# b: the same bytes, touched: hashed, unchanged, the note has the new mtime.
# c: other bytes of the same size, touched: hashed, differs, extracted.
# d: deleted (named on the command line): gone.
# e: another size: extracted, no hash needed.
# f: a gzip file touched: its sha256 is of the raw bytes, so unchanged.
printf '# Alpha\n\nTHE ALPHA DOCUMENT TALKS ABOUT VISAS AND PERMITS.\n' >"$T/src/a.md"
touch -r "$T/ref" "$T/src/a.md"
touch -d "$NEW" "$T/src/b.txt" "$T/src/f.md.gz"
printf 'Charlie explains how a company is set up in Bandung.\n' >"$T/src/c.txt"
touch -d "$NEW" "$T/src/c.txt"
rm "$T/src/d.txt"
printf 'Echo grew between the runs, by a few words.\n' >"$T/src/e.txt"
check edit_kept_size bash -c "[ \$(stat -c %s '$T/src/a.md') -eq \$(jq -r 'select(.uri|endswith(\"/a.md\")) | .size' '$T/known.jsonl') ]"

run2() {
    nz-extract -j2 --known "$T/known.jsonl" -o "$T/second.jsonl" "$T/src" "$T/src/d.txt" 2>"$T/second.err"
}
run2
rc=$?
[ $rc -eq 0 ] && t_ok second_run_exit_0 || t_fail second_run_exit_0 "exit $rc: $(tail -c 300 "$T/second.err")"
# logsel FILE SELECT FILTER: exactly one log line matches SELECT, and FILTER holds for it.
logsel() { jq -s -e "map(select($2)) | length == 1 and (.[0] | $3)" "$1"; }
# note MSG URI-SUFFIX FILTER: the second run's note about one source.
note() { logsel "$T/second.err" ".msg == \"$1\" and (.uri|endswith(\"$2\"))" "$3"; }
check only_changed_written jq -s -e '[.[].uri | sub(".*/"; "")] == ["c.txt","e.txt"]' "$T/second.jsonl"
check same_size_same_mtime_unchanged note unchanged /a.md '.status == "unchanged" and .level == "info"'
check unchanged_note_fields note unchanged /a.md ".size == $(stat -c %s "$T/src/a.md") and .mtime == \"2024-01-02T03:04:05Z\" and (.uri|startswith(\"file:///\"))"
check touched_same_bytes_unchanged note unchanged /b.txt '.mtime == "2025-06-07T08:09:10Z"'
check gzip_hash_of_raw_bytes note unchanged /f.md.gz '.mtime == "2025-06-07T08:09:10Z"'
check edited_same_size_extracted jqsel "$T/second.jsonl" /c.txt '.blocks[0].text | contains("Bandung")'
check record_sha256_of_raw_bytes jqsel "$T/second.jsonl" /c.txt ".sha256 == \"$(sha256sum "$T/src/c.txt" | cut -c1-64)\""
check missing_known_file_gone note gone /d.txt '.status == "gone" and (.reason|test("No such file"))'
check nothing_rejected bash -c "! jq -e 'select(.level == \"error\")' '$T/second.err' >/dev/null"
check done_line_counts logsel "$T/second.err" '.msg == "done"' '.docs == 2 and .unchanged == 3 and .gone == 1 and .rejected == 0'

# The unchanged file is never opened (only stat'ed): strace, when it works here.
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
    # (LeakSanitizer cannot run under ptrace: leaks are checked by the other runs)
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -e trace=open,openat,openat2 -o "$T/strace.txt" \
        nz-extract -j2 --known "$T/known.jsonl" -o "$T/second.jsonl" "$T/src" "$T/src/d.txt" 2>/dev/null
    check unchanged_file_never_opened bash -c "! grep -q '/a.md\"' '$T/strace.txt' && grep -q '/c.txt\"' '$T/strace.txt'"
fi

# An unknown missing file is still rejected; --known changes nothing for it.
expect_exit unknown_missing_file_rejected 3 nz-extract --known "$T/known.jsonl" "$T/src/never.txt"
check unknown_missing_file_error logsel "$T/exp.err" '.level == "error"' ".uri == \"$T/src/never.txt\" and (.error|test(\"No such file\"))"

# The catalog updated with the second run's records: every file unchanged.
jq -c '{uri, size: .bytes, mtime, sha256}' "$T/second.jsonl" |
    cat "$T/known.jsonl" - | jq -s -c 'group_by(.uri) | map(last) | .[]' >"$T/k2.jsonl"
nz-extract --known "$T/k2.jsonl" -o "$T/third.jsonl" "$T/src" 2>"$T/third.err"
check all_unchanged_nothing_written bash -c "[ ! -s '$T/third.jsonl' ]"
check all_unchanged_counts logsel "$T/third.err" '.msg == "done"' '.docs == 0 and .unchanged == 5 and .gone == 0'

# A malformed --known is a usage error, named with its line.
printf '{"uri":"file:///x","size":1}\n{"uri":"file:///y","mtime":"soon"}\n' >"$T/bad.jsonl"
expect_exit malformed_known_exit_2 2 nz-extract --known "$T/bad.jsonl" "$T/src"
check malformed_known_message logsel "$T/exp.err" '.level == "error"' '.msg | test("bad.jsonl: line 2: .mtime")'
printf '{"uri":"http://x/","etag":"a\\r\\nX: 1"}\n' >"$T/bad.jsonl"
expect_exit header_injection_refused 2 nz-extract --known "$T/bad.jsonl" "$T/src"
printf 'not json\n' >"$T/bad.jsonl"
expect_exit not_json_exit_2 2 nz-extract --known "$T/bad.jsonl" "$T/src"
printf '{"uri":"file:///x"}\n{"uri":"file:///x"}\n' >"$T/bad.jsonl"
expect_exit duplicate_uri_exit_2 2 nz-extract --known "$T/bad.jsonl" "$T/src"
expect_exit missing_known_exit_2 2 nz-extract --known "$T/nonexistent.jsonl" "$T/src"
head -c 70000 /dev/zero | tr '\0' a | sed 's/^/{"uri":"/; s/$/"}/' >"$T/bad.jsonl"
expect_exit long_line_exit_2 2 nz-extract --known "$T/bad.jsonl" "$T/src"

# URLs: validators from --known (no --state), 304 unchanged, 404 gone.
mkdir -p "$T/web"
cp "$F"/web/index.html "$F"/web/page2.html "$T/web/"
nz-testweb --root "$T/web" --port 0 --port-file "$T/web.port" --log "$T/web.log" 2>/dev/null &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/web.port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$T/web.port")"
nz-extract -o "$T/u1.jsonl" "$B/index.html" "$B/page2.html" 2>/dev/null
check url_record_carries_validators jq -s -e 'length == 2 and all(.[]; (.etag|test("^\"[0-9a-f]+-[0-9a-f]+\"$")) and (.last_modified|endswith(" GMT")))' "$T/u1.jsonl"
jq -c '{uri, etag, last_modified}' "$T/u1.jsonl" >"$T/uk.jsonl"
rm "$T/web/page2.html"
: >"$T/web.log"
nz-extract --known "$T/uk.jsonl" -o "$T/u2.jsonl" "$B/index.html" "$B/page2.html" 2>"$T/u2.err"
rc=$?
[ $rc -eq 0 ] && t_ok known_url_404_exit_0 || t_fail known_url_404_exit_0 "exit $rc: $(tail -c 300 "$T/u2.err")"
check known_url_304_unchanged logsel "$T/u2.err" '.msg == "unchanged"' '(.uri|endswith("/index.html")) and .status == "unchanged"'
check known_url_conditional_get bash -c "grep -qx 'GET /index.html 304' '$T/web.log'"
check known_url_404_gone logsel "$T/u2.err" '.msg == "gone"' '(.uri|endswith("/page2.html")) and .reason == "HTTP 404"'
check known_urls_nothing_written bash -c "[ ! -s '$T/u2.jsonl' ]"
check known_urls_done_counts logsel "$T/u2.err" '.msg == "done"' '.docs == 0 and .unchanged == 1 and .gone == 1 and .rejected == 0'
expect_exit unknown_url_404_rejected 3 nz-extract --known "$T/uk.jsonl" "$B/missing.html"
check unknown_url_404_error logsel "$T/exp.err" '.level == "error"' '.error == "HTTP 404" and (.uri|endswith("/missing.html"))'
