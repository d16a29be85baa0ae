#!/usr/bin/env bash
# Durability: the order of the system calls that make a write survive a
# power cut, read from strace. For every rename a writer makes: the file
# (or directory) renamed was fsynced before, by the same process, and the
# directory it lands in is fsynced after it, before that process renames
# anything else or exits. Exceptions, by name: a new `current` symlink
# (.current.tmp.PID: a symlink cannot be fsynced; the root's fsync after
# its rename covers it) and a rename to a .tmp- name (a build directory,
# promised nothing). Traced: nz-index build and its publish, nz-index
# import of a tarball, nz-pipeline run (hash provider, offline), and
# nz-index pull from s3rver.
source "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || { t_fail strace_installed "no strace: sh tools/deps.sh test"; exit 0; }

# trace NAME COMMAND...: run it under strace, one output file per process
trace() {
    local name=$1; shift
    mkdir -p "$T/tr/$name"
    # LeakSanitizer cannot run under ptrace; the other tests check leaks
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0" strace -ff -y -o "$T/tr/$name/t" \
        -e trace=rename,renameat,renameat2,fsync,fdatasync,openat "$@" \
        >"$T/$name.out" 2>"$T/$name.err"
}

# order NAME: the rules above over every process of a trace; prints what
# breaks them and how many renames it checked.
order() {
    /usr/bin/python3 - "$T/tr/$1" <<'PYEOF'
import os, re, sys
d = sys.argv[1]
fd_path = re.compile(r'^\d+<(.*)>$')
bad, checked = [], 0
def arg_path(a):
    a = a.strip()
    m = re.match(r'^"(.*)"$', a)
    return m.group(1) if m else None
for f in sorted(os.listdir(d)):
    synced, pending = set(), []  # paths fsynced; directories owed an fsync
    for line in open(os.path.join(d, f), errors="replace"):
        m = re.match(r'^(\w+)\((.*)\)\s+=\s+(-?\d+)', line)
        if not m:
            continue
        call, args, ret = m.group(1), m.group(2), int(m.group(3))
        if call in ("fsync", "fdatasync") and ret == 0:
            fm = fd_path.match(args.strip())
            if fm:
                path = os.path.normpath(fm.group(1))
                synced.add(path)
                pending = [p for p in pending if p[0] != path]
            continue
        if call in ("rename", "renameat", "renameat2") and ret == 0:
            parts = [arg_path(a) for a in args.split(", ")]
            paths = [p for p in parts if p is not None]
            if len(paths) < 2 or not paths[0].startswith("/") or not paths[1].startswith("/"):
                bad.append(f"{f}: a rename of relative paths: {line.strip()}")
                continue
            src, dst = os.path.normpath(paths[0]), os.path.normpath(paths[1])
            for p in pending:
                bad.append(f"{f}: {p[1]} not followed by an fsync of {p[0]}")
            pending = []
            if os.path.basename(dst).startswith(".tmp-"):
                continue
            checked += 1
            if not os.path.basename(src).startswith(".current.tmp.") and src not in synced:
                bad.append(f"{f}: {src} renamed before it was fsynced")
            pending.append((os.path.dirname(dst), f"rename to {dst}"))
    for p in pending:
        bad.append(f"{f}: {p[1]} not followed by an fsync of {p[0]} before exit")
for b in bad:
    print(b)
print(f"checked {checked}")
sys.exit(1 if bad else 0)
PYEOF
}

# verdict NAME MIN: the trace keeps the rules, over at least MIN renames
verdict() {
    local out n
    out=$(order "$1")
    local rc=$?
    n=$(echo "$out" | sed -n 's/^checked //p')
    echo "# $1: $n renames checked"
    if [ $rc -eq 0 ] && [ "${n:-0}" -ge "$2" ]; then t_ok "$1_fsync_order"; else
        t_fail "$1_fsync_order" "$n renames checked (want >= $2): $(echo "$out" | head -5 | tr '\n' ' ')"
    fi
}

# the checker itself: a rename before the file's fsync, and one whose
# directory is never fsynced, are both caught
mkdir -p "$T/tr/fake"
cat >"$T/tr/fake/t.1" <<'EOF'
openat(AT_FDCWD</x>, "/r/.a.tmp.1", O_RDWR|O_CREAT|O_EXCL, 0600) = 3</r/.a.tmp.1>
rename("/r/.a.tmp.1", "/r/a") = 0
fsync(3</r/a>) = 0
fsync(4</r>) = 0
openat(AT_FDCWD</x>, "/r/.b.tmp.1", O_RDWR|O_CREAT|O_EXCL, 0600) = 3</r/.b.tmp.1>
fsync(3</r/.b.tmp.1>) = 0
rename("/r/.b.tmp.1", "/r/b") = 0
EOF
out=$(order fake)
if echo "$out" | grep -q "/r/.a.tmp.1 renamed before it was fsynced" &&
    echo "$out" | grep -q "rename to /r/b not followed by an fsync of /r" &&
    [ "$(echo "$out" | grep -c .)" = 3 ]; then t_ok checker_catches_bad_order; else
    t_fail checker_catches_bad_order "$(echo "$out" | tr '\n' ' ')"
fi

nz-extract "$NZ_ROOT/fixtures/docs" 2>/dev/null | nz-chunk 2>/dev/null | nz-embed 2>/dev/null >"$T/emb.jsonl"

# build + publish: the manifest's temp file, the build directory, `current`
trace build nz-index build -o "$T/ix" "$T/emb.jsonl"
check build_under_strace nz-index verify "$T/ix"
verdict build 3

# export (a file written atomically), then import into a fresh root
trace export nz-index export "$T/ix" -o "$T/snap.tar.gz"
verdict export 1
trace import nz-index import "$T/snap.tar.gz" -o "$T/imp"
check import_under_strace nz-index verify "$T/imp"
verdict import 2

# nz-pipeline run: its stages, the catalog and the build, every process
trace pipeline nz-pipeline run -o "$T/pipe" "$NZ_ROOT/fixtures/docs"
check pipeline_under_strace nz-index verify "$T/pipe"
verdict pipeline 3

# pull from object storage
if start_s3 bk; then
    nz-index push -o "$T/ix" s3://bk/d >/dev/null 2>&1
    trace pull nz-index pull -o "$T/pulled" s3://bk/d
    check pull_under_strace nz-index verify "$T/pulled"
    verdict pull 2
else
    t_fail s3rver_started "$(tail -c 300 "$T/s3rver.log" "$T/npm.log" 2>/dev/null | tr '\n' ' ')"
fi
