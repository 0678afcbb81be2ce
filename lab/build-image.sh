#!/usr/bin/env bash
# Build a local systemd base image for one Debian suite without a registry:
# debootstrap from this machine's own apt mirror, then `docker import`.
# Cached: rebuilt only when the image is missing or this recipe changed (its hash is a label on the image).
set -euo pipefail

suite=${1:?usage: build-image.sh SUITE (bookworm|trixie)}
image="local/hostwatch-lab:${suite}"
recipe=$(sha256sum "$0" | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "hostwatch.recipe" }}' "$image" 2>/dev/null)" = "$recipe" ]; then
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "lab: installing debootstrap (first run only)"
  bash "$(dirname "$0")/apt-install.sh" debootstrap
fi

# The mirror this machine's apt already uses (deb822 or one-line sources).
# (a missing sources file is fine: hence `|| true`)
mirror=$(awk '($1 == "URIs:" || $1 == "deb") && $2 ~ /\/debian\/?$/ { print $2; exit }' \
  /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

rootfs=$(mktemp -d "/var/tmp/hostwatch-lab-${suite}.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

echo "lab: debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,python3,python3-apt,sudo,iproute2,procps,ca-certificates,dbus \
  "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# apt inside the container uses the same mirror as this machine.
rm -f "$rootfs/etc/apt/sources.list" "$rootfs"/etc/apt/sources.list.d/*
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# No getty on a container console; it only spins.
rm -f "$rootfs"/etc/systemd/system/getty.target.wants/*
chroot "$rootfs" apt-get clean

echo "lab: importing $image"
tar -C "$rootfs" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' \
  -c 'ENV container=docker' \
  -c "LABEL hostwatch.recipe=$recipe" \
  - "$image" >/dev/null
