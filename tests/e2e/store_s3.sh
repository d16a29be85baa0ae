#!/usr/bin/env bash
# nz-index push / pull against a real S3-compatible server on loopback
# (s3rver, from npm): a round trip byte for byte, `latest` written last,
# multipart uploads and Range downloads, a corrupted object refused, a
# second pull that downloads nothing, a pull killed with SIGKILL, keys
# never printed; and SigV4 signatures recomputed independently by
# botocore (s3rver does not check them) over the requests libcurl sent.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
NPM="$NZ_ROOT/${NZ_BUILD:-build}/npm"
if [ ! -d "$NPM/node_modules/s3rver" ]; then
    mkdir -p "$NPM"
    (cd "$NPM" && npm install --silent --no-audit --no-fund s3rver@3.7.1) >"$T/npm.log" 2>&1 ||
        { t_fail s3rver_installed "npm install failed: $(tail -c 300 "$T/npm.log")"; exit 0; }
fi
$PY -c 'import botocore.auth' 2>/dev/null || { t_fail botocore_installed "python3-botocore is missing (tools/deps.sh test)"; exit 0; }

S3PORT=$(free_port)
node "$NPM/node_modules/s3rver/bin/s3rver.js" -d "$T/s3" -a 127.0.0.1 -p "$S3PORT" \
    --configure-bucket bk >"$T/s3rver.log" 2>&1 &
SERVER_PIDS+=("$!")
for _ in $(seq 1 100); do
    grep -q listening "$T/s3rver.log" && break
    sleep 0.05
done
SECRET="nz-S3-secret-$RANDOM$RANDOM"
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3PORT" AWS_REGION=eu-test-1
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY="$SECRET"
LOGS="$T/all.log" # every nz-index stdout and stderr, searched for the keys at the end
run() { "$@" >"$T/run.out" 2>"$T/run.err"; local rc=$?; cat "$T/run.out" "$T/run.err" >>"$LOGS"; return $rc; }

"$PY" "$NZ_ROOT/bench/ann/gen.py" 3000 10 64 "$T/d" 7 >/dev/null || t_fail generate_data "gen.py failed"
nz-index build -o "$T/src" --fvecs "$T/d/base.fvecs" >/dev/null 2>&1
SNAP=$(readlink "$T/src/current")

# ---- push, then pull into an empty root
run nz-index push -o "$T/src" s3://bk/team/ix && t_ok push_exit_0 || t_fail push_exit_0 "$(tail -c 300 "$T/run.err")"
check push_reports_snapshot jq -e --arg s "$SNAP" '.pushed == $s and .files == 6' "$T/run.out"
check latest_object_points_at_snapshot bash -c "jq -e --arg s '$SNAP' '.snapshot == \$s and (.manifest_crc32 | type) == \"number\"' '$T/s3/bk/team/ix/latest._S3rver_object'"
# s3rver logs each stored object in order: `latest` last, after all the snapshot's files
grep -o 'Stored object "[^"]*"' "$T/s3rver.log" | sed 's/.*"\(.*\)"/\1/' >"$T/order"
check latest_written_last bash -c "[ \"\$(tail -1 '$T/order')\" = team/ix/latest ] && [ \$(grep -c '^team/ix/snapshots/$SNAP/' '$T/order') = 6 ] && [ \$(grep -n MANIFEST.json '$T/order' | cut -d: -f1) = 6 ]"
run nz-index pull -o "$T/dst" s3://bk/team/ix && t_ok pull_exit_0 || t_fail pull_exit_0 "$(tail -c 300 "$T/run.err")"
check pull_reports_download jq -e --arg s "$SNAP" '.pulled == $s and .downloaded == true and .files == 6' "$T/run.out"
check pulled_is_current bash -c "[ \"\$(readlink '$T/dst/current')\" = '$SNAP' ]"
for f in MANIFEST.json vectors.bin chunks.bin codes.bin graph.bin lexical.bin; do
    check "same_bytes_$f" cmp -s "$T/src/$SNAP/$f" "$T/dst/$SNAP/$f"
done
check pulled_verifies nz-index verify "$T/dst"
check pull_leaves_no_tmp bash -c "! ls -a '$T/dst' | grep -q '^\.tmp-'"

# ---- a second pull downloads nothing
reqs() { grep -cE ' [0-9]{3} [0-9]+ms ' "$T/s3rver.log"; } # s3rver logs one line a request
n0=$(reqs)
run nz-index pull -o "$T/dst" s3://bk/team/ix
check second_pull_downloads_nothing jq -e '.downloaded == false and .files == 0 and .requests == 1' "$T/run.out"
check second_pull_only_reads_latest test "$(reqs)" = $((n0 + 1))

# ---- multipart uploads and Range downloads (parts of 64 KiB; files up to ~800 KB)
run env NZ_S3_PART_SIZE=65536 nz-index push -o "$T/src" s3://bk/mp
check multipart_push_ok jq -e '.requests > 20' "$T/run.out"
check multipart_requests_seen bash -c "grep -q 'uploadId' '$T/s3rver.log'"
check multipart_object_complete cmp -s "$T/src/$SNAP/vectors.bin" "$T/s3/bk/mp/snapshots/$SNAP/vectors.bin._S3rver_object"
run env NZ_S3_PART_SIZE=65536 nz-index pull -o "$T/mp" s3://bk/mp
check range_pull_ok jq -e '.downloaded == true and .requests > 20' "$T/run.out"
check range_requests_seen bash -c "grep -q ' 206 ' '$T/s3rver.log'"
check range_pull_same_bytes cmp -s "$T/src/$SNAP/vectors.bin" "$T/mp/$SNAP/vectors.bin"
check range_pull_verifies nz-index verify "$T/mp"
expect_exit part_size_under_5mib_needs_explicit 0 env NZ_S3_PART_SIZE=5242880 nz-index pull -o "$T/mp" s3://bk/mp
expect_exit part_size_too_small_refused 1 env NZ_S3_PART_SIZE=100 nz-index pull -o "$T/mp" s3://bk/mp

# ---- a corrupted object is refused; current stays
nz-index build -o "$T/other" --fvecs "$T/d/base.fvecs" --seed 3 >/dev/null 2>&1
before=$(readlink "$T/other/current")
obj="$T/s3/bk/team/ix/snapshots/$SNAP/vectors.bin._S3rver_object"
cp "$obj" "$T/vectors.good"
printf '\x5a' | dd of="$obj" bs=1 seek=1000 conv=notrunc 2>/dev/null
cmp -s "$obj" "$T/vectors.good" && printf '\xa5' | dd of="$obj" bs=1 seek=1000 conv=notrunc 2>/dev/null
run nz-index pull -o "$T/other" s3://bk/team/ix
check corrupt_pull_exit_1 test $? -eq 1
check corrupt_pull_says_crc grep -qi 'crc' "$T/run.err"
check corrupt_pull_current_unchanged bash -c "[ \"\$(readlink '$T/other/current')\" = '$before' ] && nz-index verify '$T/other'"
check corrupt_pull_leaves_nothing bash -c "! ls -a '$T/other' | grep -q -e '^\.tmp-' -e '^$SNAP\$'"
cp "$T/vectors.good" "$obj"
# a `latest` that points outside its prefix is refused (uploaded with curl's own SigV4)
echo '{"snapshot":"../x","manifest_crc32":1}' >"$T/bad.json"
curl -sS -o /dev/null --aws-sigv4 "aws:amz:eu-test-1:s3" -u "S3RVER:$SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$T/bad.json" "$AWS_ENDPOINT_URL/bk/bad/latest"
run nz-index pull -o "$T/other" s3://bk/bad
check bad_latest_refused test $? -eq 1
check bad_latest_says_so grep -q 'not a snapshot pointer' "$T/run.err"
run nz-index pull -o "$T/other" s3://bk/nothere
check missing_latest_exit_1 test $? -eq 1
check missing_latest_is_404 grep -q 'HTTP 404 NoSuchKey' "$T/run.err"
check failed_pulls_current_unchanged bash -c "[ \"\$(readlink '$T/other/current')\" = '$before' ]"

# ---- a pull killed with SIGKILL: current intact, only a .tmp- dir, removed by the next pull
"$PY" "$NZ_ROOT/bench/ann/gen.py" 30000 10 128 "$T/big" 11 >/dev/null
nz-index build -o "$T/bigsrc" --fvecs "$T/big/base.fvecs" >/dev/null 2>&1
run nz-index push -o "$T/bigsrc" s3://bk/big
BIG=$(readlink "$T/bigsrc/current")
killed=0
for delay in 0.3 0.6 1.0 0.15; do
    NZ_S3_PART_SIZE=65536 nz-index pull -o "$T/other" s3://bk/big >/dev/null 2>>"$LOGS" &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ "$(readlink "$T/other/current")" = "$before" ] || break
    ls -a "$T/other" | grep -q "^\.tmp-$BIG\$" && { killed=1; break; }
done
check killed_pull_left_tmp test "$killed" = 1
check killed_pull_current_intact bash -c "[ \"\$(readlink '$T/other/current')\" = '$before' ] && nz-index verify '$T/other'"
check killed_pull_nothing_published bash -c "! ls '$T/other' | grep -qx '$BIG'"
run nz-index pull -o "$T/other" s3://bk/big
check pull_after_kill_ok bash -c "[ \"\$(readlink '$T/other/current')\" = '$BIG' ] && nz-index verify '$T/other'"
check pull_after_kill_removed_tmp bash -c "! ls -a '$T/other' | grep -q '^\.tmp-'"
# a build removes a killed pull's directory too
mkdir "$T/other/.tmp-$BIG"
nz-index build -o "$T/other" --fvecs "$T/d/base.fvecs" >/dev/null 2>&1
check build_removes_killed_pull_tmp bash -c "! ls -a '$T/other' | grep -q '^\.tmp-'"

# ---- errors: bad URL, no endpoint, wrong key id, nothing listening; keys never printed
expect_exit bad_url_usage 2 nz-index push -o "$T/src" http://bk/x
expect_exit pull_no_snapshot_flag 2 nz-index pull --snapshot x s3://bk/x
expect_exit no_endpoint_fails 1 env -u AWS_ENDPOINT_URL nz-index pull -o "$T/x" s3://bk/x
check no_endpoint_says_so grep -q AWS_ENDPOINT_URL "$T/exp.err"
run env AWS_ACCESS_KEY_ID=AKIDNZLEAK01 nz-index push -o "$T/src" s3://bk/k
check unknown_key_id_refused grep -q 'HTTP 403' "$T/run.err"
run env AWS_ENDPOINT_URL="http://127.0.0.1:$(free_port)" nz-index pull -o "$T/x" s3://bk/x
check nothing_listening_fails_after_retries bash -c "grep -q 'attempt 4 of 4\|Could not connect\|refused' '$T/run.err'"
check keys_never_printed bash -c "! grep -q -e '$SECRET' -e AKIDNZLEAK01 '$LOGS'"
check keys_not_in_usage bash -c "! nz-index --help | grep -q '$SECRET'"

# ---- SigV4: libcurl's Authorization header equals botocore's, over every
# request of a multipart push captured by a loopback listener
cat >"$T/capture.py" <<'PYEOF'
import http.server, json, sys
out = open(sys.argv[2], "a")
mode = sys.argv[3] if len(sys.argv) > 3 else ""  # flaky: part 2 fails once; fail: always
failed = []
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_one(self, body):
        out.write(json.dumps({"method": self.command, "path": self.path,
                              "headers": dict(self.headers.items()),
                              "body": body.hex()}) + "\n")
        out.flush()
        if "partNumber=2&" in self.path and (mode == "fail" or (mode == "flaky" and not failed)):
            failed.append(1)
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        reply = b"<InitiateMultipartUploadResult><UploadId>up/1+x=</UploadId></InitiateMultipartUploadResult>"
        self.send_response(200)
        self.send_header("ETag", '"0123abcd"')
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))
    def do_PUT(self): self.handle_one(self.body())
    def do_POST(self): self.handle_one(self.body())
    def do_GET(self): self.handle_one(b"")
    def do_DELETE(self): self.handle_one(b"")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
CPORT=$(free_port)
"$PY" "$T/capture.py" "$CPORT" "$T/captured.jsonl" &
SERVER_PIDS+=("$!")
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$CPORT") 2>/dev/null && break; sleep 0.05; done
run env AWS_ENDPOINT_URL="http://127.0.0.1:$CPORT" AWS_ACCESS_KEY_ID=AKIDNZLEAK02 NZ_S3_PART_SIZE=300000 \
    nz-index push -o "$T/src" s3://bk/sig
cat >"$T/sigcheck.py" <<'PYEOF'
import hashlib, json, sys
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, secret = sys.argv[2], sys.argv[3]
def sign(req, key_id, secret):
    h = {k.lower(): v for k, v in req["headers"].items()}
    auth = h["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    r = AWSRequest(method=req["method"], url="http://127.0.0.1:%s%s" % (port, req["path"]),
                   data=bytes.fromhex(req["body"]), headers={k: h[k] for k in signed})
    r.context["timestamp"] = h["x-amz-date"]
    s = S3SigV4Auth(Credentials(key_id, secret), "s3", "eu-test-1")
    creq = s.canonical_request(r)
    return s.signature(s.string_to_sign(r, creq), r), ";".join(signed), s.signed_headers(s.headers_to_sign(r))
kinds = set()
n = 0
for line in open(sys.argv[1]):
    req = json.loads(line)
    h = {k.lower(): v for k, v in req["headers"].items()}
    body = bytes.fromhex(req["body"])
    assert h["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest(), "payload hash"
    auth = h["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDNZLEAK02/"), auth[:40]
    assert "/eu-test-1/s3/aws4_request" in auth
    sent = auth.split("Signature=")[1]
    mine, sh_sent, sh_mine = sign(req, "AKIDNZLEAK02", secret)
    assert sh_sent == sh_mine, (sh_sent, sh_mine)
    assert sent == mine, (req["method"], req["path"], sent, mine)
    wrong, _, _ = sign(req, "AKIDNZLEAK02", secret + "x")
    assert wrong != sent
    kinds.add(req["method"] + (" " + req["path"].split("?")[1].split("=")[0] if "?" in req["path"] else ""))
    n += 1
print(n, sorted(kinds))
assert {"POST uploads", "PUT partNumber", "POST uploadId", "PUT"} <= kinds, kinds
PYEOF
"$PY" "$T/sigcheck.py" "$T/captured.jsonl" "$CPORT" "$SECRET" >"$T/sig.out" 2>"$T/sig.err" &&
    { echo "# signatures checked: $(cat "$T/sig.out")"; t_ok sigv4_matches_botocore; } ||
    t_fail sigv4_matches_botocore "$(tail -c 400 "$T/sig.err")"
check keys_never_printed_at_all bash -c "! grep -q -e '$SECRET' -e AKIDNZLEAK '$LOGS'"

# ---- a part that fails once is retried; one that keeps failing aborts the upload
start_capture() { # mode log
    CPORT=$(free_port)
    "$PY" "$T/capture.py" "$CPORT" "$2" "$1" &
    SERVER_PIDS+=("$!")
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$CPORT") 2>/dev/null && break; sleep 0.05; done
}
start_capture flaky "$T/flaky.jsonl"
run env AWS_ENDPOINT_URL="http://127.0.0.1:$CPORT" NZ_S3_PART_SIZE=300000 nz-index push -o "$T/src" s3://bk/flaky
check flaky_part_retried jq -e '.retries == 1' "$T/run.out"
check flaky_part_warned grep -q 'attempt 1 of 4' "$T/run.err"
start_capture fail "$T/fail.jsonl"
run env AWS_ENDPOINT_URL="http://127.0.0.1:$CPORT" NZ_S3_PART_SIZE=300000 nz-index push -o "$T/src" s3://bk/fail
check failing_part_push_exit_1 test $? -eq 1
check failing_part_tried_4_times test "$(jq -r 'select(.path | contains("partNumber=2&")) | .method' "$T/fail.jsonl" | wc -l)" = 4
check failing_part_aborts_upload bash -c "jq -e -s '[.[] | select(.method == \"DELETE\" and (.path | contains(\"uploadId=up%2F1%2Bx%3D\")))] | length == 1' '$T/fail.jsonl'"
check failing_part_no_latest bash -c "! jq -r .path '$T/fail.jsonl' | grep -q latest"
check keys_never_printed_after_failures bash -c "! grep -q -e '$SECRET' -e AKIDNZLEAK '$LOGS'"
