#!/usr/bin/env bash
# Services the tests talk to for real: PostgreSQL (127.0.0.1:5432), a Prometheus binary and Java (Spark).
set -euo pipefail
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL…" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "installing Prometheus (Debian package) for the Prometheus ingest tests…" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq prometheus >&2
  # The package starts a system service on :9090 where systemd runs; the tests start their own.
  $SUDO systemctl stop prometheus 2>/dev/null || true
fi
if ! command -v java >/dev/null; then
  echo "installing Java (Debian openjdk-17-jre-headless) for the Spark query tests…" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless >&2
fi
