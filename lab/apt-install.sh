#!/usr/bin/env bash
# Install Debian packages on this machine, one apt at a time: `make test` fetches the lab's tools (Docker,
# debootstrap, chromium) side by side, and apt refuses a second caller while one holds its lock.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
exec flock /var/lock/hostwatch-apt.lock sh -c 'apt-get update -qq && apt-get install -y -qq "$@" >/dev/null' apt "$@"
