#!/usr/bin/env bash
# One ingestion machine, read replicas following it through object storage
# (s3rver on loopback): `nz-pipeline run --push` uploads what it published;
# `nz-serve --follow` on an empty volume pulls the latest snapshot before it
# is healthy, then swaps each new one in; an unchanged night pushes
# nothing; a push that fails is exit 1 with the reason in the summary, and
# the keys are never printed.
source "$(dirname "$0")/lib.sh"
if ! start_s3 bk; then
    t_fail s3rver_started "$(tail -c 300 "$T/npm.log" "$T/s3rver.log" 2>/dev/null | tr '\n' ' ')"
    exit 0
fi
t_ok s3rver_started
mkdir -p "$T/src"
cp -r "$NZ_ROOT/fixtures/docs/en" "$T/src/"
URL=s3://bk/prod

# the ingestion machine publishes and pushes
nz-pipeline run -o "$T/ingest" --push "$URL" "$T/src" >"$T/run1.json" 2>"$T/run1.err"
rc=$?
[ $rc -eq 0 ] && t_ok push_run_exit_0 || t_fail push_run_exit_0 "exit $rc: $(tail -c 300 "$T/run1.err")"
check push_in_summary jq -e '.status == "published" and .push.pushed == .index.snapshot and .push.files == 6' "$T/run1.json"
check push_recorded_in_catalog bash -c "nz-pipeline runs -o '$T/ingest' --format json | jq -e '.summary.push.pushed != null' >/dev/null"
first=$(jq -r .index.snapshot "$T/run1.json")

# a replica on an empty volume: 503 until its first pull lands, then healthy
start_server "$T/replica" --follow "$URL" --follow-interval 1
for _ in $(seq 1 200); do
    [ "$(http GET /health | tail -1)" = 200 ] && break
    sleep 0.05
done
http GET /health >"$T/health1"
check replica_healthy_after_pull bash -c "[ \"\$(tail -1 '$T/health1')\" = 200 ] && head -1 '$T/health1' | jq -e --arg s '$first' '.index.snapshot == \$s' >/dev/null"
http POST /v1/query '{"query":"work permit KITAS","k":2}' >"$T/q1"
check replica_answers bash -c "[ \"\$(tail -1 '$T/q1')\" = 200 ] && head -1 '$T/q1' | jq -e '(.results | length) == 2' >/dev/null"

# an unchanged night pushes nothing
nz-pipeline run -o "$T/ingest" --push "$URL" "$T/src" >"$T/run2.json" 2>"$T/run2.err"
check unchanged_pushes_nothing jq -e '.status == "unchanged" and .push == null' "$T/run2.json"

# a change is pushed, and the replica swaps it in by itself
echo "Sponsors must report a KITAS holder's change of address within 14 days." >>"$T/src/en/work-permit-kitas.md"
nz-pipeline run -o "$T/ingest" --push "$URL" "$T/src" >"$T/run3.json" 2>"$T/run3.err"
second=$(jq -r .index.snapshot "$T/run3.json")
check second_push jq -e '.push.pushed == .index.snapshot and .sources.changed == 1' "$T/run3.json"
for _ in $(seq 1 100); do
    http GET /health | head -1 | jq -e --arg s "$second" '.index.snapshot == $s' >/dev/null 2>&1 && break
    sleep 0.1
done
if http GET /health | head -1 | jq -e --arg s "$second" '.index.snapshot == $s' >/dev/null; then
    t_ok replica_follows_new_snapshot
else
    t_fail replica_follows_new_snapshot "still $(http GET /health | head -1 | jq -r .index.snapshot), pushed $second"
fi

# a push that cannot reach the store: the run published locally, exit 1, the
# reason in the summary, and no key anywhere
echo "One more line." >>"$T/src/en/work-permit-kitas.md"
AWS_ENDPOINT_URL="http://127.0.0.1:$(free_port)" nz-pipeline run -o "$T/ingest" --push "$URL" "$T/src" \
    >"$T/run4.json" 2>"$T/run4.err"
rc=$?
[ $rc -eq 1 ] && t_ok failed_push_exit_1 || t_fail failed_push_exit_1 "exit $rc"
check failed_push_explained jq -e '.status == "published" and (.push.error | length) > 0' "$T/run4.json"
check keys_never_printed bash -c "! grep -qF \"\$AWS_SECRET_ACCESS_KEY\" '$T'/run*.json '$T'/run*.err '$T/serve.log'"
expect_exit bad_follow_url_is_usage 2 nz-serve --index-path "$T/x" --port 0 --follow http://not-s3
