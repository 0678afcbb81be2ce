#!/usr/bin/env bash
# Install Debian packages on this machine, one apt at a time: `make test` fetches the lab's tools (Docker,
# debootstrap, chromium, promtool) side by side, and apt refuses a second caller while one holds its lock.
#   lab/apt-install.sh PKG...                 install them
#   lab/apt-install.sh --extract DIR PKG...   only unpack their files into DIR: nothing installed, no maintainer
#                                             script run, no service started (promtool without a Prometheus)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
lock=/var/lock/hostwatch-apt.lock

if [ "${1:-}" != --extract ]; then
  exec flock "$lock" sh -c 'apt-get update -qq && apt-get install -y -qq "$@" >/dev/null' apt "$@"
fi

dir=$2
shift 2
mkdir -p "$(dirname "$dir")"
# unpacked beside DIR and moved into place whole: an interrupted run leaves no half tree that looks complete
tmp=$(mktemp -d "$dir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory as the unprivileged _apt user where it can
chown _apt "$tmp" 2>/dev/null || true
(cd "$tmp" && flock "$lock" sh -c 'apt-get update -qq && apt-get download -qq "$@"' apt "$@")
for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$tmp/root"
done
rm -rf "$dir"
mv "$tmp/root" "$dir"
