# HAProxy from Debian's packages on the same base as the app (no Docker Hub needed: see compose.yaml),
# running deploy/haproxy.cfg as an unprivileged user on port 8080.
FROM python:3.12-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends haproxy=2.6.* \
    && rm -rf /var/lib/apt/lists/*

COPY deploy/haproxy.cfg /etc/haproxy/haproxy.cfg
RUN haproxy -c -f /etc/haproxy/haproxy.cfg

USER haproxy
EXPOSE 8080
CMD ["haproxy", "-db", "-W", "-f", "/etc/haproxy/haproxy.cfg"]
