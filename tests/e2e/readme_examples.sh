#!/usr/bin/env bash
# The README's examples, run as printed, and their results checked.
#
# Each runnable example in README.md is a ```sh block right after a line
# <!-- readme_examples: NAME -->; this script takes the block's text from
# the README itself (so the page and the test cannot drift apart) and runs
# it, in README order, in a scratch copy of a clone's top (fixtures/ linked
# in, the build on PATH). Two substitutions only, both for running beside other servers and
# users: the query example's localhost:8000 becomes the port of the server
# started here, and HOME is a scratch directory for `make install
# PREFIX=$HOME/.local`. Also: every relative link of README.md and
# docs/DESIGN.md names a file of the clone.
. "$(dirname "$0")/lib.sh"
README=$NZ_ROOT/README.md

block() { # NAME: the text of the example's sh block
    awk -v m="<!-- readme_examples: $1 -->" '
        $0 == m { f = 1; next }
        f == 1 && /^```/ { f = 2; next }
        f == 2 && /^```/ { exit }
        f == 2 { print }' "$README"
}

# run_block NAME DIR [VAR=VALUE...]: run the block in DIR with bash -e and
# pipefail; its stdout in $T/NAME.out, stderr in $T/NAME.err.
run_block() {
    local name=$1 dir=$2 text
    shift 2
    text=$(block "$name")
    if [ -z "$text" ]; then
        t_fail "$name" "no <!-- readme_examples: $name --> block in README.md"
        return 1
    fi
    (cd "$dir" && env "$@" bash -e -o pipefail -c "$text") >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        t_fail "$name" "exit $rc :: $(tail -c 300 "$T/$name.err" | tr '\n' ' ')"
        return 1
    fi
}

# the README's links
bad=
for f in README.md docs/DESIGN.md; do
    while IFS= read -r link; do
        target=${link%%#*}
        [ -z "$target" ] && continue
        case "$target" in http://* | https://* | mailto:*) continue ;; esac
        [ -e "$(dirname "$NZ_ROOT/$f")/$target" ] || bad="$bad $f:$target"
    done < <(grep -oE '\]\([^)]+\)' "$NZ_ROOT/$f" | sed -E 's/^\]\((.*)\)$/\1/')
done
if [ -z "$bad" ] && ! grep -q '\.\./shared' "$README"; then t_ok links_stay_in_the_clone; else
    t_fail links_stay_in_the_clone "links outside the clone or to missing files:$bad"
fi

# a scratch "clone": the fixtures, the build on PATH (lib.sh)
C=$T/clone
mkdir -p "$C"
ln -s "$NZ_ROOT/fixtures" "$C/fixtures"

# the scheduled job, run by hand: publishes data/index and logs a summary
if run_block scheduled "$C"; then
    if [ "$(wc -l <"$C/data/sources.txt")" -eq 2 ] && [ -L "$C/data/index/current" ] &&
        tail -n 1 "$C/data/runs.jsonl" | jq -e '.status == "published" and .exit == 0 and .index.count > 0' >/dev/null; then
        t_ok scheduled
    else
        t_fail scheduled "unexpected summary: $(tail -c 300 "$C/data/runs.jsonl")"
    fi
fi

# the next morning: the run catalog says what the scheduled run did
if run_block catalog "$C"; then
    if sed -n 1p "$T/catalog.out" | jq -e '.current.snapshot != null and .last_run.status == "published"' >/dev/null &&
        sed -n 2p "$T/catalog.out" | jq -e '.id == 1 and .status == "published" and .summary.run == 1' >/dev/null; then
        t_ok catalog
    else
        t_fail catalog "unexpected: $(head -c 300 "$T/catalog.out")"
    fi
fi

# the data engineer's hand pipeline: build, verify, query in Indonesian
if run_block hand_pipeline "$C"; then
    if [ "$(wc -l <"$T/hand_pipeline.out")" -eq 3 ] &&
        sed -n 1p "$T/hand_pipeline.out" | jq -e '.count > 0 and .kind == "vamana"' >/dev/null &&
        sed -n 2p "$T/hand_pipeline.out" | jq -e '.status == "ok"' >/dev/null &&
        sed -n 3p "$T/hand_pipeline.out" |
        jq -e '(.results | length) == 5 and all(.results[]; .lang == "id")' >/dev/null; then
        t_ok hand_pipeline
    else
        t_fail hand_pipeline "unexpected output: $(head -c 300 "$T/hand_pipeline.out")"
    fi
fi

# one stage's output: the largest chunk is within --max-tokens (400)
if run_block chunk_sizes "$C"; then
    max=$(tail -n 1 "$T/chunk_sizes.out")
    if [[ $max =~ ^[0-9]+$ ]] && [ "$max" -gt 0 ] && [ "$max" -le 400 ] &&
        [ "$(jq -s 'length' "$C/data/chunks.jsonl")" -gt 0 ] && [ -s "$C/data/docs.jsonl" ]; then
        t_ok chunk_sizes
    else
        t_fail chunk_sizes "largest chunk \"$max\" tokens"
    fi
fi

# the app's query and health check against nz-serve on data/index
start_server "$C/data/index"
text=$(block query_api)
if [ "$PORT" = 0 ]; then
    t_fail query_api "nz-serve did not start: $(tail -c 300 "$T/serve.log")"
elif ! grep -q 'localhost:8000' <<<"$text"; then
    t_fail query_api "the example no longer names localhost:8000"
elif (cd "$C" && bash -e -o pipefail -c "${text//localhost:8000/localhost:$PORT}") >"$T/query_api.out" 2>"$T/query_api.err"; then
    if [ "$(wc -l <"$T/query_api.out")" -eq 2 ] &&
        sed -n 1p "$T/query_api.out" | jq -e '(.results | length) == 3 and all(.results[]; .lang == "en")
            and any(.results[]; .heading == "Visa on Arrival (B1)") and (.took_ms | type) == "number"' >/dev/null &&
        sed -n 2p "$T/query_api.out" | jq -e '.status == "ok" and .index.count > 0' >/dev/null; then
        t_ok query_api
    else
        t_fail query_api "unexpected answers: $(head -c 300 "$T/query_api.out")"
    fi
else
    t_fail query_api "curl failed: $(tail -c 300 "$T/query_api.err")"
fi

# make install PREFIX=$HOME/.local, from the clone, with this run's build
# (BUILD, SAN: so that make finds the binaries up to date and, were one
# stale, would rebuild it the same way); then the installed binaries run
H=$T/home
mkdir -p "$H"
unset MAKEFLAGS MFLAGS MAKELEVEL
if run_block install "$NZ_ROOT" HOME="$H" BUILD="${NZ_BUILD:-build}" SAN="${NZ_SANITIZED:-}"; then
    want="nz-chunk nz-embed nz-extract nz-index nz-pipeline nz-serve nz-tokens"
    got=$(ls "$H/.local/bin" | tr '\n' ' ' | sed 's/ $//')
    count=$(tail -n 1 "$T/install.out")
    if [ "$got" = "$want" ] && [[ $count =~ ^[0-9]+$ ]] && [ "$count" -gt 0 ]; then
        t_ok install
    else
        t_fail install "installed \"$got\", token count \"$count\""
    fi
    # nz-pipeline runs the stages installed beside it, with no build on PATH
    if (cd "$T" && env -u NZ_BIN_DIR PATH=/usr/bin:/bin "$H/.local/bin/nz-pipeline" run \
        -o "$T/installed-ix" "$NZ_ROOT/fixtures/docs" >"$T/installed.json" 2>"$T/installed.err") &&
        jq -e '.status == "published" and .index.count > 0' "$T/installed.json" >/dev/null; then
        t_ok installed_pipeline_finds_its_stages
    else
        t_fail installed_pipeline_finds_its_stages "$(tail -c 300 "$T/installed.err")"
    fi
    if (cd "$NZ_ROOT" && HOME="$H" BUILD="${NZ_BUILD:-build}" make --no-print-directory uninstall \
        PREFIX="$H/.local") >/dev/null 2>"$T/uninstall.err" && [ -z "$(ls "$H/.local/bin")" ]; then
        t_ok uninstall
    else
        t_fail uninstall "left: $(ls "$H/.local/bin" | tr '\n' ' ') $(tail -c 200 "$T/uninstall.err")"
    fi
fi

# make demo's script (its packages aside): ingest, serve on a free port, two
# questions with three answers each, and no jq (a jq that fails is first on
# PATH)
mkdir -p "$T/nojq"
printf '#!/bin/sh\necho "demo.sh called jq" >&2\nexit 127\n' >"$T/nojq/jq"
chmod +x "$T/nojq/jq"
if PATH="$T/nojq:$PATH" PORT=0 NZ_DEMO_INDEX="$T/demo-index" NZ_BUILD="${NZ_BUILD:-build}" \
    bash "$NZ_ROOT/tools/demo.sh" >"$T/demo.out" 2>"$T/demo.err" &&
    [ "$(grep -c '^== Q: ' "$T/demo.out")" -eq 2 ] &&
    [ "$(grep -cE '^  [1-3]\. \[0\.[0-9]+\] .+' "$T/demo.out")" -eq 6 ] &&
    [ "$(grep -c '^     source: fixtures/docs/' "$T/demo.out")" -eq 6 ] &&
    grep -q '^   status: published, [1-9][0-9]* chunks in snap-' "$T/demo.out" &&
    grep -q '^   status: ok, index: snap-' "$T/demo.out"; then
    t_ok demo
else
    t_fail demo "$(tail -c 300 "$T/demo.err") $(head -c 300 "$T/demo.out")"
fi
