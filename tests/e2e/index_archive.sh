#!/usr/bin/env bash
# Backup and restore (nz-index export / import): a round trip answers the
# same queries byte for byte, the same snapshot exports the same bytes, and
# every bad tarball is refused (exit 3) with current untouched and no build
# directory left: truncated, altered, path-traversing, links, devices,
# another folder, unlisted, oversized and missing files. An import into a
# root with snapshots keeps them; a SIGKILLed import leaves current intact.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

build_fixture_index "$T/a" || t_fail build_fixture "build failed"
snap=$(readlink "$T/a/current")

# ---- export: a gzip tarball of regular files, the same bytes every time
expect_exit export_ok 0 nz-index export "$T/a" -o "$T/good.tar.gz"
check export_reports jq -e --arg s "$snap" '.snapshot == $s and .files == 6 and .count > 0' "$T/exp.out"
check export_is_gzip gzip -t "$T/good.tar.gz"
check export_entries bash -c "tar tzf '$T/good.tar.gz' | sed 's|^[^/]*/||' | tr '\n' ' ' | grep -qx 'MANIFEST.json vectors.bin chunks.bin codes.bin graph.bin lexical.bin '"
check export_fixed_owner_mode bash -c "tar tvzf '$T/good.tar.gz' | awk '\$1 != \"-rw-r--r--\" || \$2 != \"0/0\" { bad = 1 } END { exit bad }'"
sleep 1.1 # another second: a timestamp anywhere would show
nz-index export --snapshot "$snap" "$T/a" -o "$T/again.tar.gz" >/dev/null 2>&1
check export_same_bytes cmp "$T/good.tar.gz" "$T/again.tar.gz"
expect_exit export_unknown_snapshot 1 nz-index export --snapshot snap-nope "$T/a" -o "$T/nope.tar.gz"
check export_failure_writes_nothing bash -c "[ ! -e '$T/nope.tar.gz' ] && ! ls -a '$T' | grep -q '^.nope'"
expect_exit export_bad_snapshot_name 2 nz-index export --snapshot ../a "$T/a" -o "$T/nope.tar.gz"
expect_exit export_needs_output 2 nz-index export "$T/a"
expect_exit import_needs_file 2 nz-index import -o "$T/b"

# ---- round trip: import into an empty root, the same answers
expect_exit import_ok 0 nz-index import "$T/good.tar.gz" -o "$T/b"
check import_reports jq -e --arg s "$snap" '.from == $s and .files == 6' "$T/exp.out"
check import_verifies nz-index verify "$T/b"
check import_no_build_dir bash -c "! ls -a '$T/b' | grep -q '^.tmp-'"
for f in MANIFEST.json vectors.bin chunks.bin codes.bin graph.bin lexical.bin; do
    check "import_same_$f" cmp "$T/a/current/$f" "$T/b/current/$f"
done
same=0
n=0
for q in "visa kerja" "KITAS tenaga kerja asing" "tax return deadline" "bahasa Indonesia" "paspor"; do
    n=$((n + 1))
    nz-index query "$T/a" --text "$q" -k 8 | jq -cS 'del(.took_ms)' >"$T/qa" 2>/dev/null
    nz-index query "$T/b" --text "$q" -k 8 | jq -cS 'del(.took_ms)' >"$T/qb" 2>/dev/null
    [ -s "$T/qa" ] && jq -e '.results | length > 0' "$T/qa" >/dev/null && cmp -s "$T/qa" "$T/qb" && same=$((same + 1))
done
[ "$same" = "$n" ] && t_ok round_trip_same_answers || t_fail round_trip_same_answers "$same of $n queries answered the same"
expect_exit import_from_stdin 0 bash -c "nz-index import - -o '$T/c' <'$T/good.tar.gz'"
check import_from_stdin_verifies nz-index verify "$T/c"

# ---- an import into a root with snapshots keeps them
nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk --max-tokens 200 2>/dev/null | nz-embed 2>/dev/null >"$T/emb.jsonl"
nz-index build -o "$T/r" "$T/emb.jsonl" >/dev/null 2>&1
nz-index build -o "$T/r" "$T/emb.jsonl" >/dev/null 2>&1
before=$(ls "$T/r" | grep '^snap-' | tr '\n' ' ')
expect_exit import_into_used_root 0 nz-index import "$T/good.tar.gz" -o "$T/r"
new=$(jq -r .snapshot "$T/exp.out")
check import_becomes_current bash -c "[ \"\$(readlink '$T/r/current')\" = '$new' ]"
check import_keeps_old_snapshots bash -c "for s in $before; do [ -d '$T/r/'\$s ] || exit 1; done"

# ---- bad tarballs: exit 3, nothing changed
cur=$(readlink "$T/b/current")
"$PY" - "$T" "$snap" <<'PYEOF'
import io, sys, tarfile, gzip
t, snap = sys.argv[1], sys.argv[2]
src = tarfile.open(t + "/good.tar.gz", "r:gz")
files = [(m.name.split("/", 1)[1], src.extractfile(m).read()) for m in src.getmembers()]
src.close()
def info(name, size=0, **kw):
    ti = tarfile.TarInfo(name); ti.size = size; ti.mode = 0o644
    for k, v in kw.items(): setattr(ti, k, v)
    return ti
def write(out, entries):
    """entries: (TarInfo, bytes or None)"""
    with tarfile.open(t + "/" + out + ".tar.gz", "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
def good(change=None, extra=(), skip=(), prefix=()):
    e = list(prefix)
    for name, data in files:
        if name in skip: continue
        if change and name in change: data = change[name](data)
        e.append((info(snap + "/" + name, len(data)), data))
    e.extend(extra)
    return e
def flip(data, at):
    b = bytearray(data); b[at] ^= 0x10; return bytes(b)
write("bin_flipped", good(change={"chunks.bin": lambda d: flip(d, len(d) // 2)}))
write("traverse", good(extra=[(info(snap + "/../../evil", 4), b"evil")]))
write("traverse_dir", good(extra=[(info("../evil", 4), b"evil")]))
write("absolute", good(extra=[(info(t + "/evil", 4), b"evil")]))
write("symlink", good(extra=[(info(snap + "/link.bin", type=tarfile.SYMTYPE, linkname="/etc/passwd"), None)]))
write("hardlink", good(extra=[(info(snap + "/hard.bin", type=tarfile.LNKTYPE, linkname=snap + "/vectors.bin"), None)]))
write("device", good(extra=[(info(snap + "/dev.bin", type=tarfile.CHRTYPE, devmajor=1, devminor=3), None)]))
write("fifo", good(extra=[(info(snap + "/fifo.bin", type=tarfile.FIFOTYPE), None)]))
write("directory", good(prefix=[(info(snap, type=tarfile.DIRTYPE, mode=0o755), None)]))
write("other_folder", good(extra=[(info("snap-other/vectors.bin", 4), b"abcd")]))
write("unlisted", good(extra=[(info(snap + "/extra.bin", 4), b"abcd")]))
write("twice", good(extra=[(info(snap + "/graph.bin", 4), b"abcd")]))
write("bigger", good(change={"codes.bin": lambda d: d + b"x" * 1000}))
write("missing", good(skip={"graph.bin"}))
write("manifest_not_first", good(skip={"MANIFEST.json"}) + good(skip={"vectors.bin", "chunks.bin", "codes.bin", "graph.bin"}))
write("huge_manifest", [(info(snap + "/MANIFEST.json", 2 << 20), b" " * (2 << 20))])
write("not_snapshot_folder", [(info("data/" + n, len(d)), d) for n, d in files])
# a gzip stream with a flipped byte in its deflate data, and one with bytes after it
g = open(t + "/good.tar.gz", "rb").read()
open(t + "/gz_flipped.tar.gz", "wb").write(flip(g, len(g) // 2))
open(t + "/trailing.tar.gz", "wb").write(g + b"garbage")
open(t + "/plain.tar", "wb").write(gzip.decompress(g))
PYEOF
size=$(stat -c %s "$T/good.tar.gz")
head -c $((size / 2)) "$T/good.tar.gz" >"$T/truncated.tar.gz"
head -c $((size - 4)) "$T/good.tar.gz" >"$T/truncated_trailer.tar.gz"
: >"$T/empty.tar.gz"
refused() { # name file grep-pattern
    expect_exit "refuses_$1" 3 nz-index import "$T/$2" -o "$T/b"
    check "refuses_$1_says_why" grep -qiE "$3" "$T/exp.err"
    check "refuses_$1_changes_nothing" bash -c "[ \"\$(readlink '$T/b/current')\" = '$cur' ] && [ \$(ls '$T/b' | grep -c '^snap-') = 1 ] && ! ls -a '$T/b' | grep -q '^.tmp-' && [ ! -e '$T/evil' ] && [ ! -e '$T/b/evil' ]"
}
refused truncated truncated.tar.gz "truncated|ends early"
refused truncated_trailer truncated_trailer.tar.gz "truncated|ends early"
refused gz_flipped_byte gz_flipped.tar.gz "gzip|check|header"
refused bin_flipped_byte bin_flipped.tar.gz "CRC32"
refused path_traversal traverse.tar.gz "not SNAPSHOT/FILE"
refused dotdot_path traverse_dir.tar.gz "not SNAPSHOT/FILE"
refused absolute_path absolute.tar.gz "not SNAPSHOT/FILE"
refused symlink symlink.tar.gz "not a regular file"
refused hardlink hardlink.tar.gz "not a regular file"
refused device device.tar.gz "not a regular file"
refused fifo fifo.tar.gz "not a regular file"
refused directory_entry directory.tar.gz "not a regular file"
refused other_folder other_folder.tar.gz "outside the snapshot folder"
refused unlisted_file unlisted.tar.gz "does not list"
refused file_twice twice.tar.gz "second copy"
refused bigger_than_manifest bigger.tar.gz "manifest says"
refused missing_file missing.tar.gz "graph.bin is missing"
refused manifest_not_first manifest_not_first.tar.gz "first entry must be"
refused huge_manifest huge_manifest.tar.gz "at most"
refused not_a_snapshot_folder not_snapshot_folder.tar.gz "not SNAPSHOT/FILE"
refused trailing_bytes trailing.tar.gz "after the end"
refused not_gzip plain.tar "gzip"
refused empty_file empty.tar.gz "truncated|ends early"
check refusals_leave_current_verified nz-index verify "$T/b"

# ---- a killed import: the stream stalls half way, SIGKILL, current intact
"$PY" "$NZ_ROOT/bench/ann/gen.py" 5000 1 256 "$T/g" 5 >/dev/null
nz-index build -o "$T/k" --fvecs "$T/g/base.fvecs" >/dev/null 2>&1
nz-index export "$T/k" -o "$T/big.tar.gz" >/dev/null 2>&1
kcur=$(readlink "$T/b/current")
half=$(($(stat -c %s "$T/big.tar.gz") / 2))
mkfifo "$T/fifo"
nz-index import "$T/fifo" -o "$T/b" >/dev/null 2>&1 &
pid=$!
exec 7>"$T/fifo" # held open: the import waits for the rest
head -c "$half" "$T/big.tar.gz" >&7
for _ in $(seq 1 100); do
    [ -n "$(find "$T/b" -path '*/.tmp-*' -name '*.bin' -size +1k 2>/dev/null)" ] && break
    sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
exec 7>&-
check killed_import_left_build_dir bash -c "ls -a '$T/b' | grep -q '^.tmp-'"
check killed_import_keeps_current bash -c "[ \"\$(readlink '$T/b/current')\" = '$kcur' ] && nz-index verify '$T/b'"
expect_exit import_after_kill 0 nz-index import "$T/big.tar.gz" -o "$T/b"
check import_after_kill_cleans_up bash -c "! ls -a '$T/b' | grep -q '^.tmp-'"
check import_after_kill_verifies nz-index verify "$T/b"
nz-index search "$T/k" --fvecs "$T/g/query.fvecs" -k 10 -o "$T/k.ivecs" >/dev/null 2>&1
nz-index search "$T/b" --fvecs "$T/g/query.fvecs" -k 10 -o "$T/b.ivecs" >/dev/null 2>&1
check graph_round_trip_same_ids cmp "$T/k.ivecs" "$T/b.ivecs"
nz-index build -o "$T/b" "$T/emb.jsonl" >/dev/null 2>&1
check next_build_leaves_no_build_dir bash -c "! ls -a '$T/b' | grep -q '^.tmp-'"

# ---- another writer holds the lock: exit 1, nothing changed
exec 9>"$T/b/.lock"
flock -n 9
lcur=$(readlink "$T/b/current")
expect_exit import_locked_out 1 nz-index import "$T/good.tar.gz" -o "$T/b"
check import_locked_out_says_why grep -q "another writer" "$T/exp.err"
check import_locked_out_changes_nothing bash -c "[ \"\$(readlink '$T/b/current')\" = '$lcur' ]"
exec 9>&-
