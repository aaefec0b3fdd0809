#!/usr/bin/env bash
# Build the Dockerfile and run the image without a Docker daemon and without Docker Hub:
#   1. a stand-in for python:3.11-slim from Debian packages (debootstrap bookworm minbase +
#      python3 3.11 + a venv at /usr/local, so `python`/`pip` are on PATH as in the official
#      image), cached as a tarball under $COSTPILOT_CONTAINER_CACHE (~/.cache/costpilot-container-base);
#   2. `podman import` of it as localhost/costpilot-base:3.11-slim (skipped when already imported);
#   3. `podman build --build-arg BASE_IMAGE=…` of the real Dockerfile (chroot isolation, host
#      network for PyPI and deb.debian.org, the host's CA bundle bind-mounted for the RUN steps only);
#   4. the image's checks: `costpilot --help` as uid 10001, `serve --host 127.0.0.1 --port N`
#      answers /healthz 200 (host network), the image's own CMD + HEALTHCHECK pass (`podman
#      healthcheck run`, in a network namespace of its own), no compiler, no /src, no pytest.
# Each step prints PASS/FAIL with its time; the exit code is 1 when any check failed.
# Needs root (debootstrap, rootful podman). A second run reuses the base and the layer cache.
#
# Why these flags (this machine: cgroup v1/v2 hybrid, no CAP_SYS_RESOURCE):
#   --runtime runc      crun 1.8 refuses: "cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
#   --ulimit nofile/nproc  podman's defaults (nofile 1048576) fail: "setrlimit `RLIMIT_NOFILE`: Operation not permitted"
#   --isolation chroot  RUN steps need no OCI runtime at all
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${COSTPILOT_CONTAINER_CACHE:-$HOME/.cache/costpilot-container-base}"
MIRROR="${COSTPILOT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm          # Debian 12: python3 is 3.11, as python:3.11-slim
RECIPE=1                # bump when the base recipe below changes: the cached tarball is rebuilt
BASE_TAR="$CACHE/python3.11-slim-$SUITE-r$RECIPE.tar"
BASE="localhost/costpilot-base:3.11-slim"
IMAGE="${COSTPILOT_IMAGE:-localhost/costpilot:check}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

if [ "$(id -u)" != 0 ]; then
  echo "container_check: run as root (debootstrap and rootful podman)" >&2
  exit 2
fi

# --- Debian packages this check needs -------------------------------------------------------
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the container check…" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
fi

hard_nofile="$(ulimit -Hn)"; [ "$hard_nofile" = unlimited ] && hard_nofile=1048576
hard_nproc="$(ulimit -Hu)"; [ "$hard_nproc" = unlimited ] && hard_nproc=32768
nproc=$(( hard_nproc < 32768 ? hard_nproc : 32768 ))
nofile=$(( hard_nofile < 65536 ? hard_nofile : 65536 ))
RUN=(podman --runtime runc run --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

LOG="$CACHE/logs"
mkdir -p "$CACHE" "$LOG"
failures=0
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
pass() { echo "PASS  $1 ($(since "$2"))"; }
fail() { echo "FAIL  $1 ($(since "$2"))${3:+: $3}"; failures=$((failures + 1)); }

# Containers of this run, removed on any exit.
TAG="costpilot-check-$$"
cleanup() {
  local c
  for c in "$TAG-serve" "$TAG-slack" "$TAG-hc" "$TAG-hc-slack"; do
    podman rm -f -t 2 "$c" >/dev/null 2>&1 || true
  done
  # Earlier builds' images (untagged by this one) would fill the disk run after run.
  podman image prune -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A Slack Web API stand-in on loopback: `serve` checks its bot token with auth.test at start.
STANDIN="$CACHE/slack_auth_standin.py"
cat >"$STANDIN" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ANSWER = json.dumps({"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1",
                     "team": "check", "user": "costpilot"}).encode()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
EOF
SLACK_ENV=(-e SLACK_BOT_TOKEN=xoxb-container-check -e SLACK_SIGNING_SECRET=container-check)

# --- 1. the base root filesystem (cached) -----------------------------------------------------
t=$(now)
if [ -s "$BASE_TAR" ]; then
  pass "base rootfs: cached $BASE_TAR" "$t"
else
  rootfs="$CACHE/rootfs.tmp"
  rm -rf "$rootfs"
  if debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$SUITE" "$rootfs" "$MIRROR" >"$LOG/debootstrap.log" 2>&1 \
    && chroot "$rootfs" python3 -m venv /usr/local >>"$LOG/debootstrap.log" 2>&1; then
    # As the official slim images: no apt caches, docs, man pages or locales; dpkg keeps them out.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
      "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/local/bin/[Aa]ctivate* \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$BASE_TAR.tmp" .
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$rootfs"
    pass "base rootfs: debootstrap $SUITE minbase + python3 + venv at /usr/local" "$t"
  else
    fail "base rootfs: debootstrap" "$t" "see $LOG/debootstrap.log"
    exit 1
  fi
fi

# --- 2. the base image (imported once per tarball) --------------------------------------------
t=$(now)
base_sum="$(sha256sum "$BASE_TAR" | cut -c1-16)"
have_sum="$(podman image inspect --format '{{index .Labels "costpilot.base-tar"}}' "$BASE" 2>/dev/null || true)"
if [ "$have_sum" = "$base_sum" ]; then
  pass "base image: $BASE already imported" "$t"
elif podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL costpilot.base-tar=$base_sum" \
    --change 'CMD ["python3"]' \
    "$BASE_TAR" "$BASE" >"$LOG/import.log" 2>&1; then
  pass "base image: podman import $BASE" "$t"
else
  fail "base image: podman import" "$t" "see $LOG/import.log"
  exit 1
fi

# --- 3. the build ------------------------------------------------------------------------------
t=$(now)
if podman build --pull=never --format docker --isolation chroot --network host \
    -v "$CA_BUNDLE:$CA_BUNDLE:ro" --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE" "$ROOT" \
    >"$LOG/build.log" 2>&1; then
  size="$(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
  pass "build: $IMAGE from $BASE, $size" "$t"
else
  fail "build" "$t" "$(grep -E '^(Error|ERROR)' "$LOG/build.log" | tail -1) — see $LOG/build.log"
  exit 1
fi

# --- 4. the image ------------------------------------------------------------------------------
t=$(now)
help="$("${RUN[@]}" --rm --network none "$IMAGE" --help 2>/dev/null || true)"
uid="$("${RUN[@]}" --rm --network none --entrypoint id "$IMAGE" -u 2>/dev/null || true)"
if grep -q "Usage: costpilot" <<<"$help" && [ "$uid" = 10001 ]; then
  pass "run: costpilot --help as uid $uid" "$t"
else
  fail "run: costpilot --help as uid 10001" "$t" "uid=${uid:-?}, help: $(head -1 <<<"$help")"
fi

t=$(now)
port="$(free_port)"; slack="$(free_port)"
"${RUN[@]}" -d --name "$TAG-slack" --network host -v "$STANDIN:/opt/standin.py:ro" \
  --entrypoint python "$IMAGE" /opt/standin.py "$slack" >/dev/null 2>>"$LOG/run.log"
"${RUN[@]}" -d --name "$TAG-serve" --network host "${SLACK_ENV[@]}" \
  -e "COSTPILOT_SLACK_API_BASE_URL=http://127.0.0.1:$slack/" \
  "$IMAGE" serve --host 127.0.0.1 --port "$port" >/dev/null 2>>"$LOG/run.log"
code=000
for _ in $(seq 1 120); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)"
  [ "$code" = 200 ] && break
  [ "$(podman inspect --format '{{.State.Running}}' "$TAG-serve" 2>/dev/null)" = true ] || break
  sleep 0.5
done
if [ "$code" = 200 ]; then
  pass "serve: --host 127.0.0.1 --port $port answers /healthz 200 (host network)" "$t"
else
  fail "serve: /healthz" "$t" "HTTP $code; $(podman logs "$TAG-serve" 2>&1 | grep -v systemd | tail -2 | tr '\n' ' ')"
fi
podman rm -f -t 2 "$TAG-serve" "$TAG-slack" >/dev/null 2>&1 || true

# The image's own ENTRYPOINT + CMD (serve on 0.0.0.0:3000, JSON logs) in a network namespace of
# its own (loopback only), its Slack stand-in beside it, and the image's HEALTHCHECK run in it.
t=$(now)
"${RUN[@]}" -d --name "$TAG-hc-slack" --network none -v "$STANDIN:/opt/standin.py:ro" \
  --entrypoint python "$IMAGE" /opt/standin.py 3001 >/dev/null 2>>"$LOG/run.log"
"${RUN[@]}" -d --name "$TAG-hc" --network "container:$TAG-hc-slack" "${SLACK_ENV[@]}" \
  -e "COSTPILOT_SLACK_API_BASE_URL=http://127.0.0.1:3001/" "$IMAGE" >/dev/null 2>>"$LOG/run.log"
healthy=""
for _ in $(seq 1 60); do
  if podman healthcheck run "$TAG-hc" >/dev/null 2>>"$LOG/run.log"; then healthy=yes; break; fi
  [ "$(podman inspect --format '{{.State.Running}}' "$TAG-hc" 2>/dev/null)" = true ] || break
  sleep 0.5
done
hc="$(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE")"
if [ -n "$healthy" ] && grep -q /healthz <<<"$hc"; then
  pass "healthcheck: the image's HEALTHCHECK ($(cut -c1-40 <<<"$hc")…) against its default CMD" "$t"
else
  fail "healthcheck" "$t" "test=$hc; $(podman logs "$TAG-hc" 2>&1 | grep -v systemd | tail -2 | tr '\n' ' ')"
fi
podman rm -f -t 2 "$TAG-hc" "$TAG-hc-slack" >/dev/null 2>&1 || true

t=$(now)
# shellcheck disable=SC2016 # expanded in the container
content="$("${RUN[@]}" --rm --network none --entrypoint sh "$IMAGE" -c '
  for c in gcc cc c++ g++ clang make ld as; do command -v "$c" >/dev/null && echo "compiler:$c"; done
  [ -e /src ] && echo "found:/src"
  [ -e /dist ] && echo "found:/dist"
  python -c "import pytest" 2>/dev/null && echo "importable:pytest"
  pip show -q pytest >/dev/null 2>&1 && echo "installed:pytest"
  git --version >/dev/null || echo "missing:git"
  echo checked' 2>/dev/null || true)"
if [ "$(tail -1 <<<"$content")" = checked ] && [ "$(wc -l <<<"$content")" = 1 ]; then
  pass "content: no compiler, no /src, no /dist, no pytest; git present" "$t"
else
  fail "content" "$t" "$(grep -v checked <<<"$content" | tr '\n' ' ')"
fi

if [ "$failures" -gt 0 ]; then
  echo "container check: $failures failed (logs in $LOG)"
  exit 1
fi
echo "container check: all passed"
