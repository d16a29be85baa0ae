#!/usr/bin/env bash
# The run catalog on a real PostgreSQL 15 (started here on loopback): the
# same unit tests as on SQLite, run against the server.
source "$(dirname "$0")/lib.sh"

if ! pg_start; then
    t_fail pg_start "cannot start PostgreSQL: $(tail -c 400 "$PG_DIR/log" "$PG_DIR/initdb.log" 2>/dev/null | tr '\n' ' ')"
    exit 0
fi
t_ok pg_start
NZ_TEST_DATABASE_URL=$PG_URL nz-unit catalog_ 2>"$T/unit.err" |
    sed -e 's#^ok - unit/#ok - catalog_pg/#' -e 's#^not ok - unit/#not ok - catalog_pg/#'
