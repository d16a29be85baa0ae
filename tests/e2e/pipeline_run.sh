#!/usr/bin/env bash
# nz-pipeline run: the stages as child processes, one JSON summary, and
# nothing published when a stage fails.
source "$(dirname "$0")/lib.sh"

nz-pipeline run -o "$T/ix" "$NZ_ROOT/fixtures/docs" >"$T/run.json" 2>"$T/run.err"
rc=$?
[ $rc -eq 0 ] && t_ok run_exit_0 || t_fail run_exit_0 "exit $rc"
check summary_published jq -e '.status == "published" and .exit == 0 and (.stages|length) == 4 and
    all(.stages[]; .exit == 0) and .index.count > 40' "$T/run.json"
check summary_is_one_line bash -c "[ \$(wc -l <'$T/run.json') -eq 1 ]"
check published_verifies nz-index verify "$T/ix"
first=$(readlink "$T/ix/current")

# One unreadable source: the others are still published, exit 3 (--full:
# a rebuild from the sources; without it nothing changed, see below).
printf 'binary\x00\x01\x02 not text' >"$T/bad.txt"
nz-pipeline run --full -o "$T/ix" "$NZ_ROOT/fixtures/docs" "$T/bad.txt" >"$T/run3.json" 2>"$T/run3.err"
rc=$?
[ $rc -eq 3 ] && t_ok rejected_input_exit_3 || t_fail rejected_input_exit_3 "exit $rc"
check rejected_input_still_published jq -e '.status == "published" and .stages[0].exit == 3' "$T/run3.json"
check rejected_input_logged grep -q '"uri":"file://.*bad.txt","error":"unsupported binary content' "$T/run3.err"
second=$(readlink "$T/ix/current")
[ "$first" != "$second" ] && t_ok new_snapshot_is_current || t_fail new_snapshot_is_current "still $first"

# A failing stage: nothing published, exit 1, current untouched.
nz-pipeline run --full -o "$T/ix" --max-tokens 1 "$NZ_ROOT/fixtures/docs" >"$T/fail.json" 2>"$T/fail.err"
rc=$?
[ $rc -eq 1 ] && t_ok failed_stage_exit_1 || t_fail failed_stage_exit_1 "exit $rc"
check failed_summary jq -e '.status == "failed" and .index == null' "$T/fail.json"
[ "$(readlink "$T/ix/current")" = "$second" ] && t_ok failed_run_publishes_nothing ||
    t_fail failed_run_publishes_nothing "current moved"
check no_build_dirs_left bash -c "! ls -a '$T/ix' | grep -q '^.tmp-'"

# A stage that dies mid-stream (the embedder is killed): nothing published.
mkdir -p "$T/fakebin"
for s in extract chunk index; do ln -s "$NZ_BIN/nz-$s" "$T/fakebin/nz-$s"; done
cat >"$T/fakebin/nz-embed" <<EOS
#!/bin/sh
# emit the first half of the real output, then die as if killed
"$NZ_BIN/nz-embed" "\$@" | head -n 10
kill -9 \$\$
EOS
chmod +x "$T/fakebin/nz-embed"
NZ_BIN_DIR="$T/fakebin" nz-pipeline run --full -o "$T/ix" "$NZ_ROOT/fixtures/docs" >"$T/kill.json" 2>"$T/kill.err"
rc=$?
[ $rc -eq 1 ] && t_ok killed_stage_exit_1 || t_fail killed_stage_exit_1 "exit $rc"
check killed_stage_reported jq -e '.stages[2].result | startswith("signal 9")' "$T/kill.json"
[ "$(readlink "$T/ix/current")" = "$second" ] && t_ok killed_stage_publishes_nothing ||
    t_fail killed_stage_publishes_nothing "current moved"
check still_verifies nz-index verify "$T/ix"

expect_exit no_sources_is_usage_error 2 nz-pipeline run -o "$T/ix"
expect_exit unknown_command_is_usage_error 2 nz-pipeline frobnicate
