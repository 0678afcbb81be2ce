#!/usr/bin/env bash
# Make sure Debian's chromium and its chromedriver are installed on the controller: the molecule
# default scenario's browser test drives them (browser downloads are not reachable; Debian's are).
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || [ ! -f /etc/debian_version ]; then
  echo "lab: chromium and chromium-driver are missing and this is not Debian as root: install them, then retry." >&2
  exit 1
fi
echo "lab: installing chromium and chromium-driver (first run only)"
bash "$(dirname "$0")/apt-install.sh" chromium chromium-driver
