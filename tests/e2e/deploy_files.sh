#!/usr/bin/env bash
# The deployment files hold the values the design asks for: deploy/fly.toml
# (the query app) and deploy/ingest.fly.toml (the scheduled ingestion
# machine) parsed with Python's tomllib, the Dockerfile's shape (two stages,
# package lists from tools/deps.sh, non-root USER, EXPOSE, HEALTHCHECK, CMD),
# the runtime package set against the libraries the built binaries load, the
# cron line, and the systemd units (systemd-analyze verify when it can run).
# Only the files are checked, never the flags' behaviour: the image itself
# is tried by `make image-test` (tools/image.sh), too slow for this suite.
source "$(dirname "$0")/lib.sh"
cd "$NZ_ROOT"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# -- fly.toml, ingest.fly.toml, Dockerfile, README: one Python reads them all
"$PY" - "$SUITE" <<'PYEOF'
import re
import sys
import tomllib

suite = sys.argv[1]


def report(name, ok, why=""):
    print(f"ok - {suite}/{name}" if ok else f"not ok - {suite}/{name}: {why}")


def expect(name, got, want):
    report(name, got == want, f"got {got!r}, want {want!r}")


def seconds(d):
    """A Fly duration ('30s', '1m0s', '5m') in seconds; None if not one."""
    if not isinstance(d, str) or not re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", d) or not d:
        return None
    n, total = "", 0
    for c in d:
        if c.isdigit():
            n += c
        else:
            total += int(n) * {"h": 3600, "m": 60, "s": 1}[c]
            n = ""
    return total


def load(path):
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        report(f"{path} parses", True)
        return doc
    except (OSError, tomllib.TOMLDecodeError) as e:
        report(f"{path} parses", False, str(e))
        return {}


def as_list(v):
    return v if isinstance(v, list) else [v] if isinstance(v, dict) else []


def secret_free(name, env):
    bad = [k for k in env if re.search(r"AWS_|SECRET|PASSWORD|API_KEY|TOKEN", k)]
    report(name, not bad, f"secrets belong in `fly secrets set`, not [env]: {bad}")


# ---- deploy/fly.toml: the query app
fly = load("deploy/fly.toml")
expect("fly app name set", isinstance(fly.get("app"), str) and fly.get("app") != "", True)
expect("fly primary_region", fly.get("primary_region"), "sin")
expect("fly kill_signal", fly.get("kill_signal"), "SIGTERM")
expect("fly kill_timeout", fly.get("kill_timeout"), "30s")
expect("fly deploy.strategy", fly.get("deploy", {}).get("strategy"), "rolling")
report("fly build uses the repository Dockerfile",
       fly.get("build", {}).get("dockerfile") == "../Dockerfile", repr(fly.get("build")))
mounts = as_list(fly.get("mounts"))
report("fly mounts a volume at /data",
       len(mounts) == 1 and mounts[0].get("destination") == "/data" and mounts[0].get("source"),
       repr(mounts))
hs = fly.get("http_service", {})
expect("fly http_service.internal_port", hs.get("internal_port"), 8000)
expect("fly http_service.min_machines_running", hs.get("min_machines_running"), 1)
checks = [c for c in hs.get("checks", []) if c.get("path") == "/health"]
report("fly has one /health check", len(checks) == 1, repr(hs.get("checks")))
c = checks[0] if checks else {}
expect("fly /health check method", c.get("method", "GET").upper(), "GET")
# the seed once shipped interval = 30000 (a number: milliseconds? seconds?)
expect("fly /health interval is exactly '30s'", c.get("interval"), "30s")
expect("fly /health interval is 30 seconds", seconds(c.get("interval")), 30)
expect("fly /health timeout", c.get("timeout"), "5s")
expect("fly /health grace_period", c.get("grace_period"), "1m0s")
expect("fly /health grace_period is 60 seconds", seconds(c.get("grace_period")), 60)
vms = as_list(fly.get("vm"))
report("fly has one [[vm]]", len(vms) == 1, repr(vms))
vm = vms[0] if vms else {}
expect("fly vm memory", vm.get("memory"), "2gb")
expect("fly vm cpu_kind", vm.get("cpu_kind"), "shared")
expect("fly vm cpus", vm.get("cpus"), 2)
env = fly.get("env", {})
expect("fly env INDEX_PATH", env.get("INDEX_PATH"), "/data/index")
store = env.get("SNAPSHOT_STORE", "")
report("fly env SNAPSHOT_STORE is an s3:// store", store.startswith("s3://") and len(store) > 5,
       repr(store))
secret_free("fly env holds no secrets", env)
procs = fly.get("processes", {})
app_cmd = procs.get("app", "")
report("fly app process runs nz-serve --follow $SNAPSHOT_STORE",
       re.search(r"\bnz-serve --follow \\?\"?\$\{?SNAPSHOT_STORE\b", app_cmd) is not None,
       repr(procs))
report("fly http_service and mount serve the app process",
       hs.get("processes") == ["app"] and mounts and mounts[0].get("processes") == ["app"],
       f"{hs.get('processes')!r} {mounts!r}")

# ---- deploy/ingest.fly.toml: the scheduled ingestion machine
ing = load("deploy/ingest.fly.toml")
report("ingest app is its own app", ing.get("app") not in (None, "", fly.get("app")),
       repr(ing.get("app")))
expect("ingest primary_region", ing.get("primary_region"), "sin")
report("ingest builds the same Dockerfile",
       ing.get("build", {}).get("dockerfile") == "../Dockerfile", repr(ing.get("build")))
ienv = ing.get("env", {})
expect("ingest env INDEX_PATH", ienv.get("INDEX_PATH"), "/data/index")
expect("ingest pushes to the store the query app follows", ienv.get("SNAPSHOT_STORE"), store)
secret_free("ingest env holds no secrets", ienv)
icmds = list(ing.get("processes", {}).values())
report("ingest process runs nz-pipeline run --push $SNAPSHOT_STORE",
       len(icmds) == 1 and re.search(r"\bnz-pipeline run --push \\?\"?\$\{?SNAPSHOT_STORE\b",
                                     icmds[0]) is not None, repr(icmds))
imounts = as_list(ing.get("mounts"))
report("ingest mounts a volume at /data",
       len(imounts) == 1 and imounts[0].get("destination") == "/data", repr(imounts))
report("ingest serves nothing", "http_service" not in ing and "services" not in ing,
       "an [http_service] on the ingestion machine")
restarts = as_list(ing.get("restart"))
report("ingest machine is not restarted after a run",
       len(restarts) == 1 and restarts[0].get("policy") == "never", repr(restarts))
ivm = (as_list(ing.get("vm")) or [{}])[0]
report("ingest vm", ivm.get("memory") and ivm.get("cpus"), repr(ivm))

# ---- README: the three ways to schedule ingestion are documented
try:
    readme = open("README.md", encoding="utf-8").read()
except OSError as e:
    readme = ""
m = re.search(r"^## Deploying\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
dep = m.group(1) if m else ""
report("README has a Deploying section", bool(dep), "no '## Deploying'")
sched = re.search(r"fly machine run [^\n]*(?:\\\n[^\n]*)*--schedule daily", dep)
report("README: fly machine run --schedule daily", sched is not None, "no such command")
for what in ("nz-pipeline run --push", "nz-serve --follow", "deploy/crontab",
             "nz-ingest.timer", "nz-serve.service", "fly secrets set", "AWS_ACCESS_KEY_ID",
             "make image-test"):
    report(f"README mentions {what}", what in dep, "missing from the Deploying section")

# ---- Dockerfile
try:
    lines = open("Dockerfile", encoding="utf-8").read().replace("\\\n", " ").splitlines()
except OSError:
    lines = []
ins = [(l.split(None, 1)[0].upper(), (l.split(None, 1) + [""])[1].strip())
       for l in lines if l.strip() and not l.lstrip().startswith("#")]
froms = [i for i, (k, _) in enumerate(ins) if k == "FROM"]
expect("Dockerfile has two FROM stages", len(froms), 2)
first, last = (froms[0], froms[-1]) if froms else (0, 0)
stage1 = [v for k, v in ins[first:last] if k == "RUN"]
stage2 = ins[last:]
report("Dockerfile stage 1 installs tools/deps.sh build",
       any(re.search(r"\bsh (\S*/)?tools/deps\.sh build\b", r) for r in stage1), repr(stage1))
report("Dockerfile stage 1 runs make and make install",
       any("make -j" in r and "make install" in r and "PREFIX=/usr/local" in r for r in stage1),
       repr(stage1))
report("Dockerfile final stage installs deps.sh runtime",
       any(k == "RUN" and re.search(r"\bsh \S*deps\.sh runtime\b", v) for k, v in stage2),
       repr(stage2))
report("Dockerfile copies the binaries from the build stage",
       any(k == "COPY" and "--from=build" in v and "/usr/local/bin" in v for k, v in stage2),
       repr(stage2))
report("Dockerfile names no package itself (tools/deps.sh does)",
       not any(k == "RUN" and re.search(r"apt-get\s+install|apt\s+install", v) for k, v in ins),
       "an apt-get install in the Dockerfile drifts from tools/deps.sh")
report("Dockerfile FROMs are overridable build args",
       froms and all(ins[i][1].startswith("${") for i in froms)
       and any(k == "ARG" and v == "RUNTIME_IMAGE=debian:bookworm-slim" for k, v in ins)
       and any(k == "ARG" and v == "BUILD_IMAGE=debian:bookworm" for k, v in ins),
       repr([ins[i] for i in froms]))
users = [v for k, v in stage2 if k == "USER"]
report("Dockerfile runs as a non-root user",
       len(users) >= 1 and users[-1].split(":")[0] not in ("root", "0"), repr(users))
expect("Dockerfile EXPOSE", [v for k, v in stage2 if k == "EXPOSE"], ["8000"])
hc = [v for k, v in stage2 if k == "HEALTHCHECK"]
report("Dockerfile HEALTHCHECK on /health",
       len(hc) == 1 and re.search(r"\bCMD\b.*curl.*/health\b", hc[0]) is not None, repr(hc))
expect("Dockerfile CMD", [v for k, v in stage2 if k == "CMD"], ['["nz-serve"]'])
report("Dockerfile ENV INDEX_PATH=/data/index",
       any(k == "ENV" and re.search(r"\bINDEX_PATH=/data/index\b", v) for k, v in stage2),
       repr([v for k, v in stage2 if k == "ENV"]))
try:
    ign = open(".dockerignore", encoding="utf-8").read().split()
except OSError:
    ign = []
report(".dockerignore keeps .git and build trees out", ".git" in ign and "build" in ign,
       repr(ign))
PYEOF

# -- tools/deps.sh knows the two sets the Dockerfile asks for
for set in build runtime; do
    out=$(sh tools/deps.sh "$set" 2>&1)
    rc=$?
    if [ $rc -eq 2 ]; then t_fail "deps.sh $set set" "$out"; else t_ok "deps.sh $set set"; fi
done

# -- the runtime set covers every library the installed binaries load:
# each DT_NEEDED of a built nz-* binary belongs to a package of the set
# (or to libc6/libgcc-s1/libstdc++6, in every Debian image).
runtime_set=$(sed -n '/^set_runtime="/,/"$/p' tools/deps.sh | tr -d '"' | sed 's/^set_runtime=//')
if [ "${NZ_SANITIZED:-0}" = 1 ]; then
    t_ok "runtime set covers the binaries' libraries # SKIP sanitized build links libasan"
elif ! command -v readelf >/dev/null || ! [ -x "$NZ_BIN/nz-serve" ]; then
    t_ok "runtime set covers the binaries' libraries # SKIP no readelf or no build in $NZ_BIN"
else
    missing=""
    for b in nz-extract nz-chunk nz-tokens nz-embed nz-index nz-serve nz-pipeline; do
        for lib in $(readelf -d "$NZ_BIN/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|x32|AArch64/ { print $NF; exit }')
            [ -n "$path" ] || path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
            pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
            [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
            case " libc6 libgcc-s1 libstdc++6 $(echo $runtime_set) " in
                *" $pkg "*) ;;
                *) missing="$missing $b:$lib(${pkg:-unknown})" ;;
            esac
        done
    done
    if [ -z "$missing" ]; then t_ok "runtime set covers the binaries' libraries"
    else t_fail "runtime set covers the binaries' libraries" "not in set_runtime:$missing"; fi
fi

# -- cron: one /etc/cron.d line, daily, as the nz user, running the push
cronline=$(grep -vE '^\s*(#|$|[A-Z_]+=)' deploy/crontab)
if [ "$(printf '%s\n' "$cronline" | grep -c .)" = 1 ] &&
    printf '%s\n' "$cronline" |
    grep -qE '^[0-9]+ [0-9]+ \* \* \* nz .*nz-pipeline run --push "\$SNAPSHOT_STORE"'; then
    t_ok "crontab: one daily nz-pipeline run --push line as user nz"
else
    t_fail "crontab: one daily nz-pipeline run --push line as user nz" "$cronline"
fi

# -- systemd units: what they run, and systemd-analyze verify
unit_has() { # name file pattern
    if grep -qE "$3" "$2"; then t_ok "$1"; else t_fail "$1" "$2 has no /$3/"; fi
}
S=deploy/systemd
unit_has "nz-serve.service runs nz-serve --follow" $S/nz-serve.service \
    '^ExecStart=.*/nz-serve .*--follow "\$\$SNAPSHOT_STORE"'
unit_has "nz-serve.service stops with SIGTERM in 30s" $S/nz-serve.service '^TimeoutStopSec=30s$'
unit_has "nz-ingest.service runs nz-pipeline run --push" $S/nz-ingest.service \
    '^ExecStart=.*/nz-pipeline run --push "\$\$SNAPSHOT_STORE"'
unit_has "nz-ingest.service is a oneshot" $S/nz-ingest.service '^Type=oneshot$'
unit_has "nz-ingest.timer is daily" $S/nz-ingest.timer '^OnCalendar=daily$'
unit_has "nz-ingest.timer starts nz-ingest.service" $S/nz-ingest.timer '^Unit=nz-ingest.service$'
for u in $S/nz-serve.service $S/nz-ingest.service; do
    unit_has "$(basename "$u") runs as user nz" "$u" '^User=nz$'
done
if ! command -v systemd-analyze >/dev/null; then
    t_ok "systemd-analyze verify # SKIP systemd-analyze not installed (Debian package systemd)"
elif ! systemd-analyze --version >/dev/null 2>&1; then
    t_ok "systemd-analyze verify # SKIP systemd-analyze cannot run here"
else
    # units name /usr/local/bin: verify only needs ExecStart's /bin/sh
    if systemd-analyze verify $S/nz-serve.service $S/nz-ingest.service $S/nz-ingest.timer \
        >"$T/verify.out" 2>&1 && ! grep -q . "$T/verify.out"; then
        t_ok "systemd-analyze verify"
    else
        t_fail "systemd-analyze verify" "$(tr '\n' ' ' <"$T/verify.out" | tail -c 400)"
    fi
fi
