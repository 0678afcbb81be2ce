#!/usr/bin/env bash
# Make sure a Docker daemon answers. On Debian as root, install docker.io and start dockerd when none answers;
# anywhere else, say what is missing and stop.
set -euo pipefail

log=${HOSTWATCH_DOCKERD_LOG:-/var/log/hostwatch-lab-dockerd.log}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || [ ! -f /etc/debian_version ]; then
  echo "lab: no Docker daemon answers, and this is not Debian as root: start Docker yourself, then retry." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "lab: installing docker.io (first run only)"
  bash "$(dirname "$0")/apt-install.sh" docker.io
fi

if [ -d /run/systemd/system ]; then
  # A systemd host: the package's unit owns the daemon.
  echo "lab: starting docker.service"
  systemctl start docker.service
else
  echo "lab: starting dockerd (log: $log)"
  # setsid: the daemon outlives this script and make; with no systemd as PID 1, no unit can own it.
  setsid dockerd >"$log" 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 1
done
echo "lab: dockerd did not answer within 60 s; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
