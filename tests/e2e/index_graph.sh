#!/usr/bin/env bash
# The graph index end to end: build from .fvecs, recall against numpy's
# exact ground truth, search output formats, byte-identical builds, 20
# SIGKILLs at random moments of a build, corruption, and bad input files.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
G=$NZ_ROOT/bench/ann

"$PY" "$G/gen.py" 4000 100 128 "$T/d" 7 || t_fail generate_data "gen.py failed"

# ---- build, verify, recall
expect_exit build_from_fvecs 0 nz-index build -o "$T/ix" --fvecs "$T/d/base.fvecs"
check build_reports_vamana jq -e '.kind == "vamana" and .count == 4000' "$T/exp.out"
check graph_verifies nz-index verify "$T/ix"
check manifest_names_graph_files bash -c "nz-index info '$T/ix' | jq -e '.manifest.index.kind == \"vamana\" and ([.manifest.files[].name] | index(\"graph.bin\") and index(\"codes.bin\"))'"
nz-index search "$T/ix" --fvecs "$T/d/query.fvecs" -k 10 --ef 200 -o "$T/hi.ivecs" >"$T/hi.json" 2>"$T/hi.err"
rec=$("$PY" "$G/recall.py" "$T/d/gt.ivecs" "$T/hi.ivecs" 10)
awk -v r="$rec" 'BEGIN { exit !(r >= 0.99) }' && { echo "# recall@10 at ef 200: $rec"; t_ok recall_at_ef200; } || t_fail recall_at_high_ef "recall@10 $rec < 0.99"
check search_prints_qps_last jq -e '.qps > 0 and .queries == 100 and .search == "graph"' "$T/hi.json"
nz-index search "$T/ix" --fvecs "$T/d/query.fvecs" -k 10 --exact --threads 2 -o "$T/ex.ivecs" >/dev/null 2>&1
rec=$("$PY" "$G/recall.py" "$T/d/gt.ivecs" "$T/ex.ivecs" 10)
awk -v r="$rec" 'BEGIN { exit !(r >= 0.999) }' && t_ok exact_search_matches_numpy || t_fail exact_search_matches_numpy "recall $rec"
nz-index search "$T/ix" --fvecs "$T/d/query.fvecs" -k 5 --ef 64 >"$T/lines.json" 2>/dev/null
check search_json_lines bash -c "[ \$(wc -l <'$T/lines.json') = 101 ] && head -1 '$T/lines.json' | jq -e '.query == 0 and (.ids | length) == 5 and (.scores | length) == 5'"
check ivecs_has_k_per_query bash -c "[ \$(stat -c %s '$T/hi.ivecs') = $((100 * 11 * 4)) ]"
# the query CLI walks the graph, and --exact scans
vec=$("$PY" -c "import numpy as np; a=np.fromfile('$T/d/query.fvecs',dtype=np.int32); print('[' + ','.join(repr(float(x)) for x in a[1:129].view(np.float32)) + ']')")
nz-index query "$T/ix" --vector "$vec" -k 3 --ef 100 >"$T/q1.json" 2>"$T/q1.err"
nz-index query "$T/ix" --vector "$vec" -k 3 --exact >"$T/q2.json" 2>"$T/q2.err"
check query_graph_equals_exact_top3 bash -c "[ \"\$(jq -c '[.results[].chunk_id]' '$T/q1.json')\" = \"\$(jq -c '[.results[].chunk_id]' '$T/q2.json')\" ]"

# ---- the same input and seed give the same snapshot, whatever the threads
nz-index build -o "$T/t1" --threads 1 --fvecs "$T/d/base.fvecs" >/dev/null 2>&1
nz-index build -o "$T/t2" --threads 2 --fvecs "$T/d/base.fvecs" >/dev/null 2>&1
for f in graph.bin codes.bin vectors.bin chunks.bin; do
    check "same_bytes_1_vs_2_threads_$f" cmp -s "$T/t1/current/$f" "$T/t2/current/$f"
done
nz-index build -o "$T/t3" --threads 2 --seed 9 --fvecs "$T/d/base.fvecs" >/dev/null 2>&1
check other_seed_other_graph bash -c "! cmp -s '$T/t1/current/graph.bin' '$T/t3/current/graph.bin'"

# ---- 20 SIGKILLs at random moments of a build
"$PY" "$G/gen.py" 30000 10 128 "$T/big" 11 >/dev/null
before=$(readlink "$T/ix/current")
s=$(date +%s.%N)
nz-index build -o "$T/timing" --fvecs "$T/big/base.fvecs" >/dev/null 2>&1
dur=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
kills=0
bad=0
attempt=0
while [ "$kills" -lt 20 ] && [ "$attempt" -lt 40 ]; do
    attempt=$((attempt + 1))
    # a moment in the first 80% of a build: reading, coding or the graph
    delay=$(awk -v d="$dur" -v s="$attempt" 'BEGIN { srand(s * 7919); printf "%.3f", rand() * d * 0.8 }')
    nz-index build -o "$T/ix" --fvecs "$T/big/base.fvecs" >/dev/null 2>>"$T/kills.err" &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null # succeeds on a finished, unreaped build too: the status tells
    wait "$pid" 2>/dev/null
    rc=$?
    published=$(grep -c '"msg":"published"' "$T/kills.err")
    if [ "$rc" -eq 0 ] || [ "$published" -gt "${published_before:-0}" ]; then
        # it finished (or had published and was only exiting): its snapshot
        # is complete, and the one to keep
        published_before=$published
        before=$(readlink "$T/ix/current")
        continue
    fi
    kills=$((kills + 1))
    # The invariant: current always verifies. It may have moved, if the kill
    # landed after the publishing rename but before the "published" line
    # (while old snapshots are pruned): then it is this build's whole
    # snapshot, and it must verify like any other.
    now=$(readlink "$T/ix/current")
    if ! nz-index verify "$T/ix" >/dev/null 2>&1; then
        bad=$((bad + 1))
        echo "# kill $kills at ${delay}s (exit $rc): current $now (was $before) does not verify" >&2
    elif [ "$now" != "$before" ]; then
        echo "# kill $kills at ${delay}s (exit $rc): killed after publishing $now" >&2
        before=$now
    fi
done
[ "$bad" = 0 ] && t_ok "20_random_sigkills_keep_current_verified" || t_fail 20_random_sigkills "$bad of $kills kills left a bad current"
[ "$kills" -ge 20 ] && t_ok sigkills_landed || t_fail sigkills_landed "only $kills kills landed in $attempt builds (a build took ${dur}s)"
expect_exit build_after_kills 0 nz-index build -o "$T/ix" --fvecs "$T/d/base.fvecs"
check build_after_kills_cleans_up bash -c "! ls -a '$T/ix' | grep -q '^.tmp-'"

# ---- corruption: one flipped byte fails verify, and the server refuses it
cp -r "$(readlink -f "$T/ix/current")" "$T/corrupt-snap"
mkdir -p "$T/corrupt"
cname=$(readlink "$T/ix/current") # its own name: verify checks the manifest's against it
mv "$T/corrupt-snap" "$T/corrupt/$cname"
ln -s "$cname" "$T/corrupt/current"
"$PY" -c "
f = open('$T/corrupt/current/graph.bin', 'r+b'); f.seek(5000); b = f.read(1); f.seek(5000); f.write(bytes([b[0] ^ 4])); f.close()"
expect_exit flipped_byte_fails_verify 1 nz-index verify "$T/corrupt"
check flipped_byte_error_names_file grep -q "graph.bin" "$T/exp.err"
start_server "$T/corrupt"
h=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health")
[ "$h" = 503 ] && t_ok server_refuses_corrupt_snapshot || t_fail server_refuses_corrupt_snapshot "/health answered $h"

# ---- bad input files: clear error, exit 3, nothing published
cur=$(readlink "$T/ix/current")
"$PY" - "$T" <<'PYEOF'
import sys, numpy as np
t = sys.argv[1]
a = np.fromfile(t + "/d/base.fvecs", dtype=np.int32).reshape(-1, 129)[:50].copy()
a[:1].tofile(t + "/one.fvecs")
w = a.copy(); w[20, 0] = 64; w.tofile(t + "/wrongdim.fvecs")
n = a.copy(); n[30, 5] = np.array([np.nan], dtype=np.float32).view(np.int32)[0]; n.tofile(t + "/nan.fvecs")
a.tofile(t + "/trunc.fvecs")
with open(t + "/trunc.fvecs", "r+b") as f: f.truncate(50 * 129 * 4 - 10)
PYEOF
expect_exit fvecs_wrong_dimension 3 nz-index build -o "$T/ix" --fvecs "$T/wrongdim.fvecs"
check fvecs_wrong_dimension_says_row grep -q "row 20 has dimension 64" "$T/exp.err"
expect_exit fvecs_nan 3 nz-index build -o "$T/ix" --fvecs "$T/nan.fvecs"
check fvecs_nan_says_row grep -q "row 30 has a NaN" "$T/exp.err"
expect_exit fvecs_truncated 3 nz-index build -o "$T/ix" --fvecs "$T/trunc.fvecs"
check fvecs_truncated_says_row grep -q "truncated in row 49" "$T/exp.err"
check bad_files_publish_nothing bash -c "[ \"\$(readlink '$T/ix/current')\" = '$cur' ] && ! ls -a '$T/ix' | grep -q '^.tmp-'"
"$PY" "$G/gen.py" 100 5 64 "$T/d64" 3 >/dev/null
expect_exit query_dimension_mismatch 3 nz-index search "$T/ix" --fvecs "$T/d64/query.fvecs"
check query_dimension_mismatch_says_so grep -q "dimension 64, the index 128" "$T/exp.err"
expect_exit single_row_index 0 nz-index build -o "$T/one" --fvecs "$T/one.fvecs"
check single_row_searchable bash -c "nz-index search '$T/one' --fvecs '$T/one.fvecs' -k 3 | head -1 | jq -e '.ids == [0]'"
