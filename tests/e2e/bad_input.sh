#!/usr/bin/env bash
# Every stage against bad input: a truncated line, invalid JSON, a wrong
# dimension, an empty input, and the file kinds that break naive readers.
# Each gets a clear error, the right exit code, and never a crash or hang.
source "$(dirname "$0")/lib.sh"

# Reference records from the fixtures.
nz-extract "$NZ_ROOT/fixtures/docs" >"$T/docs.jsonl" 2>/dev/null
nz-chunk <"$T/docs.jsonl" >"$T/chunks.jsonl" 2>/dev/null
nz-embed <"$T/chunks.jsonl" >"$T/emb.jsonl" 2>/dev/null

# rejected_line NAME FILE PATTERN: stderr holds one JSON error naming it.
rejected_line() {
    if jq -e -s --arg p "$3" 'map(select(.level == "error" and (.stage|startswith("nz-")) and has("uri") and
        (.error|test($p)))) | length >= 1' "$2" >/dev/null 2>&1; then t_ok "$1"
    else t_fail "$1" "no JSON error matching /$3/ in: $(tail -c 400 "$2")"; fi
}

# A stream with one good record, a truncated one, invalid JSON, then good.
mixed() { # file
    head -n 1 "$1"
    head -n 1 "$1" | head -c 100; echo
    echo '{"this is": not json}'
    sed -n 2p "$1"
}
mixed "$T/docs.jsonl" >"$T/docs.bad"
mixed "$T/chunks.jsonl" >"$T/chunks.bad"
mixed "$T/emb.jsonl" >"$T/emb.bad"

for stage in chunk embed; do
    src=$([ $stage = chunk ] && echo docs || echo chunks)
    timeout 30 "nz-$stage" <"$T/$src.bad" >"$T/$stage.out" 2>"$T/$stage.err"
    rc=$?
    [ $rc -eq 3 ] && t_ok "${stage}_bad_lines_exit_3" || t_fail "${stage}_bad_lines_exit_3" "exit $rc"
    rejected_line "${stage}_truncated_line_named" "$T/$stage.err" 'line 2: (truncated or )?invalid JSON'
    rejected_line "${stage}_invalid_json_named" "$T/$stage.err" 'line 3: invalid JSON'
    check "${stage}_good_records_kept" test -s "$T/$stage.out"
    expect_exit "${stage}_empty_input_ok" 0 "nz-$stage" </dev/null
    check "${stage}_empty_input_empty_output" test ! -s "$T/exp.out"
done

timeout 30 nz-index build -o "$T/ix" <"$T/emb.bad" >"$T/ix.out" 2>"$T/ix.err"
rc=$?
[ $rc -eq 3 ] && t_ok index_bad_lines_exit_3 || t_fail index_bad_lines_exit_3 "exit $rc"
rejected_line index_truncated_line_named "$T/ix.err" 'line 2: (truncated or )?invalid JSON'
rejected_line index_invalid_json_named "$T/ix.err" 'line 3: invalid JSON'
check index_good_records_published jq -e '.count == 2 and .rejected == 2' "$T/ix.out"
check index_still_verifies nz-index verify "$T/ix"
cur=$(readlink "$T/ix/current")

# Wrong dimension: the record is rejected, the rest indexed.
{ head -n 3 "$T/emb.jsonl"; nz-embed --dim 64 <"$T/chunks.jsonl" 2>/dev/null | head -n 1; } >"$T/dim.jsonl"
expect_exit index_wrong_dimension_exit_3 3 nz-index build -o "$T/ix" "$T/dim.jsonl"
rejected_line index_wrong_dimension_explained "$T/exp.err" 'dimension 64 differs from the index.s 1536'
# A "dim" field that disagrees with the vector.
head -n 1 "$T/emb.jsonl" | jq -c '.dim = 1024' >"$T/dimfield.jsonl"
head -n 1 "$T/emb.jsonl" >>"$T/dimfield.jsonl"
expect_exit index_dim_field_mismatch_exit_3 3 nz-index build -o "$T/ix" "$T/dimfield.jsonl"
rejected_line index_dim_field_mismatch_explained "$T/exp.err" '1536 values but "dim" says 1024'
# NaN in a vector: 0000c07f is a quiet NaN, little-endian.
nan=$(head -c 6144 /dev/zero | tr '\0' 'A' | sed 's/^AAAAAAAA/AADAfwAA/')
head -n 1 "$T/emb.jsonl" | jq -c --arg e "$nan" '.embedding = $e' >"$T/nan.jsonl"
head -n 1 "$T/emb.jsonl" >>"$T/nan.jsonl"
expect_exit index_nan_exit_3 3 nz-index build -o "$T/ix" "$T/nan.jsonl"
rejected_line index_nan_explained "$T/exp.err" 'NaN or infinite'
cur=$(readlink "$T/ix/current")
# Empty input and all-bad input: exit 1, nothing published.
expect_exit index_empty_input_exit_1 1 nz-index build -o "$T/ix" </dev/null
check index_empty_input_says_why grep -q 'no valid vectors' "$T/exp.err"
expect_exit index_all_bad_exit_1 1 nz-index build -o "$T/ix" <"$T/docs.jsonl"
[ "$(readlink "$T/ix/current")" = "$cur" ] && t_ok index_failed_builds_publish_nothing ||
    t_fail index_failed_builds_publish_nothing "current moved"
# embed: a record without text, and one with only white space.
printf '%s\n' '{"chunk_id":"a","doc_id":"b"}' '{"chunk_id":"a","doc_id":"b","text":"  \n "}' >"$T/notext.jsonl"
expect_exit embed_missing_text_exit_3 3 nz-embed "$T/notext.jsonl"
rejected_line embed_missing_text_explained "$T/exp.err" 'line 1: record has no "text"'
rejected_line embed_blank_text_explained "$T/exp.err" 'line 2: empty text is never embedded'
# chunk: a record without blocks.
echo '{"doc_id":"abc","uri":"file:///x"}' >"$T/noblocks.jsonl"
expect_exit chunk_no_blocks_exit_3 3 nz-chunk "$T/noblocks.jsonl"
rejected_line chunk_no_blocks_explained "$T/exp.err" 'no "blocks" array'
# Over-long line.
{ printf '{"doc_id":"x","blocks":[{"kind":"para","text":"'; head -c 5000 /dev/zero | tr '\0' a; echo '"}]}'; } >"$T/long.jsonl"
expect_exit chunk_overlong_line_exit_3 3 nz-chunk --max-line 2048 "$T/long.jsonl"
rejected_line chunk_overlong_line_explained "$T/exp.err" 'line 1: longer than the limit of 2048 bytes'
# A missing input file is one rejected input.
expect_exit chunk_missing_file_exit_3 3 nz-chunk "$T/nope.jsonl"

# nz-extract against hostile files: each is rejected alone, the good one kept.
mkdir -p "$T/in"
cp "$NZ_ROOT/fixtures/docs/en/visa-types.md" "$T/in/good.md"
: >"$T/in/empty.txt"
head -c 1500 /dev/urandom >"$T/in/random.pdf"
printf 'caf\xe9 au lait\n' >"$T/in/latin1.txt"
printf ' \n\t\n  \n' >"$T/in/blank.txt"
mkfifo "$T/in/fifo"
ln -s loop1 "$T/in/loop2"; ln -s loop2 "$T/in/loop1"
mkdir -p "$T/in/dir"; ln -s .. "$T/in/dir/up"
head -c 3000 /dev/zero | tr '\0' x >"$T/in/toobig.txt"
timeout 30 nz-extract --max-bytes 2000 "$T/in" >"$T/ex.out" 2>"$T/ex.err"
rc=$?
[ $rc -eq 3 ] && t_ok extract_bad_files_exit_3 || t_fail extract_bad_files_exit_3 "exit $rc"
check extract_good_file_kept jq -s -e 'map(select(.uri|endswith("/good.md")))[0].title == "Indonesian Visa Types for Foreign Nationals"' "$T/ex.out"
check extract_only_good_files jq -s -e 'length == 2' "$T/ex.out"
check extract_latin1_falls_back_to_cp1252 jq -s -e 'map(select(.uri|endswith("/latin1.txt")))[0] |
    .charset == "WINDOWS-1252" and (.charset_note|test("not valid UTF-8")) and .blocks[0].text == "café au lait"' "$T/ex.out"
rejected_line extract_empty_file "$T/ex.err" '^empty file$'
rejected_line extract_binary_file "$T/ex.err" 'binary|invalid UTF-8'
rejected_line extract_whitespace_only "$T/ex.err" 'only white space'
rejected_line extract_fifo "$T/ex.err" 'not a regular file \(FIFO\)'
rejected_line extract_symlink_loop "$T/ex.err" 'symlink loop'
rejected_line extract_too_big "$T/ex.err" 'exceeds --max-bytes 2000'
check extract_one_error_line_each bash -c "[ \$(grep -c '\"level\":\"error\"' '$T/ex.err') -eq 8 ]"
expect_exit extract_no_sources_usage 2 nz-extract
expect_exit extract_missing_file_exit_3 3 nz-extract "$T/does-not-exist.txt"
rejected_line extract_missing_file_explained "$T/exp.err" 'No such file'
# a 50 MB single-line text file is read, not choked on
head -c 50000000 /dev/zero | tr '\0' 'a' >"$T/oneline.txt"
expect_exit extract_50mb_single_line 0 timeout 60 nz-extract "$T/oneline.txt"
# A document past --max-memory costs only that document: the 50 MB line
# needs several copies of itself; a worker process maps ~100 MB of code and
# libraries. (Not under ASan, which needs terabytes of address space.)
if [ "${NZ_SANITIZED:-0}" != 1 ]; then
    timeout 60 nz-extract -j2 --max-memory 200000000 "$T/oneline.txt" "$NZ_ROOT/fixtures/docs" \
        >"$T/mm.jsonl" 2>"$T/mm.err"
    rc=$?
    [ $rc -eq 3 ] && t_ok extract_max_memory_exit_3 || t_fail extract_max_memory_exit_3 "exit $rc: $(tail -c 300 "$T/mm.err")"
    rejected_line extract_max_memory_rejects_the_big_one "$T/mm.err" 'memory'
    check extract_max_memory_keeps_the_others bash -c "[ \$(grep -c . '$T/mm.jsonl') -eq \$(grep -c . '$T/docs.jsonl') ]"
fi

# Usage errors are exit 2 everywhere.
for b in nz-extract nz-chunk nz-embed nz-serve nz-pipeline; do
    expect_exit "${b}_bad_flag_exit_2" 2 "$b" --no-such-flag
done
expect_exit index_unknown_command_exit_2 2 nz-index frob
expect_exit embed_bad_dim_exit_2 2 nz-embed --dim 0
expect_exit embed_unknown_provider_exit_2 2 nz-embed --provider magic

# -o onto a device writes through it; it never replaces it with a file.
expect_exit output_to_dev_null 0 nz-extract -o /dev/null "$NZ_ROOT/fixtures/docs"
check dev_null_still_a_device test -c /dev/null
expect_exit output_to_directory_fails 1 nz-chunk -o "$T" "$T/docs.jsonl"

# An unreadable file. As root, permissions do not stop a read, so use a file
# whose read(2) fails: /proc/self/mem at offset 0 gives EIO. As another
# user, a mode-000 file is tried as well.
expect_exit extract_unreadable_exit_3 3 nz-extract /proc/self/mem "$NZ_ROOT/fixtures/docs/en/visa-types.md"
rejected_line extract_unreadable_explained "$T/exp.err" 'read error: Input/output error'
check extract_unreadable_others_kept jq -s -e 'length == 1' "$T/exp.out"
if [ "$(id -u)" -ne 0 ]; then
    echo secret >"$T/noread.txt"; chmod 000 "$T/noread.txt"
    expect_exit extract_mode_000_exit_3 3 nz-extract "$T/noread.txt"
    rejected_line extract_mode_000_explained "$T/exp.err" 'Permission denied'
fi
