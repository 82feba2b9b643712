#!/bin/sh
# First start: a cluster whose one user "stepwise" has the password POSTGRES_PASSWORD (never stored in
# the image), reachable from the compose network with that password only. Then run the server.
set -eu
PGDATA=/var/lib/postgresql/data
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    umask 077
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    "$BIN/initdb" -D "$PGDATA" -U stepwise --pwfile=/tmp/pwfile -A scram-sha-256 -E UTF8
    rm -f /tmp/pwfile
    echo "host all stepwise 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
# SIGTERM from `docker compose stop` is PostgreSQL's smart shutdown; compose then waits
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c max_connections=200
