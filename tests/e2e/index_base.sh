#!/usr/bin/env bash
# An incremental build end to end: nz-index build --base SNAPSHOT
# --drop-docs FILE --label KEY=VALUE. Rows carried from the base are its
# bytes (vector and chunks.bin record, read here by a small independent
# dumper), dropped documents are gone and only they, a document in the new
# input replaces its old rows, the summary counts, labels in the manifest,
# and the refusals: another model, a corrupt base, bad options.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

dump() { snapshot_dump "$@"; }

nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null >"$T/emb.jsonl"
nz-index build -o "$T/ix" "$T/emb.jsonl" >"$T/base.json" 2>"$T/build.err" || t_fail build_base "$(cat "$T/build.err")"
base_snap=$(jq -r .snapshot "$T/base.json")
total=$(wc -l <"$T/emb.jsonl")
jq -r .doc_id "$T/emb.jsonl" | sort -u >"$T/docs"
# D3 is replaced by two chunks, so it needs two: doc ids hash the fixtures'
# absolute paths, and which document sorts third depends on the checkout
D1=$(sed -n 1p "$T/docs") D2=$(sed -n 2p "$T/docs")
D3=$(jq -r .doc_id "$T/emb.jsonl" | sort | uniq -c | awk -v a="$D1" -v b="$D2" '$1 >= 2 && $2 != a && $2 != b { print $2; exit }')
n_of() { jq -r .doc_id "$T/emb.jsonl" | grep -cx "$1"; }
n1=$(n_of "$D1") n2=$(n_of "$D2") n3=$(n_of "$D3")
printf '%s\n\n%s\n' "$D1" "$D2" >"$T/drop" # a blank line is ignored
# D3's new version: two chunks, new text, same vectors
jq -c "select(.doc_id == \"$D3\") | .text = \"REPLACED \" + .chunk_id" "$T/emb.jsonl" | head -2 >"$T/new.jsonl"

# ---- the incremental build
expect_exit build_with_base 0 nz-index build -o "$T/ix2" --base "$T/ix" --drop-docs "$T/drop" \
    --label run=17 --label by=test "$T/new.jsonl"
cp "$T/exp.out" "$T/sum.json"
cp "$T/exp.err" "$T/sum.err"
carried=$((total - n1 - n2 - n3))
check summary_counts jq -e ".carried == $carried and .dropped == $((n1 + n2 + n3)) and .count == $((carried + 2)) and .rejected == 0" "$T/sum.json"
check published_line_counts jq -e "select(.msg == \"published\") | .carried == $carried and .dropped == $((n1 + n2 + n3))" "$T/sum.err"
check new_snapshot_verifies nz-index verify "$T/ix2"
nz-index info "$T/ix2" >"$T/info.json"
check label_in_manifest jq -e '.manifest.build.labels == {"run": "17", "by": "test"}' "$T/info.json"
check base_named_in_manifest jq -e ".manifest.build.base == \"$base_snap\" and .manifest.build.carried == $carried" "$T/info.json"
check embedding_kept jq -e '.manifest.embedding.provider == "hash" and .manifest.embedding.model == "nz-hash-v1"' "$T/info.json"

dump "$T/ix/current" >"$T/base.dump"
dump "$T/ix2/current" >"$T/new.dump"
# carried rows: the base's rows of the other documents, in base order, same bytes
grep -v -e "^$D1 " -e "^$D2 " -e "^$D3 " "$T/base.dump" >"$T/want.dump"
check carried_rows_byte_identical_in_base_order bash -c "tail -n +3 '$T/new.dump' | cmp -s - '$T/want.dump'"
check carried_count_matches_dump bash -c "[ \$(wc -l <'$T/want.dump') = $carried ]"
check dropped_docs_gone bash -c "! grep -q -e '^$D1 ' -e '^$D2 ' '$T/new.dump'"
check only_dropped_docs_gone bash -c "[ \"\$(cut -d' ' -f1 '$T/new.dump' | sort -u)\" = \"\$(grep -vx -e '$D1' -e '$D2' '$T/docs')\" ]"
check replaced_doc_has_only_new_rows bash -c "[ \$(grep -c '^$D3 ' '$T/new.dump') = 2 ] && head -2 '$T/new.dump' | grep -c '^$D3 ' | grep -qx 2"
# the replacement's records are the new ones: same vectors, other text
check replaced_rows_have_new_text bash -c "nz-index query '$T/ix2' --text 'x' -k 100 --doc-id '$D3' --exact | jq -e '(.results | length) == 2 and all(.results[]; .text | startswith(\"REPLACED \"))'"
check replaced_vectors_unchanged bash -c "[ \"\$(head -2 '$T/new.dump' | cut -d' ' -f2,3)\" = \"\$(grep '^$D3 ' '$T/base.dump' | head -2 | cut -d' ' -f2,3)\" ]"

# search still finds a carried row by its own text
row=$(jq -c "select(.doc_id != \"$D1\" and .doc_id != \"$D2\" and .doc_id != \"$D3\")" "$T/emb.jsonl" | sed -n 5p)
cid=$(jq -r .chunk_id <<<"$row")
text=$(jq -r .text <<<"$row")
check query_finds_carried_row bash -c "nz-index query '$T/ix2' --text \"\$1\" -k 3 | jq -e --arg c '$cid' 'any(.results[]; .chunk_id == \$c)'" _ "$text"
check query_finds_carried_row_exact bash -c "nz-index query '$T/ix2' --text \"\$1\" -k 3 --exact | jq -e --arg c '$cid' 'any(.results[]; .chunk_id == \$c)'" _ "$text"

check graph_grew_from_base jq -e ".manifest.index.graph | .method == \"incremental\" and .base == \"$base_snap\" and .inserted == 2 and .kept + .repaired == $carried" "$T/info.json"
check base_graph_built bash -c "nz-index info '$T/ix' | jq -e '.manifest.index.graph == {\"method\": \"built\"}'"

# ---- the same base, lists and input give the same files
nz-index build -o "$T/ix2b" --base "$T/ix" --drop-docs "$T/drop" --label run=17 --label by=test "$T/new.jsonl" >/dev/null 2>&1
for f in vectors.bin chunks.bin codes.bin graph.bin lexical.bin; do
    check "deterministic_$f" cmp -s "$T/ix2/current/$f" "$T/ix2b/current/$f"
done

# ---- only drops (no input): the base gives the embedding; a snapshot directory as base
expect_exit drops_only 0 nz-index build -o "$T/ix3" --base "$T/ix/current/" --drop-docs "$T/drop" </dev/null
check drops_only_counts jq -e ".count == $((total - n1 - n2)) and .carried == $((total - n1 - n2)) and .dropped == $((n1 + n2))" "$T/exp.out"
check drops_only_embedding bash -c "nz-index info '$T/ix3' | jq -e '.manifest.embedding.model == \"nz-hash-v1\" and .manifest.embedding.dim == 1536 and .manifest.build.records == 0'"
# no drops, no input: a copy of the base's rows
nz-index build -o "$T/ix4" --base "$T/ix" </dev/null >/dev/null 2>&1
dump "$T/ix4/current" >"$T/ix4.dump" 2>/dev/null
check no_drops_same_rows cmp -s "$T/ix4.dump" "$T/base.dump"
# ... and the base's graph as it was: every list kept, the same entry
check no_drops_same_graph cmp -s "$T/ix4/current/graph.bin" "$T/ix/current/graph.bin"
check no_drops_graph_kept bash -c "nz-index info '$T/ix4' | jq -e '.manifest.index.graph | .method == \"incremental\" and .repaired == 0 and .inserted == 0 and .kept == $total'"

# everything dropped and no input: nothing to publish
cp "$T/docs" "$T/all"
before=$(readlink "$T/ix3/current")
expect_exit all_dropped_fails 1 nz-index build -o "$T/ix3" --base "$T/ix" --drop-docs "$T/all" </dev/null
check all_dropped_says_why grep -q "no valid vectors" "$T/exp.err"
check all_dropped_publishes_nothing bash -c "[ \"\$(readlink '$T/ix3/current')\" = '$before' ]"

# ---- refusals
jq -c '.model = "nz-hash-v2"' "$T/new.jsonl" >"$T/other.jsonl"
expect_exit other_model_refused 1 nz-index build -o "$T/ix3" --base "$T/ix" "$T/other.jsonl"
check other_model_says_rebuild grep -q "rebuild without --base" "$T/exp.err"
check other_model_publishes_nothing bash -c "[ \"\$(readlink '$T/ix3/current')\" = '$before' ]"

cp -r "$T/ix/current/." "$T/corrupt"
printf '\x5a' | dd of="$T/corrupt/vectors.bin" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_exit corrupt_base_refused 1 nz-index build -o "$T/ix3" --base "$T/corrupt" "$T/new.jsonl"
check corrupt_base_says_why grep -q "does not verify" "$T/exp.err"
check corrupt_base_publishes_nothing bash -c "[ \"\$(readlink '$T/ix3/current')\" = '$before' ]"
check corrupt_base_leaves_no_tmp bash -c "! ls -a '$T/ix3' | grep -q '^\.tmp-'"
expect_exit missing_base_refused 1 nz-index build -o "$T/ix3" --base "$T/nowhere" "$T/new.jsonl"

printf 'ok\nbad\tid\n' >"$T/baddrop"
expect_exit malformed_drop_line_is_usage 2 nz-index build -o "$T/ix3" --base "$T/ix" --drop-docs "$T/baddrop" "$T/new.jsonl"
check malformed_drop_line_names_line grep -q "line 2" "$T/exp.err"
expect_exit drop_without_base_is_usage 2 nz-index build -o "$T/ix3" --drop-docs "$T/drop" "$T/new.jsonl"
expect_exit missing_drop_file_is_usage 2 nz-index build -o "$T/ix3" --base "$T/ix" --drop-docs "$T/nofile" "$T/new.jsonl"
expect_exit bad_label_key_is_usage 2 nz-index build -o "$T/ix3" --base "$T/ix" --label Run=1 "$T/new.jsonl"
expect_exit label_twice_is_usage 2 nz-index build -o "$T/ix3" --label run=1 --label run=2 "$T/new.jsonl"
check refusals_publish_nothing bash -c "[ \"\$(readlink '$T/ix3/current')\" = '$before' ]"
# a label without a base is fine
expect_exit label_without_base 0 nz-index build -o "$T/ix5" --label run=3 "$T/new.jsonl"
check label_without_base_in_manifest bash -c "nz-index info '$T/ix5' | jq -e '.manifest.build.labels.run == \"3\" and (.manifest.build | has(\"base\") | not)'"

# ---- the graph grows from the base's: 4,000 rows (gen.py, 10 a document),
# 2% of the documents replaced by new vectors, 1% dropped
G="$NZ_ROOT/bench/ann"
"$PY" "$G/gen.py" 4120 100 64 "$T/g" 5 >/dev/null || t_fail generate_data "gen.py failed"
"$PY" - "$T/g" <<'PYEOF'
import base64, json, sys
import numpy as np
d = sys.argv[1]
a = np.fromfile(d + "/base.fvecs", dtype=np.int32).reshape(-1, 65)[:, 1:].view(np.float32)
def rec(i, doc):
    return json.dumps({"chunk_id": "c%d" % i, "doc_id": doc, "model": "gen", "provider": "gen",
                       "embedding": base64.b64encode(a[i].astype("<f4").tobytes()).decode()})
with open(d + "/base.jsonl", "w") as f:
    f.writelines(rec(i, "d%d" % (i // 10)) + "\n" for i in range(4000))
with open(d + "/new.jsonl", "w") as f: # d0, d50, ... d350: new vectors
    f.writelines(rec(4000 + k, "d%d" % (k // 10 * 50)) + "\n" for k in range(80))
with open(d + "/drop", "w") as f:
    f.writelines("d%d\n" % (25 + 100 * k) for k in range(4))
PYEOF
nz-index build -o "$T/gb" "$T/g/base.jsonl" >/dev/null 2>&1 || t_fail graph_base_build "build failed"
for t in 1 2; do
    expect_exit "graph_incremental_threads_$t" 0 nz-index build -o "$T/gi$t" --threads $t --base "$T/gb" --drop-docs "$T/g/drop" "$T/g/new.jsonl"
done
check graph_incremental_same_whatever_threads cmp -s "$T/gi1/current/graph.bin" "$T/gi2/current/graph.bin"
check graph_incremental_verifies nz-index verify "$T/gi1"
check graph_incremental_counts bash -c "nz-index info '$T/gi1' | jq -e '.manifest.index.graph | .method == \"incremental\" and .inserted == 80 and .kept + .repaired == 3880 and .repaired > 0'"
expect_exit graph_rebuild 0 nz-index build -o "$T/gr" --rebuild-graph --base "$T/gb" --drop-docs "$T/g/drop" "$T/g/new.jsonl"
check graph_rebuild_built bash -c "nz-index info '$T/gr' | jq -e '.manifest.index.graph == {\"method\": \"built\"}'"
for f in vectors.bin chunks.bin codes.bin; do
    check "graph_rebuild_same_$f" cmp -s "$T/gi1/current/$f" "$T/gr/current/$f"
done
expect_exit graph_other_degree 0 nz-index build -o "$T/gd" --degree 16 --base "$T/gb" "$T/g/new.jsonl"
check graph_other_degree_built bash -c "nz-index info '$T/gd' | jq -e '.manifest.index.graph.method == \"built\" and .manifest.index.degree == 16'"
# recall@10 at the default ef against the exact scan: the incremental graph
# within 0.01 of the rebuilt one
recall() { # ROOT -> recall@10
    nz-index search "$1" --fvecs "$T/g/query.fvecs" -k 10 -o "$T/r.g.ivecs" >/dev/null 2>&1
    nz-index search "$1" --fvecs "$T/g/query.fvecs" -k 10 --exact -o "$T/r.x.ivecs" >/dev/null 2>&1
    "$PY" -c "
import numpy as np
g = np.fromfile('$T/r.g.ivecs', dtype=np.int32).reshape(-1, 11)[:, 1:]
x = np.fromfile('$T/r.x.ivecs', dtype=np.int32).reshape(-1, 11)[:, 1:]
print('%.4f' % np.mean([len(set(a) & set(b)) / 10 for a, b in zip(g, x)]))"
}
r_inc=$(recall "$T/gi1") r_full=$(recall "$T/gr")
echo "# recall@10 at the default ef: incremental $r_inc, rebuilt $r_full"
check graph_incremental_recall_near_rebuild awk -v a="$r_inc" -v b="$r_full" 'BEGIN { exit !(a >= b - 0.01 && a >= 0.9) }'
