# Stepwise: the playground served by uvicorn on port 8000, as an unprivileged user.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    OMP_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    STEPWISE_DATA_DIR=/data

WORKDIR /srv/stepwise

# Dependencies first, from pyproject.toml alone, so editing the source does not reinstall them.
COPY pyproject.toml ./
# With the postgres extra, so the same image runs alone (SQLite in /data) or as one of several replicas
# sharing PostgreSQL (STEPWISE_DATABASE_URL; compose.yaml).
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The app finds templates/, static/ and translations/ next to the app package, so it runs from this source tree.
COPY README.md ./
COPY app ./app
COPY engine ./engine
COPY templates ./templates
COPY static ./static
COPY translations ./translations
COPY lessons ./lessons
RUN pip install --no-cache-dir --no-deps -e . \
    && python -m compileall -q app engine \
    && groupadd --system --gid 10001 stepwise \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin stepwise \
    && mkdir -p /data \
    && chown 10001:10001 /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# Connection limits said out loud (the same as the command's defaults): 64 KiB request heads, 5 s idle
# keep-alive, 10 s to send a request head, 60 s to send a body.
CMD ["stepwise", "--host", "0.0.0.0", "--port", "8000", "--max-header-bytes", "65536", \
     "--keep-alive-seconds", "5", "--head-timeout-seconds", "10", "--body-timeout-seconds", "60"]
