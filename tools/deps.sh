#!/bin/sh
# deps.sh -- check the Debian packages that one job needs; as root, install
# the missing ones, otherwise print the exact command.
#
#   sh tools/deps.sh [SET...]      (default: build)
#
# Each SET names what one make target needs, and brings in the set it
# stands on:
#   build   compiler, pkg-config and the -dev libraries    (make, make install)
#   demo    build + curl                                    (make demo)
#   test    build + what tests/run.sh and tests/e2e/ run:   (make test, make asan)
#           curl, jq, procps, python3 + numpy, poppler-utils (pdftotext),
#           PostgreSQL 15 and the sqlite3 shell (the run catalog's tests),
#           Node.js + npm (js-tiktoken, s3rver), python3-botocore
#           (SigV4 recomputed independently), the documentation corpora,
#           systemd (systemd-analyze verify of deploy/systemd/)
#   bench   test + hnswlib, faiss and OpenBLAS, wrk         (make bench)
#   fuzz    build + clang, its libFuzzer runtime and libomp (make fuzz)
#   format  clang-format                                    (make format)
#   runtime the shared libraries the installed nz-* binaries load, and curl
#           (no compiler; the Dockerfile's second stage: tools/image.sh)
#   all     every set above but runtime                     (.ci/run)
#
# The Dockerfile runs this script for its two stages (build, runtime), so
# the image and `make deps` install the same packages.
set -eu

set_build="build-essential pkg-config ca-certificates
libcurl4-openssl-dev libxml2-dev libpoppler-glib-dev zlib1g-dev libpq-dev
libmicrohttpd-dev libjansson-dev libssl-dev libpcre2-dev libutf8proc-dev libgoogle-perftools-dev
libsqlite3-dev libarchive-dev"
set_demo="curl"
set_test="curl jq procps gzip python3 python3-numpy python3-botocore poppler-utils postgresql-15 sqlite3
postgresql-doc-15 debian-reference-en debian-reference-id gnuplot-doc systemd"
# strace: tests/e2e/durability.sh checks the order of fsync and rename calls
set_test="$set_test strace"
set_bench="python3-hnswlib python3-faiss libopenblas0-pthread"
# bench/serve: wrk, and bench/corpus's documentation (also in set_test)
set_bench="$set_bench wrk postgresql-doc-15 debian-reference-en debian-reference-id"
# runtime: the libraries the -dev packages of set_build link against
set_runtime="ca-certificates curl libcurl4 libxml2 libpoppler-glib8 zlib1g libpq5
libmicrohttpd12 libjansson4 libssl3 libpcre2-8-0 libutf8proc2 libsqlite3-0
libtcmalloc-minimal4 libgomp1 libglib2.0-0 libarchive13"
set_fuzz="clang libclang-rt-14-dev libomp-dev"
set_format="clang-format"
# bench/quality: the labelled manual (en, id) and the FTS5 peer (also in test)
set_bench="$set_bench debian-reference-en debian-reference-id sqlite3"

PKGS=""
add() { PKGS="$PKGS $*"; }
want() { # set
    case "$1" in
        build) add "$set_build" ;;
        demo) want build; add "$set_demo" ;;
        test)
            want build
            add "$set_test"
            # Node.js and npm run js-tiktoken, the tokenizer reference of the
            # tests, and s3rver, the object store of tests/e2e/store_s3.sh. Any node >= 18 will do (Debian's, or one already installed).
            command -v node >/dev/null 2>&1 || add nodejs
            command -v npm >/dev/null 2>&1 || add npm
            ;;
        bench) want test; add "$set_bench" ;;
        fuzz) want build; add "$set_fuzz" ;;
        runtime) add "$set_runtime" ;;
        format) add "$set_format" ;;
        all) for s in build demo test bench fuzz format; do want "$s"; done ;;
        *)
            echo "deps: unknown set \"$1\" (build, demo, test, bench, fuzz, format, runtime, all)" >&2
            exit 2
            ;;
    esac
}
[ $# -eq 0 ] && set -- build
for s in "$@"; do want "$s"; done

missing=""
for p in $(printf '%s\n' $PKGS | sort -u); do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
else
    echo "deps: missing Debian packages. As root, run:" >&2
    echo "  apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
