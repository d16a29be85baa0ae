#!/usr/bin/env bash
# nz-pipeline run, incremental: the nightly job against the OpenAI-compatible
# mock (its request log is the proof of what was sent) and nz-testweb (real
# HTTP with ETag and 304), on SQLite and on a real PostgreSQL 15.
#   first run; an unchanged re-run (zero requests, nothing published, URLs
#   answering 304 carried over); one paragraph of one PDF changed (only its
#   changed chunks sent); a file deleted (its chunks gone, every other row
#   byte-identical); --keep-missing; a URL gone (404); --full equals the
#   incremental snapshot; a run killed between publishing and recording is
#   repaired by the next; the catalog and the snapshot always agree.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
KEY="sk-test-NUZANTARA-SECRET-0123456789"
export OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai

start_mock
mkdir -p "$T/web"
nz-testweb --root "$T/web" --port 0 --port-file "$T/web.port" --log "$T/web.log" 2>/dev/null &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/web.port" ] && break; sleep 0.05; done
WEB="http://127.0.0.1:$(cat "$T/web.port")"
for p in 1 2 3; do
    printf '<html><head><title>Guide page %s</title></head><body><h1>Permit step %s</h1><p>Step %s of the investment permit: the applicant files form %s with the OSS system and waits for the approval of BKPM.</p></body></html>\n' \
        "$p" "$p" "$p" "$p" >"$T/web/page$p.html"
done

# A PDF of three pages (tools/mkpdf.py's writer); $2 = the text of page 3.
mkpdf() { # path page3text
    "$PY" - "$NZ_ROOT/tools" "$1" "$2" <<'PYEOF'
import sys
sys.path.insert(0, sys.argv[1])
import mkpdf
pdf = mkpdf.Pdf("Investor Guide", "NUZANTARA", "20250301120000Z")
pages = [
    [("heading1", "Company Forms"),
     ("para", "A foreign investor sets up a PT PMA, a limited liability company with foreign capital. "
              "The minimum paid-up capital is set by regulation and must be deposited before licensing.")],
    [("heading1", "Business Licences"),
     ("para", "Every business obtains a Business Identification Number through the OSS system. "
              "Higher-risk activities also need a permit or a certificate from the ministry in charge.")],
    [("heading1", "Tax Registration"), ("para", sys.argv[3])],
]
for i, body in enumerate(pages, 1):
    mkpdf.wrap_page(pdf, "Investor Guide", "Page %d" % i, body)
pdf.write(sys.argv[2])
PYEOF
}

dump() { snapshot_dump "$@"; }

inputs() { jq -s 'map(select(.status == 200) | .inputs) | add // 0' "$T/mock.log"; }

# The catalog and the published snapshot agree: the chunk ids of every
# source are exactly the snapshot's rows.
agree() { # label root
    cmp -s <(nz-pipeline sources -o "$2" --format json | jq -r '.chunk_ids[]' | sort) \
        <(dump "$2/current" | cut -d' ' -f2 | sort)
}

scenarios() { # label: its own folder, catalog and embedding cache
    local L=$1 D="$T/$1" before after cur
    mkdir -p "$D/src"
    cp -r "$NZ_ROOT/fixtures/docs/en" "$D/src/"
    mkpdf "$D/src/en/investor-guide.pdf" "Every company registers for a tax number, NPWP, with the tax office where it is domiciled. Monthly returns are filed online."
    printf '%s\n' "$D/src" "$WEB/page1.html" "$WEB/page2.html" "$WEB/page3.html" >"$D/sources.txt"
    run() { nz-pipeline run -o "$D/ix" --from "$D/sources.txt" "$@" >"$D/run.json" 2>"$D/run.err"; }

    # 1. first run
    before=$(inputs)
    run
    local rc=$? n
    cp "$D/run.json" "$D/run1.json"
    n=$(($(find "$D/src" -type f | wc -l) + 3))
    [ $rc -eq 0 ] && t_ok "${L}_first_run" || t_fail "${L}_first_run" "exit $rc: $(tail -c 300 "$D/run.err")"
    check "${L}_first_run_adds_all" jq -e --argjson n "$n" '.status == "published" and .sources.added == $n and .chunks > 20 and .embedding.requests > 0' "$D/run1.json"
    check "${L}_first_run_agrees" agree "$L" "$D/ix"

    # 2. nothing changed: zero requests, nothing published, URLs answer 304
    before=$(inputs)
    cur=$(readlink "$D/ix/current")
    : >"$T/web.log"
    run
    rc=$?
    [ $rc -eq 0 ] && t_ok "${L}_unchanged_exit_0" || t_fail "${L}_unchanged_exit_0" "exit $rc"
    check "${L}_unchanged_says_so" jq -e --argjson n "$n" '.status == "unchanged" and .sources.unchanged == $n and .sources.added == 0 and .index == null' "$D/run.json"
    [ "$(inputs)" = "$before" ] && t_ok "${L}_unchanged_sends_nothing" || t_fail "${L}_unchanged_sends_nothing" "$before -> $(inputs) inputs"
    [ "$(readlink "$D/ix/current")" = "$cur" ] && t_ok "${L}_unchanged_publishes_nothing" || t_fail "${L}_unchanged_publishes_nothing" "current moved"
    check "${L}_urls_answer_304" bash -c "[ \$(grep -c ' 304' '$T/web.log') -eq 3 ]"
    check "${L}_unchanged_reads_no_file" bash -c "! grep -q '\"msg\":\"done\".*\"docs\":[1-9]' '$D/run.err'"

    # 3. one paragraph of the PDF changed (and the file edited): only the
    # document's changed chunks are sent; the URLs' chunks stay (the bug
    # that dropped every unchanged page)
    local old_ids new_ids want
    old_ids=$(nz-pipeline sources -o "$D/ix" --format json | jq -r 'select(.uri | endswith("investor-guide.pdf")) | .chunk_ids[]' | sort)
    mkpdf "$D/src/en/investor-guide.pdf" "Every company registers for a tax number, NPWP, at the tax office of its domicile, and from 2026 also files its VAT returns through the Coretax system."
    before=$(inputs)
    dump "$D/ix/current" | sort >"$D/rows.before"
    run
    rc=$?
    [ $rc -eq 0 ] && t_ok "${L}_changed_pdf_published" || t_fail "${L}_changed_pdf_published" "exit $rc: $(tail -c 300 "$D/run.err")"
    check "${L}_changed_pdf_counts" jq -e --argjson n "$n" '.status == "published" and .sources.changed == 1 and .sources.unchanged == $n - 1 and .index.carried > 0' "$D/run.json"
    new_ids=$(nz-pipeline sources -o "$D/ix" --format json | jq -r 'select(.uri | endswith("investor-guide.pdf")) | .chunk_ids[]' | sort)
    want=$(comm -13 <(echo "$old_ids") <(echo "$new_ids") | grep -c .)
    [ "$want" -ge 1 ] && [ "$(($(inputs) - before))" -eq "$want" ] && t_ok "${L}_changed_pdf_sends_only_new_text" ||
        t_fail "${L}_changed_pdf_sends_only_new_text" "sent $(($(inputs) - before)) inputs, $want chunks are new"
    check "${L}_changed_pdf_keeps_urls" bash -c "[ \$(nz-pipeline sources -o '$D/ix' --format json | jq -s 'map(select(.uri | startswith(\"http\"))) | length') -eq 3 ]"
    check "${L}_changed_pdf_agrees" agree "$L" "$D/ix"
    # every row of another document is byte-identical to before
    local gd
    gd=$(nz-pipeline sources -o "$D/ix" --format json | jq -r 'select(.uri | endswith("investor-guide.pdf")) | .doc_id')
    check "${L}_carried_rows_byte_identical" bash -c "cmp -s <(grep -v '^$gd ' '$D/rows.before') <(dump '$D/ix/current' | sort | grep -v '^$gd ')"

    # 4. a file deleted: its chunks gone, everything else still there
    local vd
    vd=$(nz-pipeline sources -o "$D/ix" --format json | jq -r 'select(.uri | endswith("visa-types.md")) | .doc_id')
    dump "$D/ix/current" | sort >"$D/rows.before"
    rm "$D/src/en/visa-types.md"
    run --keep-missing
    check "${L}_keep_missing_keeps" jq -e '.status == "unchanged" and .sources.kept_missing == 1' "$D/run.json"
    run
    check "${L}_deleted_file_removed" jq -e '.status == "published" and .sources.removed == 1 and .sources.changed == 0' "$D/run.json"
    check "${L}_deleted_file_chunks_gone" bash -c "cmp -s <(grep -v '^$vd ' '$D/rows.before') <(dump '$D/ix/current' | sort)"
    check "${L}_deleted_file_not_in_catalog" bash -c "! nz-pipeline sources -o '$D/ix' --format json | grep -q visa-types.md"

    # 5. a URL that answers 404 is gone
    mv "$T/web/page3.html" "$T/page3.away"
    run
    check "${L}_url_404_removed" jq -e '.status == "published" and .sources.removed == 1 and .sources.rejected == 0' "$D/run.json"
    check "${L}_url_404_agrees" agree "$L" "$D/ix"
    mv "$T/page3.away" "$T/web/page3.html"
    run
    check "${L}_url_back_added" jq -e '.sources.added == 1' "$D/run.json"

    # 6. --full gives the same rows as the incremental path (all cached)
    dump "$D/ix/current" | sort >"$D/rows.incremental"
    before=$(inputs)
    run --full
    check "${L}_full_published" jq -e '.status == "published" and .full == true and .index.carried == 0' "$D/run.json"
    check "${L}_full_equals_incremental" bash -c "cmp -s '$D/rows.incremental' <(dump '$D/ix/current' | sort)"
    [ "$(inputs)" = "$before" ] && t_ok "${L}_full_hits_the_cache" || t_fail "${L}_full_hits_the_cache" "sent $(($(inputs) - before))"

    # 7. killed between publishing and recording: the next run repairs it
    echo "One more line about the KITAS sponsor letter." >>"$D/src/en/work-permit-kitas.md"
    NZ_TEST_CRASH_AFTER_PUBLISH=1 run
    rc=$?
    [ $rc -eq 137 ] && t_ok "${L}_crash_after_publish" || t_fail "${L}_crash_after_publish" "exit $rc"
    local crashed_snap
    crashed_snap=$(readlink "$D/ix/current")
    run
    rc=$?
    check "${L}_repair_reported" grep -q 'then died before it recorded it: recorded now' "$D/run.err"
    check "${L}_repaired_run_published" bash -c "nz-pipeline runs -o '$D/ix' --format json | jq -s -e --arg s '$crashed_snap' '.[1].status == \"published\" and .[1].snapshot == \$s'"
    check "${L}_after_repair_unchanged" jq -e '.status == "unchanged"' "$D/run.json"
    check "${L}_after_repair_agrees" agree "$L" "$D/ix"
    check "${L}_run_folders_removed" bash -c "! ls -a '$D/ix' | grep -q '^.run-'"
}
export -f dump snapshot_dump

unset DATABASE_URL
scenarios sqlite
if pg_start; then
    t_ok pg_start
    export DATABASE_URL=$PG_URL
    scenarios pg
else
    t_fail pg_start "cannot start PostgreSQL: $(tail -c 400 "$PG_DIR/log" 2>/dev/null | tr '\n' ' ')"
fi
