#!/usr/bin/env bash
# run.sh -- the test runner: unit tests, then every end-to-end script.
#
# Each test prints "ok - NAME" or "not ok - NAME: why" on stdout; this
# script counts them. A script that dies without reporting counts as one
# failure. Under the sanitizers (NZ_SANITIZED=1) every report written by
# ASan/UBSan is a failure too. The last line is always "N passed, M failed".
#
#   NZ_BUILD=build bash tests/run.sh [PATTERN]
set -u
cd "$(dirname "$0")/.."
export NZ_BUILD=${NZ_BUILD:-build}
export NZ_BIN=$PWD/$NZ_BUILD
export NZ_ROOT=$PWD
pattern=${1:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/nz-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ "${NZ_SANITIZED:-0}" = 1 ]; then
    mkdir -p "$work/san"
    export ASAN_OPTIONS="log_path=$work/san/asan:detect_leaks=1:abort_on_error=0:exitcode=99"
    export UBSAN_OPTIONS="log_path=$work/san/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=98"
    export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
fi

passed=0
failed=0
failures=()

count() { # reads test output lines on stdin
    local line
    while IFS= read -r line; do
        case "$line" in
            "ok - "*) passed=$((passed + 1)); echo "$line" ;;
            "not ok - "*) failed=$((failed + 1)); failures+=("$line"); echo "$line" ;;
            *) echo "$line" ;;
        esac
    done
}

run_suite() { # name command...
    local name=$1; shift
    local out="$work/$name.out" err="$work/$name.err"
    local before=$((passed + failed))
    timeout 600 "$@" >"$out" 2>"$err"
    local rc=$?
    count <"$out"
    if [ $rc -ne 0 ] && [ $((passed + failed)) -eq "$before" ]; then
        failed=$((failed + 1))
        failures+=("not ok - $name: exited $rc without reporting")
        echo "not ok - $name: exited $rc without reporting"
    fi
    if [ $rc -ne 0 ]; then
        echo "--- stderr of $name (last 30 lines) ---"
        tail -n 30 "$err"
    fi
}

if [ -z "$pattern" ] || [[ unit == *"$pattern"* ]]; then
    run_suite unit "$NZ_BIN/nz-unit"
    # lib/assist.h's tests again under ThreadSanitizer (Makefile: nz-unit-tsan)
    TSAN_OPTIONS="halt_on_error=1 exitcode=66" run_suite unit-tsan "$NZ_BIN/nz-unit-tsan"
    if grep -q 'ThreadSanitizer' "$work/unit-tsan.err"; then
        failed=$((failed + 1))
        failures+=("not ok - unit-tsan: ThreadSanitizer reported (stderr above)")
        echo "not ok - unit-tsan: ThreadSanitizer reported"
    fi
fi
for t in tests/e2e/*.sh; do
    name=$(basename "$t" .sh)
    [ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && continue
    run_suite "$name" bash "$t"
done

if [ "${NZ_SANITIZED:-0}" = 1 ] && compgen -G "$work/san/*" >/dev/null; then
    for f in "$work"/san/*; do
        failed=$((failed + 1))
        failures+=("not ok - sanitizer report $(basename "$f")")
        echo "not ok - sanitizer report $(basename "$f"):"
        head -n 40 "$f"
    done
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo
    echo "failures:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
