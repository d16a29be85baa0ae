#!/bin/sh
# deps.sh -- check the Debian packages that build, tests and demo need.
# As root, install the missing ones; otherwise print the exact command.
set -eu
PKGS="build-essential pkg-config ca-certificates
libcurl4-openssl-dev libxml2-dev libpoppler-glib-dev zlib1g-dev libpq-dev
libmicrohttpd-dev libjansson-dev libssl-dev libpcre2-dev libutf8proc-dev libgoogle-perftools-dev
curl jq procps python3 python3-numpy python3-hnswlib python3-faiss libopenblas0-pthread poppler-utils clang libclang-rt-14-dev
postgresql-doc-15 debian-reference-en debian-reference-id gnuplot-doc"
missing=""
# Node.js and npm run js-tiktoken, the tokenizer reference of the tests.
# Any node >= 18 will do (Debian's, or one already installed).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
for p in $PKGS; do
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
    echo "deps: missing Debian packages. Run:" >&2
    echo "  sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
