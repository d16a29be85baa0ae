#!/usr/bin/env bash
# bench/embed: nz-embed's throughput against its ceiling, on the
# OpenAI-compatible mock at 100 ms latency, 5,000 chunks, same run:
#   ceiling = min(concurrency x batch / latency, the rate limit)
# and against --concurrency 1, which is how LangChain and LlamaIndex send
# their batches. Target: at least 90% of the ceiling.
set -eu
cd "$(dirname "$0")/../.."
BIN=${NZ_BIN:-$PWD/build}
W=$PWD/build/bench-embed
mkdir -p "$W"
LAT=100 BATCH=100 CONC=4 N=5000
if [ ! -s "$W/chunks.jsonl" ]; then
    "$BIN/nz-extract" /usr/share/doc/postgresql-doc-15/html 2>/dev/null | "$BIN/nz-chunk" 2>/dev/null |
        head -n "$N" >"$W/chunks.jsonl"
fi
n=$(wc -l <"$W/chunks.jsonl")
mock_pid=
start_mock() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
    rm -f "$W/port"
    "$BIN/nz-mockembed" --port 0 --port-file "$W/port" --latency "$LAT" --fast "$@" &
    mock_pid=$!
    for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.05; done
}
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null' EXIT
run() { # nz-embed args: prints seconds
    local s e
    s=$(date +%s.%N)
    OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$(cat "$W/port")" \
        "$BIN/nz-embed" --provider openai --no-cache --batch "$BATCH" "$@" <"$W/chunks.jsonl" >/dev/null 2>"$W/err"
    e=$(date +%s.%N)
    awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }'
}
rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
REPS=${NZ_BENCH_REPS:-3}
echo "mock: ${LAT} ms latency; $n chunks; batch $BATCH; median of $REPS interleaved runs"
start_mock
a4=() a1=()
for _ in $(seq 1 "$REPS"); do
    a4+=("$(run --concurrency "$CONC")")
    a1+=("$(run --concurrency 1)")
done
t4=$(median "${a4[@]}")
t1=$(median "${a1[@]}")
ceil=$(awk -v c="$CONC" -v b="$BATCH" -v l="$LAT" 'BEGIN { printf "%.0f", c * b / (l / 1000) }')
r4=$(rate "$t4"); r1=$(rate "$t1")
printf '  %-34s %6s chunks/s   ceiling %s: %s  (target >= 0.90)  %s\n' "concurrency $CONC" "$r4" "$ceil" \
    "$(awk -v a="$r4" -v b="$ceil" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$r4" -v b="$ceil" 'BEGIN { print (a / b >= 0.9) ? "PASS" : "MISS" }')"
printf '  %-34s %6s chunks/s   %sx slower than concurrency %s\n' "concurrency 1 (LangChain-style)" "$r1" \
    "$(awk -v a="$r4" -v b="$r1" 'BEGIN { printf "%.2f", a / b }')" "$CONC"
# With a rate limit that binds: 1,200 requests a minute = 2,000 chunks/s.
RPM=1200
start_mock --rpm "$RPM" --window-ms 60000
tr=$(run --concurrency "$CONC" --rpm "$RPM")
rr=$(rate "$tr")
ceil2=$(awk -v c="$CONC" -v b="$BATCH" -v l="$LAT" -v rpm="$RPM" 'BEGIN { x = c * b / (l / 1000); y = rpm / 60 * b; printf "%.0f", x < y ? x : y }')
printf '  %-34s %6s chunks/s   ceiling %s: %s  (target >= 0.90)  %s\n' "concurrency $CONC, --rpm $RPM" "$rr" "$ceil2" \
    "$(awk -v a="$rr" -v b="$ceil2" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$rr" -v b="$ceil2" 'BEGIN { print (a / b >= 0.9) ? "PASS" : "MISS" }')"
echo "  429s while paced: $(jq -r 'select(.msg == "done") | .retries_by_cause.rate_limit' "$W/err")"
