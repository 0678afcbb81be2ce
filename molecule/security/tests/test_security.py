"""The stack under attack: one converged host, one attacker with three addresses (see molecule.yml).

The tests run once each, in this order (the faults last), from the controller; traffic is generated
inside the attacker by attack.py and goes only to the scenario's host.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import testinfra
from stackcheck import converge, http, scenario_vars, wait_for  # molecule/common, on PYTHONPATH

VARS = scenario_vars(Path(__file__).parent)
TOKEN = VARS["molecule_token"]
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()
HOST_IP = "172.30.3.11"
CANARY = "CANARY-7d1e"
# What no answer may ever hold: the adm-readable canary, the token digest of the app's config,
# and any line of /etc/passwd.
CANARIES = [CANARY, DIGEST, "root:x:0:0"]
PROBLEM = "application/problem+json"
BASE = "http://127.0.0.1"
AUTH = ("-H", f"Authorization: Bearer {TOKEN}")


def _host(name: str) -> Any:
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)


@pytest.fixture(scope="module")
def target() -> Any:
    return _host("hostwatch-sec-host")


@pytest.fixture(scope="module")
def attacker() -> Any:
    return _host("hostwatch-sec-attacker")


def install(where: Any) -> None:
    script = base64.b64encode((Path(__file__).parent / "attack.py").read_bytes()).decode()
    where.run_expect([0], f"echo {script} | base64 -d > /root/attack.py")


def attack(where: Any, *args: str, timeout: int = 300) -> Any:
    """Run attack.py inside `where` and return its JSON."""
    install(where)
    run = where.run(f"timeout {timeout} python3 /root/attack.py {shlex.join(args)}")
    assert run.rc == 0, run.stderr
    return json.loads(run.stdout)


def table(rows: list[dict[str, Any]]) -> str:
    by: dict[str, Counter[str]] = {}
    for r in rows:
        outcome = "closed (444)" if r["status"] is None else str(r["status"])
        by.setdefault(r["category"], Counter())[outcome] += 1
    width = max(len(c) for c in by) + 2
    lines = [f"{'category':<{width}} {'cases':>5}  outcomes"]
    for category, counts in by.items():
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        lines.append(f"{category:<{width}} {sum(counts.values()):>5}  {outcomes}")
    total = Counter("closed (444)" if r["status"] is None else str(r["status"]) for r in rows)
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(total.items()))
    lines.append(f"{'total':<{width}} {len(rows):>5}  {outcomes}")
    return "\n".join(lines)


def swap_for_symlink(target: Any, log: str, to: str) -> None:
    """`ln -s TO .tmp && mv -T .tmp LOG`, keeping the real file aside."""
    target.run_expect([0], f"cp -p {log} {log}.orig && ln -sfn {to} {log}.tmp")
    target.run_expect([0], f"mv -T {log}.tmp {log}")


# What the second review's cases (issue 16) must get: nginx's own problems, gunicorn's as
# problems, the URI cap from the first byte, and follow filters checked like a tail's.
ROUND_TWO = {
    "control byte in a header": 400,
    "esc in referer": 400,
    "del in header": 400,
    "unknown transfer-encoding": 501,
    "uri 4.2k": 414,
    "uri 7.2k": 414,
    "header line 5k before host": 400,
    "internal problem page": 404,
    "if-match on static": 412,
    "follow backtracking regex": 200,
    "follow bad regex": 400,
    "follow lines": 400,
}


def test_bad_input_corpus(target: Any, attacker: Any) -> None:
    rows = attack(attacker, "corpus", HOST_IP, TOKEN, "main", ",".join(CANARIES))
    round_two = {r["name"]: r["status"] for r in rows if r["category"] == "round two"}
    print(f"\nround two: {round_two}")
    # gunicorn's own refusals, straight to its socket (nginx in front never lets them through)
    rows += attack(target, "gunicorn", "/run/hostwatch/hostwatch.sock", ",".join(CANARIES))
    log = "/var/log/hwtest/app.log"
    for to in ("/var/log/canary.log", "/etc/hostwatch/hostwatch.toml"):
        swap_for_symlink(target, log, to)
        try:
            swapped = attack(attacker, "corpus", HOST_IP, TOKEN, "symlink", ",".join(CANARIES))
        finally:
            target.run_expect([0], f"mv -T {log}.orig {log}")
        assert all(r["status"] in (200, 403) for r in swapped), swapped  # 200: the listing
        assert [r["status"] for r in swapped if r["name"] != "/logs"] == [403] * 4, swapped
        rows += swapped
    print(f"\nbad-input corpus through nginx ({len(rows)} cases):\n{table(rows)}")

    assert len(rows) >= 300
    # 501 is what RFC 9112 (6.1) asks for an unknown transfer coding: the client's doing, no fault
    not_implemented = [r["name"] for r in rows if r["status"] == 501]
    assert all("transfer-encoding" in name for name in not_implemented), not_implemented
    server_errors = [r for r in rows if r["status"] is not None and r["status"] >= 500]
    assert len(server_errors) == len(not_implemented), server_errors
    leaks = [r for r in rows if r["leak"]]
    assert not leaks, leaks
    errors = [r for r in rows if r["status"] is not None and r["status"] >= 400]
    not_problems = [r for r in errors if not r["ctype"].startswith(PROBLEM)]
    assert not not_problems, not_problems
    # no answer at all is for unknown Host names only (444)
    closed = [r for r in rows if r["status"] is None and r["category"] != "unknown host"]
    assert not closed, closed
    baseline = [r["status"] for r in rows if r["category"] == "baseline"]
    assert baseline == [200] * len(baseline)
    assert {name: round_two[name] for name in ROUND_TWO} == ROUND_TWO
    direct = [r for r in rows if r["category"] == "gunicorn direct"]
    assert direct and all(r["status"] >= 400 for r in direct), direct


def test_denied_address_gets_403_on_everything(attacker: Any) -> None:
    script = (
        "import json,sys; sys.path.insert(0,'/root'); import attack as a\n"
        "import time\n"
        "paths=['/health','/health/live','/metrics','/logs','/logs/app','/logs/app/follow','/x']*5\n"
        "rs=[]\n"
        "for p in paths:\n"
        f"    rs.append(a.request('{HOST_IP}', a.get(p,'Authorization: Bearer {TOKEN}')"
        f".replace(b'HOST',b'{HOST_IP}'), src=a.DENIED))\n"
        # under the rate limit: nginx counts a request before it checks the allowlist
        "    time.sleep(0.1)\n"
        "print(json.dumps([[r['status'], r['ctype']] for r in rs]))"
    )
    install(attacker)
    run = attacker.run(f"python3 -c {shlex.quote(script)}")
    answers = json.loads(run.stdout)
    statuses = Counter(s for s, _ in answers)
    print(f"\nfrom the denied address: {dict(statuses)} of {len(answers)}")
    assert statuses == {403: len(answers)}
    assert all(c.startswith(PROBLEM) for _, c in answers)


def test_flood_is_served_at_rate_plus_burst(attacker: Any) -> None:
    rate = float(VARS["hostwatch_nginx_rate_limit_rate"].removesuffix("r/s"))
    burst = int(VARS["hostwatch_nginx_rate_limit_burst"])
    result = attack(attacker, "flood", HOST_IP, "2000", "10")
    counts, elapsed = result["counts"], result["elapsed"]
    expected = rate * elapsed + burst
    served = counts.get("200", 0)
    print(
        f"\nflood: 2000 requests in {elapsed:.1f} s from the limited address: {counts}; "
        f"expected served {expected:.0f} (rate {rate:g}/s x {elapsed:.1f} s + burst {burst}); "
        f"exempt address meanwhile: {result['exempt']}"
    )
    assert abs(served - expected) <= 0.1 * expected
    assert served + counts.get("429", 0) == 2000
    assert set(result["exempt"]) == {"200"}


def test_metrics_series_stay_bounded(target: Any) -> None:
    def series() -> tuple[int, int, set[str]]:
        text = target.run(f"curl -sS {BASE}/metrics").stdout
        lines = [ln for ln in text.splitlines() if ln.startswith("hostwatch_http_requests_total{")]
        methods = {ln.split('method="')[1].split('"')[0] for ln in lines}
        return len(lines), len(text), methods

    before, size_before, _ = series()
    result = attack(target, "methods", "/run/hostwatch/hostwatch.sock", "1000")
    after, size_after, methods = series()
    print(
        f"\n1000 random methods straight to the app ({result['statuses']}): "
        f"request series {before} -> {after}, /metrics {size_before} -> {size_after} bytes, "
        f"methods {sorted(methods)}"
    )
    assert methods <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}
    assert after - before <= 3  # at most other x (route, status) pairs new to this run
    assert size_after < size_before + 4096


def test_health_never_starves(attacker: Any) -> None:
    result = attack(attacker, "starve", HOST_IP, TOKEN, "10")
    print(
        f"\nstarvation: 16 heavy log requests in a loop + 5 follows; /health/live p50 "
        f"{result['live_p50']:.1f} ms, p99 {result['live_p99']:.1f} ms, "
        f"max {result['live_max']:.1f} ms ({result['samples']} samples); /health p50 "
        f"{result['health_p50']:.1f} ms, p99 {result['health_p99']:.1f} ms; "
        f"heavy answers {result['heavy']}; follows {result['follows']}"
    )
    assert result["failures"] == 0
    # Typical answers stay quick, and the slowest are bounded well below what a queue behind the
    # scans would take (seconds). The measuring client shares the 2 cores with the load and the
    # host: on a quiet machine its p99 has ranged from 37 to 257 ms (2026-12-07: 79, 106, 257), so
    # the bound leaves room for the machine, not for starvation.
    assert result["live_p50"] < 50
    assert result["live_p99"] < 500
    assert "200" in result["heavy"]
    follows = Counter(s for s, _ in result["follows"])
    assert follows == {200: 4, 429: 1}, result["follows"]
    # the fifth, the third from one address, is refused by nginx's per-address limit
    assert any(s == 429 and "connection limit" in d for s, d in result["follows"])


def test_terminal_controls_in_logs_are_shown_escaped(target: Any, attacker: Any) -> None:
    """A Referer of terminal controls and a bidi override, planted by the address refused /logs,
    is shown escaped by every answer that serves it: text, JSON, filter, follow, /tail."""
    mark = f"plant-{os.getpid()}"
    follow = f"{BASE}/logs/nginx_error/follow?contains={mark}"
    target.run_expect(
        [0],
        f"nohup timeout 8 curl -sN -H 'Authorization: Bearer {TOKEN}' '{follow}' "
        "> /tmp/hw-follow.txt 2>&1 &",
    )
    time.sleep(1.5)  # the stream is open at the log's end
    assert attack(attacker, "plant", HOST_IP, mark)["status"] == 403
    # gunicorn's own log: a bidi override and a C1 CSI sent as UTF-8 in a Referer
    target.run_expect(
        [0],
        f"curl -sS -o /dev/null -H \"$(printf 'Referer: {mark}\\342\\200\\256\\302\\233')\" "
        f"{BASE}/health/live",
    )
    time.sleep(7)
    shown = "\\x1b]0;owned\\x07\\x1b[1A\\x1b[2Kforged\\x9b31m\\x1b[2J\\u202egnp.exe"
    answers = {
        "text": http(target, f"{BASE}/logs/nginx_error?contains={mark}", *AUTH).body,
        "json": http(target, f"{BASE}/logs/nginx_error?format=json&regex={mark}", *AUTH).body,
        "tail page": target.check_output(
            f"curl -sS -d log=nginx_error -d contains={mark} -d token={TOKEN} {BASE}/tail"
        ),
        "follow": target.check_output("cat /tmp/hw-follow.txt"),
    }
    raw = "\x1b\x07\r\x9b\u202e"
    for name, body in answers.items():
        assert not any(c in body for c in raw), (name, body[-500:])
        # JSON doubles each backslash of the escaped text
        wanted = shown.replace("\\", "\\\\") if name == "json" else shown
        assert wanted in body, (name, body[-500:])
    access = base64.b64decode(target.check_output("base64 -w0 /var/log/hostwatch/access.log"))
    planted = [ln for ln in access.splitlines() if b"/health/live" in ln and mark.encode() in ln]
    assert planted and all(b"\\u202e\\x9b" in ln for ln in planted), planted
    assert not any(b"\xe2\x80\xae" in ln or b"\xc2\x9b" in ln for ln in planted), planted
    print(f"\nplanted through a Referer, shown as: {answers['text'].strip()[-120:]}")


def test_idle_and_slow_connections_are_cut_at_10s(attacker: Any) -> None:
    result = attack(attacker, "slow", HOST_IP, "50", "40")
    idle, slowloris = result["closed"]["idle"], result["closed"]["slowloris"]
    print(
        f"\n50 connections (25 idle, 25 slowloris) from one address: idle closed after "
        f"{min(idle, default=-1):.1f}-{max(idle, default=-1):.1f} s, slowloris after "
        f"{min(slowloris, default=-1):.1f}-{max(slowloris, default=-1):.1f} s, still open at 40 s: "
        f"{result['still_open']}; /health/live meanwhile p50 {result['live_p50']:.1f} ms, "
        f"p99 {result['live_p99']:.1f} ms ({result['samples']} samples, "
        f"{result['failures']} failures)"
    )
    assert result["still_open"] == {"idle": 0, "slowloris": 0}
    assert len(idle) == len(slowloris) == 25
    assert max(idle + slowloris) < 12  # client_header_timeout 10 s, from the first byte
    assert result["failures"] == 0
    # Typical answers stay quick, and the slowest are bounded well below what a queue behind the
    # scans would take (seconds). The measuring client shares the 2 cores with the load and the
    # host: on a quiet machine its p99 has ranged from 37 to 257 ms (2026-12-07: 79, 106, 257), so
    # the bound leaves room for the machine, not for starvation.
    assert result["live_p50"] < 50
    assert result["live_p99"] < 500


def test_follow_slot_is_free_as_soon_as_its_client_leaves(attacker: Any) -> None:
    result = attack(attacker, "slots", HOST_IP, TOKEN, "6")
    waits = result.get("waits", [])
    print(
        f"\nfollow slot free again after {waits} s ({result.get('refusals')} refusals meanwhile); "
        f"{result}"
    )
    assert len(waits) == 6, result
    assert all(0 <= w < 1.5 for w in waits), result


def test_sandbox_from_inside_the_service(target: Any) -> None:
    pid = target.check_output("systemctl show -p MainPID --value hostwatch.service")
    ns = f"nsenter -t {pid} -m"
    as_app = f"{ns} setpriv --reuid hostwatch --regid hostwatch --init-groups"
    assert set(target.check_output(f"{ns} ls /var/log").split()) == {"hostwatch", "hwtest", "nginx"}
    assert target.run(f"{ns} cat /var/log/canary.log").rc != 0
    for path in ("/usr/hw-probe", "/etc/hw-probe", "/home/hw-probe", "/var/log/hwtest/hw-probe"):
        assert target.run(f"{ns} touch {path}").rc != 0, path
    for path in ("/run/hostwatch-app/hw-probe", "/var/log/hostwatch/hw-probe"):
        target.run_expect([0], f"{as_app} touch {path} && {ns} rm {path}")
    exposure = target.check_output("systemd-analyze security hostwatch.service | tail -1")
    print(f"\n{exposure}")
    assert float(exposure.split(":")[1].split()[0]) <= 1.0


def test_rotation_shows_through_the_sandbox(target: Any) -> None:
    log = "/var/log/hwtest/app.log"
    target.run_expect([0], f"mv {log} {log}.1 && echo after-rename > {log}")
    assert http(target, f"{BASE}/logs/app?lines=1", *AUTH).body.strip() == "after-rename"
    target.run_expect([0], f"cp {log} {log}.2 && truncate -s 0 {log}")
    target.run_expect([0], f"echo after-copytruncate >> {log}")
    assert http(target, f"{BASE}/logs/app?lines=1", *AUTH).body.strip() == "after-copytruncate"


def test_fault_kill_master_recovers_within_5s(target: Any) -> None:
    # timed inside the host: each round trip from the controller costs a docker exec
    main_pid = "systemctl show -p MainPID --value hostwatch.service"
    script = f"""
        old=$({main_pid}); kill -9 "$old"; start=$(date +%s%N)
        for i in $(seq 300); do
            new=$({main_pid})
            if [ "$new" != 0 ] && [ "$new" != "$old" ] \\
               && curl -sf -o /dev/null --max-time 1 {BASE}/health/live; then
                echo $(( ($(date +%s%N) - start) / 1000000 )); exit 0
            fi
            sleep 0.05
        done
        exit 1"""
    elapsed_ms = int(target.check_output(script))
    print(f"\nhealthy again {elapsed_ms / 1000:.1f} s after kill -9 of the master")
    assert elapsed_ms <= 5000


def test_fault_full_mount_fails_health_naming_it(target: Any) -> None:
    target.run_expect([0], "dd if=/dev/zero of=/mnt/small/fill bs=1k count=2048 2>/dev/null; true")
    try:
        assert wait_for(lambda: http(target, f"{BASE}/health").status == 503, 5)
        doc = http(target, f"{BASE}/health").json()
        failing = [c for c in doc["checks"]["disk:utilization"] if c["status"] == "fail"]
        assert [c["componentId"] for c in failing] == ["/mnt/small"]
    finally:
        target.run_expect([0], "rm -f /mnt/small/fill")
    assert wait_for(lambda: http(target, f"{BASE}/health").status == 200, 5)


def test_fault_deleted_log_is_404_others_served(target: Any) -> None:
    target.run_expect([0], "rm -f /var/log/hwtest/gone.log")
    reply = http(target, f"{BASE}/logs/gone", *AUTH)
    assert reply.status == 404 and reply.content_type.startswith(PROBLEM)
    assert "missing" in reply.json()["detail"]
    assert http(target, f"{BASE}/logs/app", *AUTH).status == 200
    assert http(target, f"{BASE}/logs/nginx_access?lines=1", *AUTH).status == 200


def test_fault_bad_config_is_refused_and_the_old_release_serves(target: Any) -> None:
    config = "/etc/hostwatch/hostwatch.toml"
    current = "/opt/hostwatch/current"
    before = (target.file(config).sha256sum, target.file(current).linked_to)
    run = converge("-e", '{"hostwatch_app_limits": {"scan_bytes": 9223372036854775807}}')
    said = run.stdout + run.stderr
    assert run.returncode != 0
    assert "limits.scan_bytes" in said and "<= 1073741824" in said, said[-3000:]
    assert (target.file(config).sha256sum, target.file(current).linked_to) == before
    assert http(target, f"{BASE}/health/live").status == 200
    assert http(target, f"{BASE}/logs/app", *AUTH).status == 200


def test_fault_app_down_is_a_502_problem(target: Any) -> None:
    target.run_expect([0], "systemctl stop hostwatch.socket hostwatch.service")
    try:
        reply = http(target, f"{BASE}/health")
        assert reply.status == 502 and reply.content_type.startswith(PROBLEM), reply
        assert "not answering" in reply.json()["detail"]
    finally:
        target.run_expect([0], "systemctl start hostwatch.socket hostwatch.service")
    assert wait_for(lambda: http(target, f"{BASE}/health/live").status == 200, 10)
