#!/usr/bin/env bash
# nz-embed's option parsing: numbers are checked whole, and a bad one is a
# usage error (exit 2) that names the flag, before any input is read.
source "$(dirname "$0")/lib.sh"
export EMBEDDING_PROVIDER=hash

usage_error() { # name flag value: exit 2 and a message naming the flag
    local name=$1 flag=$2 value=$3
    echo '{"chunk_id":"c","text":"satu dua"}' | nz-embed "$flag" "$value" >"$T/u.out" 2>"$T/u.err"
    local rc=$?
    if [ "$rc" -eq 2 ] && grep -q -- "$flag" "$T/u.err" && [ ! -s "$T/u.out" ]; then t_ok "$name"
    else t_fail "$name" "exit $rc :: $(tail -c 300 "$T/u.err" | tr '\n' ' ')"; fi
}
usage_error price_empty_is_usage_error --price-per-mtok ""
usage_error price_junk_is_usage_error --price-per-mtok 0.02usd
usage_error price_negative_is_usage_error --price-per-mtok -1
usage_error price_nan_is_usage_error --price-per-mtok nan
usage_error price_space_is_usage_error --price-per-mtok " 1"
usage_error batch_empty_is_usage_error --batch ""
usage_error concurrency_junk_is_usage_error --concurrency 4x
usage_error max_line_too_small_is_usage_error --max-line 10

# A good price is taken, and used: the cost of the openai stats line is
# tokens x price; the hash provider has no cost, and runs as before.
echo '{"chunk_id":"c","text":"satu dua"}' >"$T/one.jsonl"
expect_exit price_number_accepted 0 nz-embed --price-per-mtok 0.5 "$T/one.jsonl"
expect_exit price_zero_accepted 0 nz-embed --price-per-mtok 0 "$T/one.jsonl"
check price_accepted_output_embedded jq -e '.embedding | length > 0' "$T/exp.out"

# Help and version exit 0 on stdout; an unknown flag is a usage error.
check help_on_stdout bash -c "nz-embed --help | grep -q 'price-per-mtok'"
check version_on_stdout bash -c "nz-embed --version | grep -q '^nz-embed '"
expect_exit unknown_flag_is_usage_error 2 nz-embed --no-such-flag
expect_exit unknown_provider_is_usage_error 2 nz-embed --provider nope "$T/one.jsonl"
expect_exit bad_dim_is_usage_error 2 nz-embed --dim 0 "$T/one.jsonl"

# The openai provider prices the tokens it was billed at --price-per-mtok.
rm -f "$T/mock.port"
nz-mockembed --port 0 --port-file "$T/mock.port" --api-key k 2>/dev/null &
SERVER_PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$T/mock.port" ] && break; sleep 0.05; done
OPENAI_API_KEY=k OPENAI_BASE_URL="http://127.0.0.1:$(cat "$T/mock.port")" \
    nz-embed --provider openai --no-cache --price-per-mtok 2.5 "$T/one.jsonl" >"$T/o.out" 2>"$T/o.err"
check openai_cost_uses_price jq -e 'select(.msg == "done") | .tokens > 0 and (.cost_usd - .tokens / 1e6 * 2.5 | fabs) < 1e-9' "$T/o.err"
