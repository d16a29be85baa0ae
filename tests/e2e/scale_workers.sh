#!/usr/bin/env bash
# Distributed ingestion (nz-pipeline plan | work x4 | finish) on a real
# PostgreSQL, a real S3-compatible server (s3rver) and the embeddings mock:
# 4 worker processes over 400 documents embed every chunk exactly once and
# publish the snapshot a single-machine `run` publishes; a second, partial
# run carries the unchanged sources over from the first; without the
# database or the object store it is a usage error that names them.
source "$(dirname "$0")/lib.sh"
dist_start || exit 0
mkdir -p "$T/src"
for i in $(seq 1 400); do
    printf '# Permit note %d\n\nA stay permit of class %d is renewed at office %d.\n\nSponsor %d files form %d before day %d.\n' \
        "$i" "$((i % 13))" "$((i % 29))" "$i" "$((i * 7))" "$((i % 31))" >"$T/src/n$i.md"
done
inputs() { jq -s '[.[] | select(.status == 200) | .inputs] | add // 0' "$T/mock.log"; }
dump() { snapshot_dump "$1/current" | sort; }

# usage errors name what is missing
DATABASE_URL= expect_exit plan_needs_database 2 nz-pipeline plan -o "$T/p" --store s3://bk/d "$T/src"
check plan_names_database grep -q DATABASE_URL "$T/exp.err"
DATABASE_URL=$PG_URL SNAPSHOT_STORE= expect_exit plan_needs_store 2 nz-pipeline plan -o "$T/p" "$T/src"
check plan_names_store grep -q -- --store "$T/exp.err"
DATABASE_URL= expect_exit work_needs_database 2 nz-pipeline work -o "$T/p"

# the single-machine reference (SQLite catalog, its own embedding cache)
nz-pipeline run -o "$T/one/ix" "$T/src" >"$T/one.json" 2>"$T/one.err"
check single_run_published jq -e '.status == "published"' "$T/one.json"
chunks=$(jq .chunks "$T/one.json")
before=$(inputs)

export DATABASE_URL=$PG_URL
nz-pipeline plan -o "$T/main/ix" --store s3://bk/prod --batch-size 20 "$T/src" >"$T/plan.json" 2>"$T/plan.err"
check plan_recorded jq -e '.status == "planned" and .items == 400 and .batches == 20' "$T/plan.json"
pids=()
for w in 1 2 3 4; do
    nz-pipeline work -o "$T/w$w/ix" --lease 20 >"$T/work$w.json" 2>"$T/work$w.err" &
    pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
[ $fails -eq 0 ] && t_ok four_workers_exit_0 || t_fail four_workers_exit_0 "$fails failed: $(tail -c 300 "$T"/work*.err)"
check every_batch_done_once bash -c "[ \$(jq -s 'map(.batches) | add' '$T'/work?.json) -eq 20 ]"
[ "$(pg_q "SELECT count(*) FROM nz_batches WHERE state = 'done' AND attempts = 1")" = 20 ] &&
    t_ok catalog_batches_done_at_first_claim || t_fail catalog_batches_done_at_first_claim "$(pg_q 'SELECT batch, state, attempts FROM nz_batches')"
nz-pipeline finish -o "$T/main/ix" >"$T/finish.json" 2>"$T/finish.err"
check finish_published jq -e --argjson n "$chunks" '.status == "published" and .index.count == $n and .shards == 20 and .push.pushed == .index.snapshot' "$T/finish.json"
embedded=$(($(inputs) - before))
[ "$embedded" -eq "$chunks" ] && t_ok every_chunk_embedded_once || t_fail every_chunk_embedded_once "$embedded sent for $chunks chunks"
dump "$T/one/ix" >"$T/one.dump"
dump "$T/main/ix" >"$T/main.dump"
if [ -s "$T/one.dump" ] && cmp -s "$T/one.dump" "$T/main.dump"; then t_ok snapshot_equals_single_run; else
    t_fail snapshot_equals_single_run "$(diff "$T/one.dump" "$T/main.dump" | head -3)"
fi
run=$(jq .run "$T/plan.json")
check runs_lists_it bash -c "nz-pipeline runs -o '$T/main/ix' --format json | jq -e 'select(.id == $run) | .status == \"published\"' >/dev/null"
expect_exit finish_again_is_noop 0 nz-pipeline finish -o "$T/main/ix" --run "$run"

# a second night: one changed, one removed, one added; the rest carried over
echo "Sponsor 7 must also report a change of address." >>"$T/src/n7.md"
rm "$T/src/n8.md"
printf '# Permit note new\n\nA brand new note about visas.\n' >"$T/src/new.md"
DATABASE_URL= nz-pipeline run -o "$T/one/ix" "$T/src" >"$T/one2.json" 2>"$T/one2.err"
before=$(inputs)
nz-pipeline plan -o "$T/main/ix" --store s3://bk/prod --batch-size 50 "$T/src" >"$T/plan2.json" 2>"$T/plan2.err"
check second_plan_on_base jq -e '.base != null and .batches == 8' "$T/plan2.json"
nz-pipeline work -o "$T/w1/ix" --lease 20 >"$T/work5.json" 2>"$T/work5.err" &
p1=$!
nz-pipeline work -o "$T/w2/ix" --lease 20 --finish >"$T/work6.json" 2>"$T/work6.err"
rc=$?
wait $p1
[ $rc -eq 0 ] && t_ok last_worker_finishes || t_fail last_worker_finishes "exit $rc: $(tail -c 300 "$T/work6.err")"
check carried_over jq -s -e '.[-1] | .status == "published" and .index.carried == 398 and .index.dropped == 2' "$T/work6.json"
[ $(($(inputs) - before)) -eq 2 ] && t_ok only_new_text_embedded || t_fail only_new_text_embedded "$(($(inputs) - before)) sent"
# the last worker finished on its own machine: it pulled the base first
dump "$T/one/ix" >"$T/one.dump"
dump "$T/w2/ix" >"$T/main.dump"
if [ -s "$T/one.dump" ] && cmp -s "$T/one.dump" "$T/main.dump"; then t_ok incremental_equals_single_run; else
    t_fail incremental_equals_single_run "$(diff "$T/one.dump" "$T/main.dump" | head -3)"
fi
check sources_recorded bash -c "nz-pipeline sources -o '$T/main/ix' --format json | jq -s -e 'length == 400' >/dev/null"
check keys_never_printed bash -c "! grep -qF -e \"\$AWS_SECRET_ACCESS_KEY\" -e '$PG_PASS' '$T'/*.json '$T'/*.err"
