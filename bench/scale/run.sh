#!/usr/bin/env bash
# bench/scale: distributed ingestion (nz-pipeline plan | work xN | finish)
# on this machine, over the PostgreSQL manual (1,169 XHTML pages of
# postgresql-doc-15), the openai provider against the mock at 100 ms a
# request, a real PostgreSQL and s3rver on loopback (tests/e2e/lib.sh).
#
#   anchor: `nz-pipeline run` of the same pages on one machine (SQLite
#           catalog, no object store), same rep;
#   N = 1, 2, 4 workers: wall seconds from plan to the finished push,
#           pages/s, and the ratio to the anchor. The workers share this
#           machine's cores, so the line is expected flat: what it shows
#           is the overhead of claiming, uploading shards and finishing.
#   coordination: per batch, the ms a worker spent in the catalog on it
#           (the claim that got it, lease renewals, done), from the
#           workers' summaries: sum(coordination_ms) / sum(batches).
#
# Each N starts fresh (a new plan with --full, new worker roots and
# embedding caches). NZ_BENCH_BATCH (50) pages a batch.
set -u
cd "$(dirname "$0")/../.."
export NZ_BIN=${NZ_BIN:-$PWD/build} NZ_ROOT=$PWD
source tests/e2e/lib.sh
DOCS=/usr/share/doc/postgresql-doc-15/html
BATCH=${NZ_BENCH_BATCH:-50}
[ -d "$DOCS" ] || { echo "bench/scale: needs postgresql-doc-15 (tools/deps.sh test)" >&2; exit 1; }
pg_start || { echo "bench/scale: PostgreSQL did not start" >&2; exit 1; }
start_s3 bk || { echo "bench/scale: s3rver did not start" >&2; exit 1; }
KEY=sk-bench-scale
export OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai
start_mock --latency 100
mkdir -p "$T/src"
cp "$DOCS"/*.html "$T/src/"
pages=$(ls "$T/src" | wc -l)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

s=$(now)
nz-pipeline run -o "$T/anchor/ix" "$T/src" >"$T/anchor.json" 2>"$T/anchor.err" ||
    { echo "bench/scale: the anchor run failed: $(tail -c 300 "$T/anchor.err")" >&2; exit 1; }
anchor=$(secs "$s" "$(now)")
chunks=$(jq .chunks "$T/anchor.json")
printf 'pages %d, chunks %d, batch %d pages; anchor (nz-pipeline run, one machine): %.2f s, %.1f pages/s\n' \
    "$pages" "$chunks" "$BATCH" "$anchor" "$(awk -v p="$pages" -v a="$anchor" 'BEGIN { print p / a }')"
printf '%-8s %8s %10s %8s %10s %12s\n' workers seconds pages/s ratio batches coord_ms/b

export DATABASE_URL=$PG_URL
for n in 1 2 4; do
    s=$(now)
    nz-pipeline plan -o "$T/n$n/ix" --store "s3://bk/n$n" --full --batch-size "$BATCH" "$T/src" \
        >"$T/n$n.plan" 2>"$T/n$n.plan.err" || { echo "plan failed" >&2; exit 1; }
    pids=()
    for w in $(seq 1 "$n"); do
        nz-pipeline work -o "$T/n$n/w$w/ix" >"$T/n$n.w$w.json" 2>"$T/n$n.w$w.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || echo "a worker failed: $(tail -c 200 "$T/n$n.w$w.err")" >&2; done
    nz-pipeline finish -o "$T/n$n/ix" >"$T/n$n.finish" 2>"$T/n$n.finish.err" ||
        echo "finish failed: $(tail -c 300 "$T/n$n.finish.err")" >&2
    e=$(secs "$s" "$(now)")
    got=$(jq .index.count "$T/n$n.finish")
    [ "$got" = "$chunks" ] || echo "bench/scale: $n workers published $got chunks, the anchor $chunks" >&2
    cat "$T"/n$n.w*.json | jq -s -r --arg n "$n" --arg e "$e" --arg p "$pages" --arg a "$anchor" \
        '"\($n) \($e) \(($p | tonumber) / ($e | tonumber)) \(($e | tonumber) / ($a | tonumber)) \(map(.batches) | add) \((map(.coordination_ms) | add) / (map(.batches) | add))"' |
        awk '{ printf "%-8s %8.2f %10.1f %7.2fx %10d %12.1f\n", $1, $2, $3, $4, $5, $6 }'
done
echo "(ratio: wall seconds against the anchor's; on 2 shared cores the line is flat by design)"
