#!/usr/bin/env bash
# A smoke run of the crash trials (make torture runs 100 a scenario): two
# SIGKILLed builds and two SIGKILLed imports, each followed by the checks
# of tests/torture/run.sh (current verifies, the server answers from it,
# the next run completes and leaves no temp behind).
source "$(dirname "$0")/lib.sh"
TRIALS=2 SCENARIOS="build import" SEED=7 bash "$NZ_ROOT/tests/torture/run.sh" >"$T/out" 2>"$T/err"
rc=$?
for sc in build import; do
    line=$(grep "^$sc: trials" "$T/out")
    if [ -n "$line" ] && echo "$line" | grep -q "failures 0 "; then t_ok "$sc"; else
        t_fail "$sc" "${line:-no report} :: $(tail -c 300 "$T/err" | tr '\n' ' ')"
    fi
done
[ $rc -eq 0 ] && t_ok exit_0 || t_fail exit_0 "exit $rc"
