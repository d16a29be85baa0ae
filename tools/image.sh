#!/usr/bin/env bash
# image.sh -- build the container image (`make image`) and try it end to end
# (`make image-test`) without a Docker daemon or a registry.
#
#   bash tools/image.sh build    podman build of ./Dockerfile -> $NZ_IMAGE
#   bash tools/image.sh test     build, then: start nz-serve in a container on a
#                                scratch /data, ingest fixtures/docs inside it,
#                                wait for /health, ask one real query from the host
#
# Here there is no docker and no Docker Hub: Debian's podman runs the build
# with runc and cgroupfs, and the FROM images are a debootstrapped bookworm
# minbase root imported as localhost/bookworm (build stage) and
# localhost/bookworm-slim (final stage), passed as the Dockerfile's
# BUILD_IMAGE / RUNTIME_IMAGE build args. On Fly the defaults (debian:bookworm,
# debian:bookworm-slim) are used instead.
#
# As root, the missing tools (podman, runc, debootstrap) are apt-get installed
# here, like `make deps` does; otherwise the exact command is printed.
# Too slow for CI (several minutes): it is not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${NZ_IMAGE:-localhost/nuzantara}
BASE=${NZ_BASE_IMAGE:-localhost/bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# vfs: works on any file system, overlay-in-a-container included
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs --storage-driver "${NZ_STORAGE_DRIVER:-vfs}")

say() { printf '== %s\n' "$*"; }
die() { printf 'image: %s\n' "$*" >&2; exit 1; }

need_tools() {
    local missing="" p
    for p in podman runc debootstrap; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing:$missing. As root, run: apt-get install -y --no-install-recommends$missing"
    fi
    say "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
}

# base_images: localhost/bookworm and localhost/bookworm-slim, once.
# Both from one debootstrapped minbase root, with what Docker Hub's images
# set (PATH, CMD); the slim one also drops documentation, manuals and
# locales and keeps dpkg from installing them, as debian:bookworm-slim does.
base_images() {
    if "${PODMAN[@]}" image exists "$BASE" && "${PODMAN[@]}" image exists "$BASE-slim"; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    local root
    root=$(mktemp -d /var/tmp/nz-bookworm.XXXXXX)
    chmod 755 "$root" # it becomes the image's /: mktemp made it 0700
    say "debootstrap bookworm (minbase) -> $BASE, $BASE-slim"
    # debootstrap mounts proc/sys inside the root while it works: never
    # remove the root across a mount
    local drop='umount -R "$root/proc" "$root/sys" 2>/dev/null || true; rm -rf --one-file-system "$root"'
    debootstrap --variant=minbase bookworm "$root" "$MIRROR" >/dev/null ||
        { eval "$drop"; die "debootstrap failed"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    local change=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        --change 'CMD ["bash"]')
    tar --one-file-system -C "$root" -c . | "${PODMAN[@]}" import "${change[@]}" - "$BASE" >/dev/null
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*
    tar --one-file-system -C "$root" -c . |
        "${PODMAN[@]}" import "${change[@]}" - "$BASE-slim" >/dev/null
    eval "$drop"
}

build() {
    need_tools
    base_images
    say "podman build -> $IMAGE"
    local t0=$SECONDS
    # --format docker: the OCI format drops HEALTHCHECK
    "${PODMAN[@]}" build --format docker --network host "${LIMITS[@]}" \
        --build-arg BUILD_IMAGE="$BASE" --build-arg RUNTIME_IMAGE="$BASE-slim" \
        -t "$IMAGE" -f Dockerfile .
    local bytes
    bytes=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
    say "built $IMAGE in $((SECONDS - t0))s: $((bytes / 1000000)) MB"
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

image_test() {
    build
    local name=nz-image-test port=8000 data
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then port=18765; fi
    data=$(mktemp -d /var/tmp/nz-image-data.XXXXXX)
    chown 10001:10001 "$data" # the image's nz user
    "${PODMAN[@]}" rm -f "$name" >/dev/null 2>&1 || true
    trap '"${PODMAN[@]}" rm -f -t 5 '"$name"' >/dev/null 2>&1 || true; rm -rf '"$data" EXIT

    say "podman run $IMAGE (nz-serve, /data on $data, port $port)"
    local t0 code
    t0=$(now)
    "${PODMAN[@]}" run -d --name "$name" --network host "${LIMITS[@]}" \
        -v "$data:/data" -v "$PWD/fixtures/docs:/fixtures:ro" \
        --health-interval disable -e PORT="$port" -e EMBEDDING_PROVIDER=hash "$IMAGE" >/dev/null
    for _ in $(seq 1 200); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || true)
        [ "$code" != 000 ] && break
        sleep 0.05
    done
    [ "$code" != 000 ] || { "${PODMAN[@]}" logs "$name" | tail -n 5 >&2; die "nz-serve did not answer"; }
    say "nz-serve answers /health with $code (no index yet) after $(since "$t0")s"
    [ "$("${PODMAN[@]}" exec "$name" id -u)" != 0 ] || die "the container runs as root"

    say "nz-pipeline run /fixtures inside the container (INDEX_PATH=/data/index)"
    "${PODMAN[@]}" exec -e EMBEDDING_PROVIDER=hash "$name" nz-pipeline run /fixtures |
        sed 's/^/   /'
    for _ in $(seq 1 600); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || true)
        [ "$code" = 200 ] && break
        sleep 0.05
    done
    [ "$code" = 200 ] || { "${PODMAN[@]}" logs "$name" | tail -n 5 >&2; die "/health is $code"; }
    local healthy
    healthy=$(since "$t0")
    curl -s "http://127.0.0.1:$port/health" | sed 's/^/   /'
    echo
    say "healthy ${healthy}s after podman run (ingestion included)"

    # the image's own HEALTHCHECK (curl inside the container), run by hand:
    # podman's timer for it needs systemd (--health-interval disable above)
    if "${PODMAN[@]}" healthcheck run "$name" >/dev/null 2>&1; then
        say "HEALTHCHECK: healthy"
    else
        die "the image's HEALTHCHECK failed"
    fi

    local answer
    answer=$(curl -s -X POST "http://127.0.0.1:$port/v1/query" -H 'Content-Type: application/json' \
        -d '{"query":"What visa do I need to work in Indonesia?","k":3}')
    case "$answer" in
        '{"results":[{"chunk_id":'*) say "query: $(printf '%s' "$answer" | grep -o '"title":"[^"]*"' | head -n 3 | tr '\n' ' ')" ;;
        *) die "query failed: ${answer:0:300}" ;;
    esac

    say "podman stop (SIGTERM drains)"
    "${PODMAN[@]}" stop -t 30 "$name" >/dev/null
    say "image-test passed: image $(("$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")" / 1000000)) MB," \
        "healthy in ${healthy}s"
}

case "${1:-}" in
    build) build ;;
    test) image_test ;;
    *) echo "usage: bash tools/image.sh build|test" >&2; exit 2 ;;
esac
