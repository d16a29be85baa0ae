#!/usr/bin/env bash
# bench/extract: nz-extract against pdftotext on the same PDFs, in the same
# run, and HTML pages per second over the PostgreSQL manual.
set -eu
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$@"
