#!/usr/bin/env bash
# Distributed ingestion under faults, on a real PostgreSQL and s3rver with
# the embeddings mock answering slowly: a worker SIGKILLed mid-batch loses
# its lease and another finishes its batch (nothing lost or duplicated);
# the database restarted mid-run is waited out and every worker finishes;
# two `finish` at once publish one snapshot.
source "$(dirname "$0")/lib.sh"
dist_start --latency 1500 || exit 0
export DATABASE_URL=$PG_URL
wait_for() { # SQL: until it prints 1 (10 s at most)
    for _ in $(seq 1 200); do [ "$(pg_q "$1")" = 1 ] && return 0; sleep 0.05; done
    return 1
}
corpus() { # dir tag
    mkdir -p "$1"
    for i in $(seq 1 40); do
        printf '# %s note %d\n\nRule %d of the %s office covers permit class %d.\n' "$2" "$i" "$i" "$2" "$((i * 3))" >"$1/n$i.md"
    done
}
no_dups() { snapshot_dump "$1/current" | cut -d' ' -f2 | sort | uniq -d | grep -c .; }

# --- a worker killed mid-batch
corpus "$T/a" alpha
nz-pipeline plan -o "$T/ix" --store s3://bk/prod --batch-size 10 "$T/a" >"$T/plan1.json" 2>"$T/plan1.err"
nz-pipeline work -o "$T/wa/ix" --lease 3 >"$T/wa.json" 2>"$T/wa.err" &
victim=$!
if wait_for "SELECT count(*) FROM nz_batches WHERE state = 'claimed'"; then
    sleep 0.5
    kill -9 $victim
    wait $victim 2>/dev/null
    t_ok victim_claimed_then_killed
else
    t_fail victim_claimed_then_killed "no batch was claimed"
fi
lost=$(pg_q "SELECT batch FROM nz_batches WHERE state = 'claimed'")
nz-pipeline work -o "$T/wb/ix" --lease 3 >"$T/wb.json" 2>"$T/wb.err"
rc=$?
[ $rc -eq 0 ] && t_ok survivor_finishes || t_fail survivor_finishes "exit $rc: $(tail -c 300 "$T/wb.err")"
[ -n "$lost" ] && [ "$(pg_q "SELECT attempts FROM nz_batches WHERE batch = $lost AND state = 'done'")" = 2 ] &&
    t_ok killed_batch_reclaimed || t_fail killed_batch_reclaimed "$(pg_q 'SELECT batch, state, attempts FROM nz_batches')"
check all_done_by_survivor bash -c "[ \"\$(jq .batches '$T/wb.json')\" = 4 ]"
nz-pipeline finish -o "$T/ix" >"$T/fin1.json" 2>"$T/fin1.err"
check nothing_lost jq -e '.status == "published" and .index.count == 40' "$T/fin1.json"
[ "$(no_dups "$T/ix")" -eq 0 ] && t_ok nothing_duplicated || t_fail nothing_duplicated "duplicate chunk ids"

# --- the database restarted mid-run
corpus "$T/b" beta
start_mock --latency 800
nz-pipeline plan -o "$T/ix" --store s3://bk/prod --full --batch-size 5 "$T/b" >"$T/plan2.json" 2>"$T/plan2.err"
nz-pipeline work -o "$T/wc/ix" --lease 10 >"$T/wc.json" 2>"$T/wc.err" &
p1=$!
nz-pipeline work -o "$T/wd/ix" --lease 10 >"$T/wd.json" 2>"$T/wd.err" &
p2=$!
run2=$(jq .run "$T/plan2.json")
if wait_for "SELECT (count(*) >= 1)::int FROM nz_batches WHERE run_id = $run2 AND state = 'done'"; then
    pg_stop fast
    sleep 2
    pg_up && t_ok database_restarted || t_fail database_restarted "pg_up failed"
else
    t_fail database_restarted "no batch got done"
fi
fails=0
for p in $p1 $p2; do wait $p || fails=$((fails + 1)); done
[ $fails -eq 0 ] && t_ok workers_survive_restart || t_fail workers_survive_restart "$fails failed: $(tail -c 300 "$T/wc.err" "$T/wd.err")"
check workers_reconnected grep -qh reconnecting "$T/wc.err" "$T/wd.err"
[ "$(pg_q "SELECT count(*) FROM nz_batches WHERE run_id = $run2 AND state = 'done'")" = 8 ] &&
    t_ok every_batch_done_after_restart || t_fail every_batch_done_after_restart "$(pg_q "SELECT batch, state FROM nz_batches WHERE run_id = $run2")"

# --- two finish at once, on two machines: one snapshot
nz-pipeline finish -o "$T/fa/ix" >"$T/fa.json" 2>"$T/fa.err" &
p1=$!
nz-pipeline finish -o "$T/fb/ix" >"$T/fb.json" 2>"$T/fb.err" &
p2=$!
wait $p1
wait $p2
check one_finish_published bash -c "[ \$(cat '$T/fa.json' '$T/fb.json' | jq -s 'map(select(.status == \"published\")) | length') -eq 1 ]"
check one_snapshot bash -c "[ \$(ls -d '$T'/fa/ix/snap-* '$T'/fb/ix/snap-* 2>/dev/null | wc -l) -eq 1 ]"
[ "$(pg_q "SELECT status FROM nz_runs WHERE id = $run2")" = published ] && t_ok run_published_once ||
    t_fail run_published_once "$(pg_q "SELECT id, status FROM nz_runs")"
winner=$(ls -d "$T"/fa/ix/current "$T"/fb/ix/current 2>/dev/null | head -1)
[ -n "$winner" ] && [ "$(snapshot_dump "$winner" | wc -l)" -eq 40 ] && [ "$(no_dups "$(dirname "$winner")")" -eq 0 ] &&
    t_ok full_rebuild_complete || t_fail full_rebuild_complete "winner $winner"
expect_exit third_finish_reports_done 0 nz-pipeline finish -o "$T/fa/ix" --run "$run2"

# --- a batch whose stages keep failing (the key is refused): handed back,
# failed after its third claim; the worker exits 1, finish refuses the run
corpus "$T/c" gamma
start_mock --fatal-after 0 --fatal-status 401
nz-pipeline plan -o "$T/ix" --store s3://bk/prod --full --batch-size 20 "$T/c" >"$T/plan3.json" 2>"$T/plan3.err"
run3=$(jq .run "$T/plan3.json")
expect_exit failing_batches_exit_1 1 nz-pipeline work -o "$T/we/ix" --lease 10
[ "$(pg_q "SELECT count(*) FROM nz_batches WHERE run_id = $run3 AND state = 'failed' AND attempts = 3")" = 2 ] &&
    t_ok failed_after_three_attempts || t_fail failed_after_three_attempts "$(pg_q "SELECT batch, state, attempts FROM nz_batches WHERE run_id = $run3")"
expect_exit finish_refuses_failed_run 1 nz-pipeline finish -o "$T/ix"
check finish_says_failed grep -q "2 failed" "$T/exp.err"
