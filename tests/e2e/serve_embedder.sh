#!/usr/bin/env bash
# nz-serve serves only snapshots of the embedder it was configured for
# (EMBEDDING_PROVIDER / EMBEDDING_MODEL, when set): another embedder's
# snapshot makes it exit 1 at start, and is refused at a swap while the old
# one keeps serving; so is a snapshot with a flipped byte. Each refusal
# names the snapshot and the reason, in the log and in /health's "refused",
# until a newer good snapshot is installed.
source "$(dirname "$0")/lib.sh"
KEY="sk-test-NUZANTARA-SECRET-0123456789"

build_fixture_index "$T/ix" # hash / nz-hash-v1
A=$(readlink "$T/ix/current")

# At start: a mismatch is a deploy mistake, exit 1 with both sides named.
start_refused() { # name env...
    local name=$1; shift
    env "$@" timeout 20 nz-serve --index-path "$T/ix" --port 0 >/dev/null 2>"$T/start.err"
    local rc=$?
    if [ $rc -eq 1 ] && grep -q "refusing snapshot $A: embedder mismatch: the snapshot was embedded with hash/nz-hash-v1" "$T/start.err"
    then t_ok "$name"; else t_fail "$name" "exit $rc: $(tail -c 300 "$T/start.err")"; fi
}
start_refused start_exit_1_openai_large EMBEDDING_PROVIDER=openai EMBEDDING_MODEL=text-embedding-3-large
check start_message_names_both_sides grep -q \
    'hash/nz-hash-v1, this server expects EMBEDDING_PROVIDER=openai EMBEDDING_MODEL=text-embedding-3-large' "$T/start.err"
start_refused start_exit_1_provider_only EMBEDDING_PROVIDER=openai
start_refused start_exit_1_model_only EMBEDDING_MODEL=text-embedding-3-small
check start_message_any_provider grep -q 'EMBEDDING_PROVIDER=(any) EMBEDDING_MODEL=text-embedding-3-small' "$T/start.err"

# Matching, or unset: served.
EMBEDDING_PROVIDER=hash start_server "$T/ix"
[ "$(http GET /health | tail -n1)" = 200 ] && t_ok start_provider_matches || t_fail start_provider_matches "$(tail -c 300 "$T/serve.log")"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"
start_server "$T/ix"
[ "$(http GET /health | tail -n1)" = 200 ] && t_ok start_unset_serves_any || t_fail start_unset_serves_any "$(tail -c 300 "$T/serve.log")"
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"

# A swap: the server expects hash/nz-hash-v1 and is serving A.
: >"$T/serve.log"
EMBEDDING_PROVIDER=hash EMBEDDING_MODEL=nz-hash-v1 start_server "$T/ix"
served() { http GET /health | head -n1 | jq -r .index.snapshot; }
wait_log() { # pattern: up to 5 s for the server to log it
    for _ in $(seq 1 50); do grep -q "$1" "$T/serve.log" && return 0; sleep 0.1; done
    return 1
}
[ "$(served)" = "$A" ] && t_ok serving_a || t_fail serving_a "$(http GET /health)"

# B: the same documents embedded by openai/text-embedding-3-small (the mock).
start_mock
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null |
    OPENAI_API_KEY=$KEY EMBEDDING_PROVIDER=openai nz-embed --no-cache 2>/dev/null |
    nz-index build -o "$T/ix" >/dev/null 2>"$T/build.err"
B=$(readlink "$T/ix/current")
[ "$B" != "$A" ] && jq -e '.embedding.provider == "openai"' "$T/ix/$B/MANIFEST.json" >/dev/null &&
    t_ok published_openai_snapshot || t_fail published_openai_snapshot "$(tail -c 300 "$T/build.err")"
# no SIGHUP: the once-a-second check finds it (a SIGHUP would force a re-check)
check swap_refuses_other_embedder wait_log "refusing snapshot $B: embedder mismatch: the snapshot was embedded with openai/text-embedding-3-small, this server expects EMBEDDING_PROVIDER=hash EMBEDDING_MODEL=nz-hash-v1"
[ "$(served)" = "$A" ] && t_ok old_snapshot_keeps_serving || t_fail old_snapshot_keeps_serving "$(http GET /health)"
r=$(http POST /v1/query '{"query":"visa on arrival","k":2}')
[ "${r##*$'\n'}" = 200 ] && t_ok query_answered_by_old || t_fail query_answered_by_old "$r"
h=$(http GET /health)
check health_shows_embedder_refusal jq1 --arg a "$A" --arg b "$B" '.status == "ok" and .index.snapshot == $a and
    .refused.snapshot == $b and (.refused.reason|startswith("embedder mismatch: the snapshot was embedded with openai/text-embedding-3-small, this server expects EMBEDDING_PROVIDER=hash EMBEDDING_MODEL=nz-hash-v1"))' <<<"${h%$'\n'*}"
check refused_not_retried_every_second bash -c "sleep 1.5; [ \$(grep -c 'refusing snapshot $B' '$T/serve.log') -eq 1 ]"

# C: our embedder, one byte flipped before it goes live.
C=$(publish_corrupt "$T/ix")
kill -HUP "$SERVER_PID"
check swap_refuses_flipped_byte wait_log "refusing snapshot $C: corrupt: vectors.bin: CRC32"
check reason_has_no_index_path bash -c "! grep 'refusing snapshot $C' '$T/serve.log' | grep -q '$T/ix/'"
[ "$(served)" = "$A" ] && t_ok old_snapshot_still_serving || t_fail old_snapshot_still_serving "$(http GET /health)"
h=$(http GET /health)
check health_shows_newest_refusal jq1 --arg c "$C" '.refused.snapshot == $c and
    (.refused.reason|startswith("corrupt: vectors.bin: CRC32"))' <<<"${h%$'\n'*}"

# D: a newer good snapshot is installed.
build_fixture_index "$T/ix"
D=$(readlink "$T/ix/current")
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ "$(served)" = "$D" ] && break; sleep 0.1; done
[ "$(served)" = "$D" ] && t_ok newer_good_snapshot_installed || t_fail newer_good_snapshot_installed "$(http GET /health)"
h=$(http GET /health)
check health_refusal_cleared jq1 '.status == "ok" and has("refused") == false' <<<"${h%$'\n'*}"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
[ $rc -eq 0 ] && t_ok sigterm_exit_0 || t_fail sigterm_exit_0 "exit $rc"
if grep -q "$KEY" "$T/serve.log"; then t_fail key_never_logged found; else t_ok key_never_logged; fi
