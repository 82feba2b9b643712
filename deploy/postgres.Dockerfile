# PostgreSQL 15 from Debian's packages on the same base as the app (no Docker Hub needed: see
# compose.yaml); the cluster is made on first start in the /var/lib/postgresql/data volume.
FROM python:3.12-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15=15.* \
    && rm -rf /var/lib/apt/lists/*

COPY deploy/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
RUN mkdir -p /var/lib/postgresql/data && chown postgres:postgres /var/lib/postgresql/data

USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
CMD ["/usr/local/bin/postgres-entrypoint.sh"]
