#!/usr/bin/env bash
# SIGKILL an index build at several moments: the previous snapshot stays
# current, passes verify, and the running server keeps serving it.
source "$(dirname "$0")/lib.sh"

build_fixture_index "$T/ix" || t_fail initial_build "$(cat "$T/build.err")"
before=$(readlink "$T/ix/current")
start_server "$T/ix"
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed >"$T/one.jsonl" 2>/dev/null
# ~15k records (~120 MB): long enough to be caught in the middle.
for _ in $(seq 1 300); do cat "$T/one.jsonl"; done >"$T/big.jsonl"

kills=0
for delay in 0.05 0.15 0.3 0.6 1.0; do
    # Stream the input, pausing halfway so that one kill lands while the
    # build holds a half-written snapshot directory.
    ( head -n 7000 "$T/big.jsonl"; sleep 3; tail -n +7001 "$T/big.jsonl" ) |
        nz-index build -o "$T/ix" >/dev/null 2>>"$T/kills.err" &
    pid=$!
    sleep "$delay"
    bpid=$(pgrep -n -f "nz-index build -o $T/ix")
    if [ -n "$bpid" ]; then kill -9 "$bpid" && kills=$((kills + 1)); fi
    wait "$pid" 2>/dev/null
    now=$(readlink "$T/ix/current")
    if [ "$now" != "$before" ]; then t_fail "kill_at_${delay}s_keeps_current" "current is now $now"; continue; fi
    t_ok "kill_at_${delay}s_keeps_current"
    check "kill_at_${delay}s_verifies" nz-index verify "$T/ix"
    r=$(http POST /v1/query '{"query":"PT PMA capital","k":1}')
    [ "${r##*$'\n'}" = 200 ] && t_ok "kill_at_${delay}s_still_served" || t_fail "kill_at_${delay}s_still_served" "$r"
done
[ "$kills" -ge 4 ] && t_ok builds_were_really_killed || t_fail builds_were_really_killed "only $kills kills landed"
check killed_builds_left_a_build_dir bash -c "ls -a '$T/ix' | grep -q '^.tmp-snap-'"
check server_kept_old_snapshot bash -c "[ \"\$(curl -s http://127.0.0.1:$PORT/health | jq -r .index.snapshot)\" = '$before' ]"

# The next build completes, cleans up the crashed builds, and goes live.
nz-index build -o "$T/ix" <"$T/one.jsonl" >/dev/null 2>"$T/final.err"
rc=$?
[ $rc -eq 0 ] && t_ok build_after_crashes || t_fail build_after_crashes "exit $rc: $(cat "$T/final.err")"
check crashed_build_dirs_removed bash -c "! ls -a '$T/ix' | grep -q '^.tmp-'"
after=$(readlink "$T/ix/current")
for _ in $(seq 1 50); do
    [ "$(curl -s "http://127.0.0.1:$PORT/health" | jq -r .index.snapshot)" = "$after" ] && break
    sleep 0.1
done
check server_swapped_to_new bash -c "[ \"\$(curl -s http://127.0.0.1:$PORT/health | jq -r .index.snapshot)\" = '$after' ]"

# SIGTERM is handled: the build directory is removed, nothing published.
( head -n 100 "$T/one.jsonl"; sleep 5 ) | nz-index build -o "$T/ix" >/dev/null 2>"$T/term.err" &
pid=$!
sleep 0.5
bpid=$(pgrep -n -f "nz-index build -o $T/ix")
kill -TERM "$bpid"
wait "$pid" 2>/dev/null
check sigterm_publishes_nothing bash -c "[ \"\$(readlink '$T/ix/current')\" = '$after' ]"
check sigterm_removes_build_dir bash -c "! ls -a '$T/ix' | grep -q '^.tmp-'"
check sigterm_logged grep -q "stopped by signal 15" "$T/term.err"

# A second writer is refused while one holds the lock.
( sleep 2 ) | nz-index build -o "$T/ix" >/dev/null 2>/dev/null &
pid=$!
sleep 0.3
expect_exit second_writer_refused 1 nz-index build -o "$T/ix" <"$T/one.jsonl"
check second_writer_says_lock grep -q "another writer holds the lock" "$T/exp.err"
wait "$pid" 2>/dev/null || true # the lock holder built nothing from no input
