#!/usr/bin/env bash
# Start/stop a private Docker engine and build the local stand-in for python:3.12-slim-bookworm.
#
# Sourced by .ci/run (and usable by hand: `source .ci/docker-engine.sh; start_dockerd; ...; stop_dockerd`).
# Docker Hub is unreachable from these machines, so `FROM python:3.12-slim-bookworm` is satisfied by an image
# built here: a Debian bookworm minbase rootfs (debootstrap, from the mirror apt already uses) plus this
# machine's pyenv CPython 3.12 copied to /usr/local, trusting the machine's extra CA certificates so pip
# inside `docker build` reaches PyPI through the TLS-terminating proxy.

CI_CACHE="${STEPWISE_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stepwise-ci}"
DOCKER_ROOT="$CI_CACHE/docker"           # kept between runs so the base image and layers are cached
DOCKER_RUN_DIR="$CI_CACHE/run"
DOCKERD_PID=""
# bookworm, not plain python:3.12-slim: that tag moved to Debian 13 (trixie) in August 2025, which packages
# neither PostgreSQL 15 nor HAProxy 2.6 (deploy/*.Dockerfile); every image here names the release it is on
BASE_TAG="python:3.12-slim-bookworm"
OLD_BASE_TAG="python:3.12-slim"          # what this script tagged its stand-in before

start_dockerd() {
  mkdir -p "$DOCKER_ROOT" "$DOCKER_RUN_DIR"
  # A socket of our own so we never talk to (or disturb) another engine on the machine.
  export DOCKER_HOST="unix://$DOCKER_RUN_DIR/docker.sock"
  dockerd --data-root "$DOCKER_ROOT" --exec-root "$DOCKER_RUN_DIR/exec" \
    --pidfile "$DOCKER_RUN_DIR/dockerd.pid" -H "$DOCKER_HOST" \
    >"$DOCKER_RUN_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do
    if docker version >/dev/null 2>&1; then
      echo "dockerd ready (pid $DOCKERD_PID, $DOCKER_HOST)"
      return 0
    fi
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "dockerd did not start; last lines of its log:" >&2
  tail -n 30 "$DOCKER_RUN_DIR/dockerd.log" >&2
  return 1
}

stop_dockerd() {
  if [[ -n "$DOCKERD_PID" ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID"
    # dockerd stops its containerd child itself; wait so nothing outlives the run.
    for _ in $(seq 1 60); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$DOCKERD_PID" 2>/dev/null; then kill -KILL "$DOCKERD_PID" || true; fi
    wait "$DOCKERD_PID" 2>/dev/null || true
    echo "dockerd (pid $DOCKERD_PID) stopped"
  fi
  DOCKERD_PID=""
}

debian_mirror() {
  # The first Debian URI apt is configured with (deb822 .sources or one-line .list format).
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
        | grep -v security | head -n 1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
          | awk '{print $2}' | grep -i debian | grep -v security | head -n 1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

find_python312() {
  # A relocatable CPython 3.12 build on this machine (pyenv's), newest patch first.
  local candidate
  for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.* 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/bin/python3.12" ]]; then echo "$candidate"; return 0; fi
  done
  return 1
}

build_base_image() {
  if docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    echo "base image $BASE_TAG already built (cached in $DOCKER_ROOT)"
    return 0
  fi
  if docker image inspect "$OLD_BASE_TAG" >/dev/null 2>&1 \
     && docker image inspect local/debian:bookworm >/dev/null 2>&1; then
    docker tag "$OLD_BASE_TAG" "$BASE_TAG"  # the same bookworm stand-in, built by this script before
    echo "base image $BASE_TAG: the cached stand-in, tagged"
    return 0
  fi
  local python_dir mirror work
  python_dir=$(find_python312) || { echo "no CPython 3.12 found under ~/.pyenv/versions" >&2; return 1; }
  mirror=$(debian_mirror)
  work=$(mktemp -d)
  echo "building $BASE_TAG: debootstrap bookworm from $mirror + $python_dir"

  if ! docker image inspect local/debian:bookworm >/dev/null 2>&1; then
    # The shared libraries CPython's extension modules link against (ssl, sqlite3, ctypes, readline...).
    debootstrap --variant=minbase \
      --include=ca-certificates,netbase,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libreadline8,libncursesw6,libexpat1,libuuid1,libgdbm6,libgdbm-compat4,libcrypt1,libtirpc3,tzdata \
      bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 30 "$work/debootstrap.log" >&2; rm -rf "$work"; return 1; }
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -c . | docker import - local/debian:bookworm >/dev/null
    rm -rf "$work/rootfs"
  fi

  mkdir -p "$work/context/python" "$work/context/certs"
  # Leave out the test suite, the static libpython and this sandbox's own .pth hook.
  tar -C "$python_dir" \
    --exclude='./lib/python3.12/test' --exclude='./lib/python3.12/idlelib' \
    --exclude='./lib/python3.12/tkinter' --exclude='./lib/python3.12/turtledemo' \
    --exclude='*.a' --exclude='__pycache__' --exclude='./lib/python3.12/site-packages/*.pth' \
    -c . | tar -C "$work/context/python" -x
  # pyenv wrote its own prefix into script shebangs (pip, pydoc...); point them at the new home.
  local script
  for script in "$work/context/python/bin/"*; do
    if [[ -f "$script" && ! -L "$script" ]] && [[ "$(head -c 2 "$script")" == '#!' ]]; then
      sed -i '1s|^#!.*/bin/python3[.0-9]*$|#!/usr/local/bin/python3.12|' "$script"
    fi
  done
  cp /usr/local/share/ca-certificates/*.crt "$work/context/certs/" 2>/dev/null || true
  cat >"$work/context/Dockerfile" <<DOCKERFILE
FROM local/debian:bookworm
COPY python/ /usr/local/
COPY certs/ /usr/local/share/ca-certificates/
RUN ldconfig && update-ca-certificates >/dev/null \\
 && printf '[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n' > /etc/pip.conf \\
 && python3 --version && python3 -c 'import ssl, sqlite3, ctypes, zlib, lzma, bz2'
ENV LANG=C.UTF-8 PYTHON_VERSION=${python_dir##*/} SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
DOCKERFILE
  docker build -q -t "$BASE_TAG" "$work/context" >/dev/null \
    || { rm -rf "$work"; return 1; }
  rm -rf "$work"
  echo "base image $BASE_TAG built"
}
