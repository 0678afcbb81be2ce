#!/usr/bin/env bash
# After `make demo`: show each lab host answering through nginx, and how to reach it and tear it down.
set -euo pipefail
cd "$(dirname "$0")/.."

token=${HOSTWATCH_LAB_TOKEN:-lab-demo-token}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
hosts=$(ansible-inventory -i inventory/lab --list \
  | python3 -c 'import json,sys; hv=json.load(sys.stdin)["_meta"]["hostvars"]; [print(h, v["hostwatch_lab_ip"]) for h, v in sorted(hv.items())]')

while read -r name ip; do
  echo
  echo "== $name ($ip) =========================================================="
  echo "-- GET http://$ip/health"
  curl -sS --max-time 5 -o "$body" -w '%{http_code} %{content_type}\n' "http://$ip/health"
  python3 lab/health_summary.py <"$body"
  echo "-- GET http://$ip/logs/nginx_access?lines=5 (bearer token)"
  curl -sS --max-time 5 -H "Authorization: Bearer $token" "http://$ip/logs/nginx_access?lines=5"
done <<<"$hosts"

cat <<TXT

The operator page of each host (a browser on this machine; the token is asked once per tab):
$(while read -r name ip; do echo "  http://$ip/    ($name)"; done <<<"$hosts")
  token: $token

The lab hosts are systemd containers on this machine:
  curl http://$(awk 'NR==1{print $2}' <<<"$hosts")/health
  curl -H 'Authorization: Bearer $token' http://$(awk 'NR==1{print $2}' <<<"$hosts")/logs
  docker exec -it $(awk 'NR==1{print $1}' <<<"$hosts") bash
Re-deploy: make demo (a second run changes nothing). Tear down: make demo-down
TXT
