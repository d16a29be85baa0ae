#!/usr/bin/env bash
# nz-pipeline's run catalog, end to end: on SQLite (no DATABASE_URL) and on
# a real PostgreSQL 15 started here. Every run is recorded from start to
# end with its rejected inputs; one writer at a time, the refusal naming
# the holder; a run killed with SIGKILL shows as crashed and leaves the old
# snapshot current; an unreachable database stops a run before any work,
# and no password is ever printed.
source "$(dirname "$0")/lib.sh"

printf 'binary\x00\x01\x02 not text' >"$T/bad.txt"
# A slow embedder, so that a run is caught in the middle.
mkdir -p "$T/slow"
for s in extract chunk index; do ln -s "$NZ_BIN/nz-$s" "$T/slow/nz-$s"; done
printf '#!/bin/sh\nsleep 4\nexec "%s/nz-embed" "$@"\n' "$NZ_BIN" >"$T/slow/nz-embed"
chmod +x "$T/slow/nz-embed"

db() { # label sql: one query against the label's catalog, rows as a|b
    if [ "$1" = pg ]; then psql "$PG_URL" -XAtqc "$2"; else sqlite3 "$T/ix-$1/catalog.sqlite" "$2"; fi
}

wait_running() { # label: until the catalog shows a running run (5 s)
    for _ in $(seq 1 100); do
        [ "$(db "$1" "SELECT count(*) FROM nz_runs WHERE status = 'running'" 2>/dev/null)" = 1 ] &&
            return 0
        sleep 0.05
    done
    return 1
}

scenarios() { # label
    local L=$1 ix="$T/ix-$1"
    nz-pipeline run -o "$ix" "$NZ_ROOT/fixtures/docs" "$T/bad.txt" >"$T/$L.run1" 2>"$T/$L.err1"
    local rc=$?
    [ $rc -eq 3 ] && t_ok "${L}_first_run_exit_3" || t_fail "${L}_first_run_exit_3" "exit $rc"
    nz-pipeline runs -o "$ix" --format json >"$T/$L.runs1"
    check "${L}_run_recorded" jq -s -e --slurpfile s "$T/$L.run1" 'length == 1 and .[0].id == $s[0].run and
        .[0].status == "published" and .[0].snapshot == $s[0].index.snapshot and .[0].ended != null and
        .[0].summary == $s[0]' "$T/$L.runs1"
    check "${L}_reject_recorded" bash -c "[ \"\$(db_q '$L' \"SELECT stage, uri, reason FROM nz_rejects WHERE run_id = 1\")\" = \
'nz-extract|file://$T/bad.txt|unsupported binary content (not PDF, HTML, XML, text or gzip)' ]"
    nz-pipeline status -o "$ix" --format json >"$T/$L.status"
    check "${L}_status_names_current" jq -e --arg cur "$(readlink "$ix/current")" \
        '.current.snapshot == $cur and .current.count > 40 and .last_run.id == 1' "$T/$L.status"
    check "${L}_status_table" bash -c "nz-pipeline status -o '$ix' --format table | grep -q '^current   snap-'"

    # Two runs at once: the second is refused at once and names the first.
    local cur
    cur=$(readlink "$ix/current")
    NZ_BIN_DIR="$T/slow" nz-pipeline run --full -o "$ix" "$NZ_ROOT/fixtures/docs" >"$T/$L.slow" 2>&1 &
    local slow=$!
    if wait_running "$L"; then t_ok "${L}_slow_run_started"; else t_fail "${L}_slow_run_started" "no running row"; fi
    expect_exit "${L}_second_run_refused" 1 nz-pipeline run -o "$ix" "$NZ_ROOT/fixtures/docs"
    check "${L}_refusal_names_holder" grep -q "run 2, pid $slow on " "$T/exp.err"

    # SIGKILL mid-run: current untouched, the stages gone with it, the next
    # run finds it crashed and completes.
    local kids= k
    for _ in $(seq 1 100); do # until the slow embedder runs (the run's second step)
        for k in $(pgrep -P "$slow"); do
            case "$(ps -o args= -p "$k" 2>/dev/null)" in *slow/nz-embed*) kids=$(pgrep -P "$slow" | tr '\n' ' ') ;; esac
        done
        [ -n "$kids" ] && break
        sleep 0.05
    done
    kill -9 "$slow"
    wait "$slow" 2>/dev/null
    sleep 0.3
    [ "$(readlink "$ix/current")" = "$cur" ] && t_ok "${L}_killed_run_publishes_nothing" ||
        t_fail "${L}_killed_run_publishes_nothing" "current moved"
    local alive=
    for k in $kids; do # a zombie is dead (this machine's init may never reap it)
        case "$(ps -o stat= -p "$k" 2>/dev/null)" in "" | Z*) ;; *) alive="$alive $k" ;; esac
    done
    [ -n "$kids" ] && [ -z "$alive" ] && t_ok "${L}_killed_run_leaves_no_stage" ||
        t_fail "${L}_killed_run_leaves_no_stage" "stages [$kids], still alive [$alive]"
    sleep 4.5 # the orphan embedder's sleep would have ended: still nothing published
    [ "$(readlink "$ix/current")" = "$cur" ] && t_ok "${L}_killed_run_never_publishes" ||
        t_fail "${L}_killed_run_never_publishes" "current moved"
    nz-pipeline run -o "$ix" "$NZ_ROOT/fixtures/docs" >"$T/$L.run3" 2>"$T/$L.err3"
    rc=$?
    [ $rc -eq 0 ] && t_ok "${L}_run_after_crash_completes" || t_fail "${L}_run_after_crash_completes" "exit $rc"
    check "${L}_crash_reported" grep -q 'ended without finishing' "$T/$L.err3"
    nz-pipeline runs -o "$ix" --format json >"$T/$L.runs3"
    # newest first: nothing changed since run 1, and run 2 died
    check "${L}_crashed_in_catalog" jq -s -e 'map(.status) == ["unchanged", "crashed", "published"]' "$T/$L.runs3"
    check "${L}_verifies" nz-index verify "$ix"
}
db_q() { db "$@"; }
export -f db db_q
export T PG_URL=

unset DATABASE_URL
scenarios sqlite

# A quiet log level hides nothing from the run: the stages' notes on each
# source still reach it (an unchanged night stays unchanged, not "removed"),
# and an unchanged night under cron prints nothing at all.
NZ_LOG_LEVEL=error nz-pipeline run -o "$T/ix-quiet" "$NZ_ROOT/fixtures/docs" >/dev/null 2>&1
NZ_LOG_LEVEL=error nz-pipeline run -o "$T/ix-quiet" "$NZ_ROOT/fixtures/docs" >"$T/quiet.json" 2>"$T/quiet.err"
check quiet_level_still_unchanged jq -e '.status == "unchanged" and .sources.removed == 0 and .sources.unchanged > 10' "$T/quiet.json"
check quiet_level_silent bash -c "[ ! -s '$T/quiet.err' ]"
nz-pipeline run -o "$T/ix-quiet" "$NZ_ROOT/fixtures/docs" >/dev/null 2>"$T/night.err"
check unchanged_night_one_line bash -c "[ \$(wc -l <'$T/night.err') -eq 1 ] && grep -q '\"msg\":\"done\"' '$T/night.err'"

if pg_start; then
    t_ok pg_start
    export PG_URL DATABASE_URL=$PG_URL
    scenarios pg
    # A second machine sharing the catalog (another index root) is refused too.
    NZ_BIN_DIR="$T/slow" nz-pipeline run --full -o "$T/ix-pg" "$NZ_ROOT/fixtures/docs" >/dev/null 2>&1 &
    slow=$!
    wait_running pg
    expect_exit pg_other_root_refused 1 nz-pipeline run -o "$T/ix-elsewhere" "$NZ_ROOT/fixtures/docs"
    kill -9 "$slow"
    wait "$slow" 2>/dev/null
    # A wrong password: refused before any work, and the password never shown.
    bad_url="postgresql://nz:Wr0ngPassw0rd-xyz@127.0.0.1:$PG_PORT/nz"
    DATABASE_URL=$bad_url expect_exit pg_wrong_password_exit_1 1 \
        nz-pipeline run -o "$T/ix-bad" "$NZ_ROOT/fixtures/docs"
    check pg_wrong_password_explained grep -q 'cannot connect to the catalog database' "$T/exp.err"
    check pg_wrong_password_not_shown bash -c "! grep -q 'Wr0ngPassw0rd' '$T/exp.err' '$T/exp.out'"
    check pg_wrong_password_no_work bash -c "[ ! -e '$T/ix-bad/current' ]"
    # The database down at start: the same.
    pg_stop
    DATABASE_URL=$PG_URL expect_exit pg_down_exit_1 1 nz-pipeline run -o "$T/ix-pg" "$NZ_ROOT/fixtures/docs"
    check pg_down_explained grep -q 'cannot connect to the catalog database' "$T/exp.err"
    check pg_down_password_not_shown bash -c "! grep -qF '$PG_PASS' '$T/exp.err' '$T/exp.out'"
    DATABASE_URL=$PG_URL expect_exit pg_down_status_exit_1 1 nz-pipeline status -o "$T/ix-pg"
else
    t_fail pg_start "cannot start PostgreSQL: $(tail -c 400 "$PG_DIR/log" 2>/dev/null | tr '\n' ' ')"
fi
